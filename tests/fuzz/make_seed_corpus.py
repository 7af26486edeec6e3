#!/usr/bin/env python3
"""Regenerates the fuzz seed corpora (run from the repository root with the project's .venv
python):
  tests/fuzz/corpus/safetensors/  small valid files written by the reference safetensors
      package (numpy and torch, for bf16) or by hand, and small invalid ones, one per rule;
  tests/fuzz/corpus/torch/  torch.save files (zip, legacy, a Python 2 legacy file written
      by hand, ZIP64) and broken or hostile ones, one per problem, each a few KB at most.
valid_* must be accepted and bad_* rejected (test_fuzz_corpus_replay and, for torch,
test_torch_hostile check that).
"""
import os
import struct

import numpy as np
import torch
from safetensors.numpy import save as np_save
from safetensors.torch import save as t_save
d = "tests/fuzz/corpus/safetensors"
def raw(name, header, data=b""):
    hb = header.encode() if isinstance(header, str) else header
    open(os.path.join(d, name), "wb").write(struct.pack("<Q", len(hb)) + hb + data)
def put(name, b): open(os.path.join(d, name), "wb").write(b)
put("valid_f32_meta.safetensors", np_save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1.5], np.float32)}, metadata={"fps": "29.97"}))
put("valid_many_dtypes.safetensors", np_save({"u8": np.arange(3, dtype=np.uint8), "i8": np.array([-1, 2], np.int8), "i16": np.array([3], np.int16),
    "i32": np.array([[4, 5]], np.int32), "i64": np.array([6], np.int64), "f16": np.array([0.5, -2], np.float16), "f64": np.array([1e300], np.float64),
    "bool": np.array([True, False]), "u16": np.array([7], np.uint16), "u32": np.array([8], np.uint32), "u64": np.array([9], np.uint64)}))
