#!/usr/bin/env python3
"""Regenerates the seed corpus of the feature-file fuzz target (tests/fuzz/fuzz_feature_file.cpp)
in tests/fuzz/corpus/features/ (run from the repository root with the project's .venv python).
Files are written by the reference safetensors package, each at most 8 KB: rates of one frame
every few seconds keep the tensors small while still covering three 5-s segments.
valid_* must open and give batches with the features they hold; bad_* must be refused with
an hl::Error, at open or in the batch (test_fuzz_feature_corpus_replay checks both).
"""
import os

import numpy as np
from safetensors.numpy import save

d = "tests/fuzz/corpus/features"
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(7)
SHAPES = {"googlenet": (1024,), "places365": (2048,), "affect": (128,), "cam": (14, 14), "faces": (), "mfcc": (13,)}


def tensors(frames, names, dtype=np.float16):
    out = {}
    for n in names:
        rows = frames * (4 if n == "mfcc" else 1)
        out[n] = rng.standard_normal((rows,) + SHAPES[n]).astype(dtype)
    return out


def put(name, t, fps="1/15", frames=None, extra=None):
    meta = {"fps": fps} if fps is not None else {}
    if frames is not None:
        meta["frames"] = str(frames)
        meta["features"] = ",".join(t)
    meta.update(extra or {})
    b = save(t, metadata=meta)
    assert len(b) <= 8192, (name, len(b))
    open(os.path.join(d, name), "wb").write(b)


# Valid, three 5-s segments each: one frame at 1/15 fps, 8 at 1/2, 3 at 1/5, 450 at 29.97.
put("valid_all_f16.safetensors", tensors(1, SHAPES), frames=1)
put("valid_small_features_f32.safetensors", tensors(8, ["affect", "faces", "mfcc"], np.float32), fps="1/2", frames=8)
put("valid_cam_faces_f16.safetensors", tensors(3, ["cam", "faces"]), fps="1/5", frames=3)
put("valid_faces_30000_1001.safetensors", tensors(450, ["faces"]), fps="30000/1001", frames=450)
# Bad values.
t = tensors(8, ["faces", "mfcc"])
t["faces"][5] = np.nan
put("bad_nan_faces.safetensors", t, fps="1/2", frames=8)
t = tensors(8, ["affect", "mfcc"])
t["mfcc"][17, 3] = -np.inf
put("bad_inf_mfcc.safetensors", t, fps="1/2", frames=8)
t = tensors(1, ["googlenet"], np.float32)
t["googlenet"][0, 1000] = np.inf
put("bad_inf_googlenet_f32.safetensors", t, frames=1)
# Bad structure.
put("bad_fps_huge_den.safetensors", tensors(1, ["faces"]), fps="1/9223372036854775807")
put("bad_fps_huge_num.safetensors", tensors(1, ["faces"]), fps="9223372036854775807/1")
put("bad_fps_zero.safetensors", tensors(1, ["faces"]), fps="0/1")
put("bad_no_fps.safetensors", tensors(1, ["faces"]), fps=None)
put("bad_short.safetensors", tensors(1, ["faces"]), fps="1")  # 1 s: no complete segment
put("bad_shape.safetensors", {"affect": np.zeros((1, 64), np.float16), "faces": np.zeros((1,), np.float16)})
put("bad_mfcc_rows.safetensors", {"mfcc": np.zeros((3, 13), np.float16), "faces": np.zeros((1,), np.float16)})
put("bad_frames_disagree.safetensors", {"faces": np.zeros((2,), np.float16), "affect": np.zeros((1, 128), np.float16)})
put("bad_dtype_f64.safetensors", {"faces": np.zeros((1,), np.float64), "affect": np.zeros((1, 128), np.float16)})
