"""torch.save files and what torch.load reads from them, for the PyTorch reader's golden test.

Usage: torch_save_ref.py OUT_DIR
Writes into OUT_DIR:
  model_zip.pth, model_legacy.pth  a small module's state dict (conv, batch norm with its
        int64 num_batches_tracked, a 5-d conv3d weight) plus f16, bf16, f64, bool, int16,
        int8, int32, uint8 tensors, a transposed view and the tensor it views (one storage
        shared), a narrow with a storage offset, a 0-d and an empty tensor; saved with
        torch.save in the zip and the legacy format (_use_new_zipfile_serialization=False)
  places365_legacy.pth.tar, places365_zip.pth.tar  a checkpoint shaped like the published
        Places365 one: {'epoch': 90, 'arch': 'resnet50', 'state_dict': 'module.'-prefixed
        OrderedDict, 'best_prec1': 54.7}
  misc_zip.pth  a checkpoint with non-tensor entries of many Python types beside its state
        dict (their text is Python's repr)
  py2_legacy.pth  a legacy file as Python 2 PyTorch wrote it, by hand, opcode by opcode:
        SHORT_BINSTRING/BINSTRING strings, LONG1 integers, OrderedDict rebuilt from a list
        of [key, value] lists plus a BUILD of its _metadata, _rebuild_tensor with 4
        arguments, torch.cuda.FloatStorage at 'cuda:0', 6-entry persistent ids; torch.load
        (map_location='cpu') must read it and give the tensors it was made from
  manifest.json  per file: its format, the tensor names in order, the expected `other`
        entries, and <file>.expected.safetensors with what torch.load gives for each
        tensor as a contiguous copy (f64 -> f32, int16/int8 -> int32, bool -> uint8: the
        conversions the reader documents, done here by torch)
"""
import collections
import json
import os
import struct
import sys

import torch
from safetensors.torch import save_file


def expected(t):
    t = t.detach().contiguous().clone()
    if t.dtype == torch.float64:
        return t.float()
    if t.dtype in (torch.int16, torch.int8):
        return t.to(torch.int32)
    if t.dtype == torch.bool:
        return t.to(torch.uint8)
    return t


def other_text(v):
    return v if isinstance(v, str) else repr(v)


def model_state_dict():
    torch.manual_seed(2021)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Conv3d(2, 3, (1, 2, 2)))
    model[1].running_mean.uniform_(-1, 1)
    model[1].num_batches_tracked.fill_(7)
    sd = model.state_dict()  # an OrderedDict with _metadata: pickled with a BUILD
    base = torch.randn(3, 4)
    wide = torch.randn(5, 3)
    sd["extra.base"] = base
    sd["extra.base_t"] = base.t()                    # shares base's storage, non-contiguous
    sd["extra.narrow"] = wide.narrow(0, 1, 2)        # storage offset 3
    sd["extra.column"] = wide[:, 1]                  # stride 3, offset 1
    sd["extra.f16"] = torch.randn(2, 3).half()
    sd["extra.bf16"] = torch.randn(4).bfloat16()
    sd["extra.f64"] = torch.randn(2, 2, dtype=torch.float64) * 1e3
    sd["extra.bool"] = torch.tensor([True, False, True])
    sd["extra.i16"] = torch.tensor([-30000, 5, 300], dtype=torch.int16)
    sd["extra.i8"] = torch.tensor([[-128, 127]], dtype=torch.int8)
    sd["extra.i32"] = torch.tensor([-7, 2**31 - 1], dtype=torch.int32)
    sd["extra.u8"] = torch.tensor([0, 255, 9], dtype=torch.uint8)
    sd["extra.i64_big"] = torch.tensor([-(2**62), 2**40 + 3])
    sd["extra.scalar"] = torch.tensor(2.5)
    sd["extra.empty"] = torch.zeros(0, 3)
    return sd


def places365_checkpoint():
    torch.manual_seed(365)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 1), torch.nn.BatchNorm2d(2), torch.nn.Linear(2, 5))
    state = collections.OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
    return {"epoch": 90, "arch": "resnet50", "state_dict": state, "best_prec1": 54.7}


def misc_checkpoint():
    return {
        "state_dict": collections.OrderedDict([("w", torch.arange(6.0).reshape(2, 3)), ("note", "kept")]),
        "lr": 1e-05, "big_float": 1e16, "hundred": 100.0, "neg": -3, "huge": 2**70, "flag": True, "nothing": None,
        "history": [1, 2.5, "x"], "pair": (1,), "nested": {"a": 1},
    }


# --- a Python 2 legacy file, by hand ---------------------------------------------------------

def sb(s):  # SHORT_BINSTRING (a Python 2 str)
    b = s.encode("latin-1")
    return b"U" + bytes([len(b)]) + b


def bs(s):  # BINSTRING
    b = s.encode("latin-1")
    return b"T" + struct.pack("<i", len(b)) + b


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def k1(i):
    return b"K" + bytes([i])


def long1(i):
    b = i.to_bytes((i.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(b)]) + b


def tup(*items):  # MARK ... TUPLE
    return b"(" + b"".join(items) + b"t"


