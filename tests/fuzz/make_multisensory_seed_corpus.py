#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/multisensory/ of fuzz_multisensory_load from the
1/32-width TensorFlow fixture tests/nets/multisensory_fixtures/cam_w32 converted by
hl-convert multisensory-cam and multisensory-shift (no TensorFlow needed here).

An input is [u32 LE n][u32 LE data length L][n bytes: the safetensors JSON header][a prefix
of the data section] (tests/fuzz/fuzz_multisensory_load.cpp zero-extends the data to L).
The seeds carry no weights (zeros run the same code) except valid_cam_w32_prefix, which
carries the first 4 KiB of the real ones: inputs stay under 16 KiB. valid_* are loaded by
MultisensoryCpu::load; bad_* are refused with an hl::Error naming the file
(tests/nets/test_multisensory_fuzz_corpus_replay.cpp checks both); other names only have
to run cleanly.

    python3 tests/fuzz/make_multisensory_seed_corpus.py build/tools/hl-convert   # from the repository root
"""
import json
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "nets" / "multisensory_fixtures" / "cam_w32"
OUT = ROOT / "tests" / "fuzz" / "corpus" / "multisensory"
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def convert(hl_convert, net, weights_dir):
    subprocess.run([hl_convert, net, str(FIXTURE), "--weights", str(weights_dir)], check=True,
                   stdout=subprocess.DEVNULL)
    raw = (weights_dir / f"{net}.safetensors").read_bytes()
    (n,) = struct.unpack_from("<Q", raw, 0)
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def relayout(header):
    """Sets every tensor's data_offsets back to back (in the order of its old offsets) for
    its dtype and shape; returns the data length."""
    tensors = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])
    at = 0
    for k in tensors:
        t = header[k]
        numel = 1
        for d in t["shape"]:
            numel *= d
        size = numel * DTYPE_BYTES.get(t["dtype"], 4)
        t["data_offsets"] = [at, at + size]
        at += size
    return at


def seed(header, data_len=None, data=b"", raw_header=None):
    """An input for `header` (its offsets laid out again unless data_len is given) or for
    the bytes raw_header, with `data` as the given prefix of the data section."""
    if raw_header is not None:
        text = raw_header
        data_len = data_len or 0
    else:
        if data_len is None:
            data_len = relayout(header)
        text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<II", len(text), data_len) + text + data


def edited(header, fn):
    h = json.loads(json.dumps(header))
    fn(h)
    return h


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    hl_convert = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        cam, cam_data = convert(hl_convert, "multisensory-cam", pathlib.Path(tmp) / "cam")
        shift, _ = convert(hl_convert, "multisensory-shift", pathlib.Path(tmp) / "shift")
    names = [k for k in cam if k != "__metadata__"]
    some = "im.conv5_2_2.weight" if "im.conv5_2_2.weight" in cam else sorted(names)[-1]
    bias = next(k for k in sorted(names) if k.endswith(".bias"))

    def meta(key, value):
        return lambda h: h["__metadata__"].__setitem__(key, value)

    def drop(key):
        return lambda h: h.pop(key)

    def set_field(key, field, value):
        return lambda h: h[key].__setitem__(field, value)

    seeds = {
        "valid_cam_w32_zero_weights": seed(edited(cam, lambda h: None)),
        "valid_shift_w32_zero_weights": seed(edited(shift, lambda h: None)),
        "valid_cam_w32_prefix": seed(edited(cam, lambda h: None), data=cam_data[:4096]),
        "bad_net_name": seed(edited(cam, meta("hl.net", "googlenet"))),
        "bad_no_net_name": seed(edited(cam, lambda h: h["__metadata__"].pop("hl.net"))),
        "bad_width_divisor_3": seed(edited(cam, meta("hl.width_divisor", "3"))),
        "bad_width_divisor_0": seed(edited(cam, meta("hl.width_divisor", "0"))),
        "bad_width_divisor_128": seed(edited(cam, meta("hl.width_divisor", "128"))),
        "bad_width_divisor_text": seed(edited(cam, meta("hl.width_divisor", "x32"))),
        "bad_width_divisor_16": seed(edited(cam, meta("hl.width_divisor", "16"))),
        "bad_missing_tensor": seed(edited(cam, drop(some))),
        "bad_missing_bias": seed(edited(cam, drop(bias))),
        "bad_renamed_tensor": seed(edited(cam, lambda h: h.__setitem__(some + "x", h.pop(some)))),
        "bad_dtype_f16": seed(edited(cam, set_field(some, "dtype", "F16"))),
        "bad_dtype_f64": seed(edited(cam, set_field(some, "dtype", "F64"))),
        "bad_dtype_i32": seed(edited(cam, set_field(bias, "dtype", "I32"))),
        "bad_shape_transposed": seed(edited(cam, lambda h: h[some].__setitem__("shape", h[some]["shape"][::-1]))),
        # Loads today: a bias [1, C] holds the same C numbers and load() checks its size
        # only; neither valid_ nor bad_, so the replay only asks that it runs cleanly.
        "lenient_bias_rank_2": seed(edited(cam, lambda h: h[bias].__setitem__("shape", [1] + h[bias]["shape"]))),
        "bad_shape_bigger": seed(edited(cam, lambda h: h[some].__setitem__("shape", [2 * d for d in h[some]["shape"]]))),
        "bad_shape_zero": seed(edited(cam, set_field(some, "shape", [0, 3, 3, 3, 2]))),
        "bad_shape_overflow": seed(edited(cam, set_field(some, "shape", [4294967296, 4294967296, 16])),
                                   data_len=relayout(edited(cam, lambda h: None))),
        "bad_data_short": seed(edited(cam, lambda h: None), data_len=relayout(edited(cam, lambda h: None)) - 4),
        "bad_header_cut": seed(None, raw_header=json.dumps(cam).encode()[:100]),
        "bad_shift_net_as_cam_width": seed(edited(shift, meta("hl.width_divisor", "64"))),
    }
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    for name, data in seeds.items():
        assert len(data) <= 16384, (name, len(data))
        (OUT / name).write_bytes(data)
    print(f"{len(seeds)} seeds in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
