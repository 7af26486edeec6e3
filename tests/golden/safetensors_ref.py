#!/usr/bin/env python3
"""Golden reference for hl's safetensors reader and writer, using the PyPI `safetensors`
package (the format's reference implementation) with numpy and torch (for bf16).

  safetensors_ref.py write OUTDIR
      Writes reference files into OUTDIR and OUTDIR/manifest.json, which lists for each
      file its metadata and every tensor's dtype, shape and raw bytes (hex), so that the
      C++ test can compare what it reads bit for bit.

  safetensors_ref.py check MANIFEST
      Loads every file named in MANIFEST (written by the C++ test in the same layout)
      with the reference package, twice: framework-free (safetensors.deserialize, raw
      bytes) and as torch tensors (safetensors.torch.load_file), and compares both bit
      for bit with the manifest. Prints a JSON report; exit code 0 when all match,
      1 when anything differs.
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors import deserialize, safe_open
from safetensors.numpy import save_file as np_save_file
from safetensors.torch import save_file as torch_save_file


def special_floats(dtype):
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -2.5, 65504.0, 6e-8, 1e-40]
    return np.array(vals, dtype=dtype)


def numpy_files():
    rng = np.random.default_rng(1234)
    tensors = {
        "f64": rng.standard_normal((3, 4)),
        "f32": rng.standard_normal((5, 7)).astype(np.float32),
        "f32_special": special_floats(np.float32),
        "f16": rng.standard_normal((2, 3, 4)).astype(np.float16),
        "f16_special": special_floats(np.float16),
        "i8": rng.integers(-128, 128, (9,), dtype=np.int8),
        "i16": rng.integers(-(2**15), 2**15, (2, 5), dtype=np.int16),
        "i32": rng.integers(-(2**31), 2**31, (4, 1), dtype=np.int32),
        "i64": np.array([-(2**63), 2**63 - 1, 0, -1], dtype=np.int64),
        "u8": rng.integers(0, 256, (17,), dtype=np.uint8),
        "u16": rng.integers(0, 2**16, (3,), dtype=np.uint16),
        "u32": rng.integers(0, 2**32, (3,), dtype=np.uint32),
        "u64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "bool": np.array([[True, False, True]]),
        "scalar_f32": np.array(3.25, dtype=np.float32),
        "empty_f32": np.zeros((0,), dtype=np.float32),
        "empty_3d_i64": np.zeros((2, 0, 3), dtype=np.int64),
        "five_dims": rng.standard_normal((1, 2, 1, 3, 2)).astype(np.float32),
        "six_dims_u8": np.arange(12, dtype=np.uint8).reshape(1, 2, 1, 3, 2, 1),
        "name with spaces/and.dots ✓": np.array([1, 2], dtype=np.int32),
        "big_f32": rng.standard_normal((257, 33)).astype(np.float32),
    }
    return {
        "numpy_many.safetensors": (tensors, {"fps": "29.97", "unicode": "ünïcødé ✓", "empty": ""}),
        "numpy_metadata_only.safetensors": ({}, {"only": "metadata"}),
        "numpy_empty.safetensors": ({}, None),
    }


def torch_files():
    g = torch.Generator().manual_seed(99)
    tensors = {
        "bf16": torch.randn(4, 6, generator=g).to(torch.bfloat16),
        "bf16_special": torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-39, 3e38]).to(torch.bfloat16),
        "f16": torch.randn(3, generator=g).half(),
        "f32": torch.randn(2, 2, generator=g),
        "scalar_bf16": torch.tensor(-7.5, dtype=torch.bfloat16),
        "empty_bf16": torch.zeros(0, 5, dtype=torch.bfloat16),
        "i64": torch.arange(-3, 3),
        "u8": torch.arange(0, 250, 7, dtype=torch.uint8),
    }
    return {"torch_bf16.safetensors": (tensors, {"framework": "pt"})}


def tensor_bytes(t):
    if isinstance(t, torch.Tensor):
        return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return np.ascontiguousarray(t).tobytes()


def write(outdir):
    os.makedirs(outdir, exist_ok=True)
    manifest = {}
    for name, (tensors, metadata) in numpy_files().items():
        np_save_file(tensors, os.path.join(outdir, name), metadata=metadata)
        manifest[name] = describe(tensors, metadata)
    for name, (tensors, metadata) in torch_files().items():
        torch_save_file(tensors, os.path.join(outdir, name), metadata=metadata)
        manifest[name] = describe(tensors, metadata)
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, ensure_ascii=False)


# The safetensors name of each array type, independent of the package's own mapping.
DTYPE_NAMES = {
    np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
    np.dtype(np.int8): "I8", np.dtype(np.int16): "I16", np.dtype(np.int32): "I32", np.dtype(np.int64): "I64",
    np.dtype(np.uint8): "U8", np.dtype(np.uint16): "U16", np.dtype(np.uint32): "U32", np.dtype(np.uint64): "U64",
    np.dtype(np.bool_): "BOOL",
    torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
}


TORCH_DTYPES = {"F64", "F32", "F16", "BF16", "I8", "I16", "I32", "I64", "U8", "BOOL"}


def describe(tensors, metadata):
    out = {"metadata": metadata or {}, "tensors": {}}
    for k, t in tensors.items():
        out["tensors"][k] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "hex": tensor_bytes(t).hex()}
    return out


def check(manifest_path):
    base = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    problems = []
    checked = 0
    for fname, expected in manifest.items():
        path = os.path.join(base, fname)
        with open(path, "rb") as f:
            raw = f.read()
        # 1. Framework-free: raw bytes exactly as the reference parses them.
        try:
            parsed = dict(deserialize(raw))
        except Exception as e:  # the reference refusing our file is the failure we look for
            problems.append(f"{fname}: the reference refuses the file: {e}")
            continue
        if set(parsed) != set(expected["tensors"]):
            problems.append(f"{fname}: names {sorted(parsed)} != {sorted(expected['tensors'])}")
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
        if metadata != expected["metadata"]:
            problems.append(f"{fname}: metadata {metadata} != {expected['metadata']}")
        # 2. Through torch, as a user of the reference would load it (torch 1.13 has no
        #    U16/U32/U64; hl never writes those).
        with safe_open(path, framework="pt") as f:
            loaded = {k: f.get_tensor(k) for k in f.keys() if parsed[k]["dtype"] in TORCH_DTYPES}
        for tname, exp in expected["tensors"].items():
            if tname not in parsed:
                continue
            info = parsed[tname]
            if info["dtype"] != exp["dtype"]:
                problems.append(f"{fname}:{tname}: dtype {info['dtype']} != {exp['dtype']}")
            if list(info["shape"]) != exp["shape"]:
                problems.append(f"{fname}:{tname}: shape {info['shape']} != {exp['shape']}")
            if bytes(info["data"]).hex() != exp["hex"]:
                problems.append(f"{fname}:{tname}: raw bytes differ")
            t = loaded.get(tname)
            if t is None:
                if info["dtype"] in TORCH_DTYPES:
                    problems.append(f"{fname}:{tname}: missing from the torch load")
            elif list(t.shape) != exp["shape"] or tensor_bytes(t).hex() != exp["hex"]:
                problems.append(f"{fname}:{tname}: torch tensor differs (shape {list(t.shape)})")
            checked += 1
    print(json.dumps({"files": len(manifest), "tensors_checked": checked, "problems": problems}, ensure_ascii=False))
    return 0 if not problems else 1


def main(argv):
    if len(argv) == 3 and argv[1] == "write":
        write(argv[2])
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
