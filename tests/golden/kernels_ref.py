"""Reference outputs for the first kernels, computed by PyTorch (Debian python3-torch).

Usage: kernels_ref.py OUT_DIR
Writes OUT_DIR/manifest.json and one raw little-endian file per array. Each case has
inputs, an op name with its arguments, and PyTorch's output; the C++ test
(tests/kernels/test_kernels_golden.cpp) runs the same op through hl::ops and compares.
"""
import json
import os
import sys

import torch


def main(out_dir):
    torch.manual_seed(1234)
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"cases": []}
    counter = [0]

    def save(t, dtype_name):
        counter[0] += 1
        name = f"a{counter[0]}.bin"
        t = t.contiguous()
        if dtype_name in ("f16", "bf16"):
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(raw)
        return {"file": name, "shape": list(t.shape), "dtype": dtype_name}

    def case(op, inputs, output, **args):
        manifest["cases"].append({
            "op": op,
            "args": args,
            "inputs": [save(x, "f32") for x in inputs],
            "output": save(output, "f32"),
        })

    for shape in [(7,), (3, 5), (2, 3, 129), (4, 1, 2, 3, 5)]:
        a = torch.randn(shape) * 3
        b = torch.randn(shape) * 3
        case("add", [a, b], a + b)
        case("mul", [a, b], a * b)
        case("scale", [a], a * 0.375, alpha=0.375)
        case("relu", [a], torch.relu(a))
        case("sigmoid", [a], torch.sigmoid(a))
        case("tanh", [a], torch.tanh(a))
        for dim in range(len(shape)):
            case("sum", [a], a.sum(dim), dim=dim)
            case("mean", [a], a.mean(dim), dim=dim)
            case("max", [a], a.max(dim).values, dim=dim)
        if len(shape) >= 2:
            case("transpose_last2", [a], a.transpose(-1, -2))

    for (batch, m, n, k) in [((), 1, 1, 1), ((), 17, 9, 33), ((3,), 8, 5, 6), ((2, 2), 31, 64, 16)]:
        for ta in (False, True):
            for tb in (False, True):
                a = torch.randn(*batch, *((k, m) if ta else (m, k)))
                b = torch.randn(*batch, *((n, k) if tb else (k, n)))
                ref = (a.transpose(-1, -2) if ta else a) @ (b.transpose(-1, -2) if tb else b)
                case("matmul", [a, b], ref, trans_a=ta, trans_b=tb)
    # A 2-D right operand shared across the batch.
    a = torch.randn(4, 6, 10)
    b = torch.randn(10, 3)
    case("matmul", [a, b], a @ b, trans_a=False, trans_b=False)

    # Casts: every f16 bit pattern to f32, and f32 values (random, tiny, huge, ties,
    # specials) to f16 and bf16, by PyTorch's own conversions.
    all_f16 = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(torch.float16)
    manifest["f16_to_f32"] = {"input": save(all_f16, "f16"), "output": save(all_f16.float(), "f32")}
    vals = torch.cat([
        torch.randn(20000) * 1000,
        torch.randn(5000) * 1e-6,
        torch.randn(5000) * 1e-9,
        torch.randn(2000) * 1e38,
        torch.tensor([0.0, -0.0, float("inf"), float("-inf"), 65504.0, 65519.99, 65520.0,
                      2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 1.0 + 2.0 ** -11]),
    ]).float()
    manifest["f32_to_f16"] = {"input": save(vals, "f32"), "output": save(vals.half(), "f16")}
    manifest["f32_to_bf16"] = {"input": save(vals, "f32"), "output": save(vals.bfloat16(), "bf16")}

    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main(sys.argv[1])
