#!/usr/bin/env python3
"""Regenerates the fuzz seed corpus tests/fuzz/corpus/safetensors/ (run from the repository
root with the project's .venv python): small valid files written by the reference
safetensors package (numpy and torch, for bf16) or by hand, and small invalid ones, one per
rule. valid_* must be accepted and bad_* rejected (test_fuzz_corpus_replay checks that).
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
