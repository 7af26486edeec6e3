"""Inputs for `hl-convert mtcnn`, good and hostile, made from facenet-pytorch's
published files, for tests/weights/test_mtcnn_convert.cpp.

Usage: mtcnn_hostile.py OUT_DIR

OUT_DIR/
  good/                 pnet.pt, rnet.pt, onet.pt copied from the installed package
  good.whl              a wheel-like zip: facenet_pytorch/data/*.pt deflated (as the
                        published wheel stores them) plus a METADATA file
  reference.json        per tensor of the published state dicts: name, shape and the
                        sum of its values (float64), computed by torch
  not_a_zip.whl         text
  no_weights.whl        a zip without facenet_pytorch/data/
  truncated.whl         good.whl cut in half
  bad_crc.whl           good.whl with one byte of pnet.pt's compressed data changed
  size_lie.whl          good.whl with pnet.pt's uncompressed size given as 1000 bytes
  garbage_pt.whl        pnet.pt replaced by random bytes
  oversized.whl         pnet.pt replaced by 80 MiB of zeros (deflates to ~80 KB)
  wrong_shape/          conv1.weight of pnet.pt transposed: [3, 10, 3, 3]
  missing_key/          rnet.pt without prelu4.weight
  extra_key/            onet.pt with an extra tensor "dense7.weight"
  int_weights/          pnet.pt's conv2.bias as int64
  missing_file/         only pnet.pt and rnet.pt
"""
import json
import os
import shutil
import struct
import sys
import zipfile

import numpy as np
import torch

import facenet_pytorch

NETS = ["pnet", "rnet", "onet"]


def write_dir(path, dicts):
    os.makedirs(path)
    for n, sd in dicts.items():
        # _use_new_zipfile_serialization=False: the legacy format the published files use.
        torch.save(sd, os.path.join(path, n + ".pt"), _use_new_zipfile_serialization=False)


def write_wheel(path, files):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("facenet_pytorch-2.6.0.dist-info/METADATA", "Name: facenet-pytorch\nVersion: 2.6.0\n")
        for name, data in files.items():
            z.writestr("facenet_pytorch/data/" + name, data)


def main(out):
    data = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
    good = os.path.join(out, "good")
    os.makedirs(good)
    raw = {}
    for n in NETS:
        shutil.copy(os.path.join(data, n + ".pt"), good)
        with open(os.path.join(good, n + ".pt"), "rb") as f:
            raw[n + ".pt"] = f.read()
    sds = {n: torch.load(os.path.join(data, n + ".pt")) for n in NETS}
    ref = [{"name": f"{n}.{k}", "shape": list(v.shape), "sum": float(v.double().sum())}
           for n in NETS for k, v in sds[n].items()]
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f)

    write_wheel(os.path.join(out, "good.whl"), raw)
    with open(os.path.join(out, "not_a_zip.whl"), "w") as f:
        f.write("this is not a wheel\n")
    with zipfile.ZipFile(os.path.join(out, "no_weights.whl"), "w") as z:
        z.writestr("facenet_pytorch/__init__.py", "")
    wheel = open(os.path.join(out, "good.whl"), "rb").read()
    with open(os.path.join(out, "truncated.whl"), "wb") as f:
        f.write(wheel[: len(wheel) // 2])
    # One byte inside pnet.pt's compressed data (its local header, then 40 bytes in).
    bad = bytearray(wheel)
    at = bad.find(b"facenet_pytorch/data/pnet.pt") + len("facenet_pytorch/data/pnet.pt") + 40
    bad[at] ^= 0x55
    with open(os.path.join(out, "bad_crc.whl"), "wb") as f:
        f.write(bad)
    # pnet.pt's uncompressed size set to 1000 in its local header and in the central
    # directory, which then agree: the entry inflates to more than it says.
    lie = bytearray(wheel)
    name = b"facenet_pytorch/data/pnet.pt"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while True:
            at = lie.find(signature, at)
            assert at >= 0
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if lie[name_at:name_at + len(name)] == name:
                lie[at + size_at:at + size_at + 4] = struct.pack("<I", 1000)
                break
            at += 4
    with open(os.path.join(out, "size_lie.whl"), "wb") as f:
        f.write(lie)
    rng = np.random.default_rng(5)
    write_wheel(os.path.join(out, "garbage_pt.whl"), {**raw, "pnet.pt": rng.bytes(5000)})
    write_wheel(os.path.join(out, "oversized.whl"), {**raw, "pnet.pt": bytes(80 << 20)})

    def variant(name, net, change):
        dicts = {n: dict(sds[n]) for n in NETS}
        change(dicts[net])
        write_dir(os.path.join(out, name), dicts)

    variant("wrong_shape", "pnet",
            lambda sd: sd.update({"conv1.weight": sd["conv1.weight"].transpose(0, 1).contiguous()}))
    variant("missing_key", "rnet", lambda sd: sd.pop("prelu4.weight"))
    variant("extra_key", "onet", lambda sd: sd.update({"dense7.weight": torch.zeros(3, 3)}))
    variant("int_weights", "pnet", lambda sd: sd.update({"conv2.bias": sd["conv2.bias"].long()}))
    os.makedirs(os.path.join(out, "missing_file"))
    for n in NETS[:2]:
        shutil.copy(os.path.join(data, n + ".pt"), os.path.join(out, "missing_file"))


if __name__ == "__main__":
    main(sys.argv[1])