put("valid_bf16_scalar_empty.safetensors", t_save({"bf": torch.tensor([1.0, -3.5], dtype=torch.bfloat16), "scalar": torch.tensor(2.0), "empty": torch.zeros(0, 4)}))
put("valid_no_tensors.safetensors", np_save({}, metadata={"k": "v"}))
raw("valid_f4_f8.safetensors", '{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]},"b":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[2,4]}}', b"\x12\x34\x56\x78")
raw("valid_unaligned.safetensors", '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0\0\x80\x3f")
raw("valid_6dims.safetensors", '{"x":{"dtype":"U8","shape":[1,1,1,1,1,2],"data_offsets":[0,2]}}', b"\1\2")
put("bad_truncated_length.safetensors", b"\x10\0\0")
put("bad_header_past_end.safetensors", struct.pack("<Q", 64) + b'{"a":1}')
put("bad_header_over_cap.safetensors", struct.pack("<Q", 100_000_001) + b"{}")
raw("bad_utf8.safetensors", b'{"\xff":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}')
raw("bad_json.safetensors", '{"a":{"dtype":"U8",')
raw("bad_not_object.safetensors", '["a"]')
raw("bad_unknown_dtype.safetensors", '{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}', b"\0" * 16)
raw("bad_overflow.safetensors", '{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}')
raw("bad_size_mismatch.safetensors", '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', b"\0" * 4)
raw("bad_overlap.safetensors", '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}', b"\0" * 6)
raw("bad_gap.safetensors", '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', b"\0" * 6)
raw("bad_trailing_bytes.safetensors", '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', b"\0" * 5)
raw("bad_duplicate.safetensors", '{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"\0\0")
raw("bad_metadata.safetensors", '{"__metadata__":{"k":1}}')
raw("bad_negative_shape.safetensors", '{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}')
raw("bad_begin_after_end.safetensors", '{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}', b"\0" * 4)

# --- tests/fuzz/corpus/torch ------------------------------------------------------------------
import collections
import io
import sys
import zipfile

sys.path.insert(0, "tests/golden")
from torch_save_ref import glob, k1, legacy_file, long1, py2_legacy, sb, tup  # noqa: E402

t = "tests/fuzz/corpus/torch"
os.makedirs(t, exist_ok=True)
def tput(name, b): open(os.path.join(t, name), "wb").write(b)
def tsave(obj, zip_format=True):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=zip_format)
    return buf.getvalue()
def rezip(src, edit=lambda name, data: data, add=(), compress=zipfile.ZIP_STORED, zip64=False):
    """Rewrites a torch zip entry by entry: edit(name, data) gives the new data (None drops the
    entry); `add` appends (name, data) entries."""
    zin = zipfile.ZipFile(io.BytesIO(src))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        entries = [(i.filename, edit(i.filename, zin.read(i.filename))) for i in zin.infolist()] + list(add)
        for name, data in entries:
            if data is None:
                continue
            info = zipfile.ZipInfo(name)
            info.compress_type = compress
            with zout.open(info, "w", force_zip64=zip64) as f:
                f.write(data)
    return out.getvalue()
def k(i):  # an int: BININT, or LONG1 beyond 32 bits
    return b"J" + struct.pack("<i", i) if -2**31 <= i < 2**31 else long1(i)
def tensor_v2(key, cls, numel, offset, size, stride):
    pid = tup(sb("storage"), glob("torch", cls), sb(key), sb("cpu"), k(numel), b"N") + b"Q"
    return glob("torch._utils", "_rebuild_tensor_v2") + tup(pid, k(offset), tup(*map(k, size)), tup(*map(k, stride)),
                                                           b"\x89", glob("collections", "OrderedDict") + b")R") + b"R"
def state(*pairs):
    return b"}(" + b"".join(sb(n) + v for n, v in pairs) + b"u"
four = {"0": torch.arange(4, dtype=torch.float32)}

small = collections.OrderedDict([("w", torch.arange(6.0).reshape(2, 3)), ("b", torch.tensor([1.5], dtype=torch.float16)),
                                 ("n", torch.tensor(3))])
small["wt"] = small["w"].t()
zip_small = tsave(small)
legacy_small = tsave(small, False)
tput("valid_zip.pth", zip_small)
tput("valid_legacy.pth", legacy_small)
tput("valid_py2_legacy.pth", py2_legacy()[0])
tput("valid_places365_legacy.pth.tar", tsave({"epoch": 90, "arch": "resnet50", "best_prec1": 54.7,
     "state_dict": collections.OrderedDict([("module.fc.weight", torch.ones(2, 2))])}, False))
tput("valid_zip64.pth", rezip(zip_small, zip64=True))
tput("valid_self_containing_list.pth", legacy_file(state(("w", tensor_v2("0", "FloatStorage", 4, 0, (4,), (1,))),
                                                         ("loop", b"]q\x00h\x00a")), four))
tput("bad_compressed.pth", rezip(zip_small, compress=zipfile.ZIP_DEFLATED))
tput("bad_missing_data_entry.pth", rezip(zip_small, lambda n, d: None if n.endswith("/data/0") else d))
tput("bad_data_entry_short.pth", rezip(zip_small, lambda n, d: d[:-4] if n.endswith("/data/0") else d))
tput("bad_big_endian.pth", rezip(zip_small, add=[("archive/byteorder", b"big")]))
tput("bad_truncated_zip.pth", zip_small[:len(zip_small) // 2])
tput("bad_truncated_legacy.pth", legacy_small[:-10])
tput("bad_os_system.pth", legacy_file(glob("os", "system") + tup(sb("echo pwned")) + b"R", {}))
tput("bad_eval.pth", legacy_file(glob("builtins", "eval") + tup(sb("1+1")) + b"R", {}))
tput("bad_reduce_storage_class.pth", legacy_file(glob("torch", "FloatStorage") + b")R", {}))
tput("bad_unknown_opcode.pth", legacy_file(b"\xff", {}))
tput("bad_negative_stride.pth", legacy_file(state(("w", tensor_v2("0", "FloatStorage", 4, 3, (4,), (-1,)))), four))
tput("bad_storage_bounds.pth", legacy_file(state(("w", tensor_v2("0", "FloatStorage", 4, 2, (3,), (1,)))), four))
tput("bad_overflow_sizes.pth", legacy_file(state(("w", tensor_v2("0", "FloatStorage", 4, 0, (2**40, 2**40), (1, 1)))), four))
tput("bad_6dims.pth", legacy_file(state(("w", tensor_v2("0", "FloatStorage", 4, 0, (1,) * 6, (1,) * 6))), four))
huge = legacy_file(state(("w", tensor_v2("0", "FloatStorage", 2**40, 0, (4,), (1,)))), {"0": torch.zeros(1)})
tput("bad_numel_beyond_file.pth", huge[:-12] + struct.pack("<q", 2**40) + huge[-4:])