def pickle(body):
    return b"\x80\x02" + body + b"."


def legacy_file(obj, storages):
    """A legacy torch.save file around the object pickle's body `obj`: the magic number, protocol
    1001 and sys_info pickles first, then the sorted storage keys, then each storage of
    `storages` ({key: tensor}) as an int64 element count and its raw bytes."""
    out = pickle(long1(0x1950a86a20f9469cfc6c))
    out += pickle(b"M" + struct.pack("<H", 1001))
    out += pickle(b"}(" + sb("protocol_version") + b"M" + struct.pack("<H", 1001) + sb("little_endian") + b"\x88" +
                  sb("type_sizes") + b"}(" + sb("short") + k1(2) + sb("int") + k1(4) + sb("long") + k1(8) + b"uu")
    out += pickle(obj)
    keys = sorted(storages)
    out += pickle(b"](" + b"".join(sb(k) for k in keys) + b"e")
    for k in keys:
        out += struct.pack("<q", storages[k].numel()) + storages[k].numpy().tobytes()
    return out


def py2_legacy():
    """Returns (file bytes, {name: tensor it must load as})."""
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5
    d = torch.tensor([1.5, -2.25, 3.125, 1e300], dtype=torch.float64)
    steps = torch.tensor([12345678901], dtype=torch.int64)
    storages = [("140234", "torch.cuda", "FloatStorage", "cuda:0", w.flatten()),
                ("140300", "torch", "DoubleStorage", "cpu", d),
                ("140377", "torch", "LongStorage", "cpu", steps)]

    def pid(i, numel_op):
        key, module, cls, location, _ = storages[i]
        return tup(sb("storage"), glob(module, cls), sb(key), sb(location), numel_op, b"N") + b"Q"

    rebuild = b"h\x02"  # the memoized GLOBAL torch._utils _rebuild_tensor
    pair = lambda name, tensor: b"]" + b"(" + name + tensor + b"e"  # [name, tensor]
    items = [
        pair(sb("weight"), glob("torch._utils", "_rebuild_tensor") + b"q\x02" +
             tup(pid(0, k1(6)), k1(0), k1(2) + k1(3) + b"\x86", k1(3) + k1(1) + b"\x86") + b"R"),
        pair(bs("weight_t"), rebuild + tup(pid(0, long1(6)), k1(0), k1(3) + k1(2) + b"\x86",
                                           k1(1) + k1(3) + b"\x86") + b"R"),
        pair(sb("bias"), rebuild + tup(pid(1, k1(4)), k1(1), k1(2) + b"\x85", k1(2) + b"\x85") + b"R"),
        pair(sb("steps"), rebuild + tup(pid(2, long1(1)), k1(0), k1(1) + b"\x85", k1(1) + b"\x85") + b"R"),
    ]
    metadata = b"}" + b"(" + sb("_metadata") + glob("collections", "OrderedDict") + b"q\x03" + b")R" + b"(" + \
        sb("") + b"}" + sb("version") + k1(1) + b"s" + b"u" + b"u"
    obj = glob("collections", "OrderedDict") + b"q\x01" + b"]" + b"(" + b"".join(items) + b"e" + b"\x85R" + \
        metadata + b"b"
    out = legacy_file(obj, {s[0]: s[4] for s in storages})
    return out, {"weight": w, "weight_t": w.t(), "bias": d[1::2], "steps": steps}


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    files = []
    sd = model_state_dict()
    saves = [("model_zip.pth", sd, True), ("model_legacy.pth", sd, False),
             ("places365_legacy.pth.tar", places365_checkpoint(), False),
             ("places365_zip.pth.tar", places365_checkpoint(), True), ("misc_zip.pth", misc_checkpoint(), True)]
    for name, obj, zip_format in saves:
        torch.save(obj, os.path.join(out_dir, name), _use_new_zipfile_serialization=zip_format)
    py2_bytes, py2_want = py2_legacy()
    with open(os.path.join(out_dir, "py2_legacy.pth"), "wb") as f:
        f.write(py2_bytes)
    saves.append(("py2_legacy.pth", None, False))

    for name, _, zip_format in saves:
        loaded = torch.load(os.path.join(out_dir, name), map_location="cpu")
        if name == "py2_legacy.pth":
            assert list(loaded.keys()) == list(py2_want.keys()), list(loaded.keys())
            for k, v in py2_want.items():
                assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v), k
            assert loaded._metadata == {"": {"version": 1}}
        nested = "state_dict" in loaded
        state = loaded["state_dict"] if nested else loaded
        other = {k: other_text(v) for k, v in loaded.items() if k != "state_dict"} if nested else {}
        tensors = collections.OrderedDict()
        for k, v in state.items():
            if isinstance(v, torch.Tensor):
                tensors[k] = expected(v)
            else:
                other["state_dict." + k] = other_text(v)
        save_file(dict(tensors), os.path.join(out_dir, name + ".expected.safetensors"))
        files.append({"file": name, "format": "zip" if zip_format else "legacy", "names": list(tensors.keys()),
                      "other": other, "expected": name + ".expected.safetensors"})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"files": files}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
