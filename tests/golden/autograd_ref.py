"""Reference forward values and gradients of the differentiable ops, by PyTorch autograd.

Usage: autograd_ref.py OUT_DIR
Writes OUT_DIR/manifest.json and one raw little-endian f32 file per array. Each case
has an op name and arguments, its inputs (and which need gradients), PyTorch's output,
a random upstream gradient `seed` (d objective / d output) and PyTorch's gradients of
the inputs for that seed. The C++ test (tests/autograd/test_autograd_golden.cpp) runs
the same op through hl::ag, back-propagates the same seed and compares.

Layouts follow ours (Keras): linear weights [in, out], conv1d weights [k, c_in, c_out]
and activations [batch, time, channels]; they are permuted to PyTorch's layouts here.
Also: ten steps of torch.optim.Adam(eps=1e-7) on given parameters and gradients.
"""
import json
import os
import sys
import warnings

import torch
import torch.nn.functional as F


def main(out_dir):
    warnings.filterwarnings("ignore", message=".*padding='same' with even kernel.*")
    torch.manual_seed(20240603)
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"cases": [], "adam": []}
    counter = [0]

    def save(t):
        counter[0] += 1
        name = f"a{counter[0]}.bin"
        t = t.detach().contiguous().float()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(t.numpy().tobytes())
        return {"file": name, "shape": list(t.shape)}

    def case(op, fn, inputs, grads=None, **args):
        """inputs: tensors; grads: which of them need a gradient (default all)."""
        grads = grads if grads is not None else [True] * len(inputs)
        leaves = [x.clone().requires_grad_(g) for x, g in zip(inputs, grads)]
        out = fn(*leaves)
        seed = torch.randn_like(out)
        wanted = [x for x in leaves if x.requires_grad]
        got = torch.autograd.grad(out, wanted, seed, allow_unused=True)
        it = iter(got)
        results = []
        for x in leaves:
            if x.requires_grad:
                g = next(it)
                results.append(save(g if g is not None else torch.zeros_like(x)))
            else:
                results.append(None)
        manifest["cases"].append({
            "op": op, "args": args,
            "inputs": [dict(save(x), grad=g) for x, g in zip(inputs, grads)],
            "output": save(out), "seed": save(seed), "grads": results,
        })

    randn = torch.randn
    for shape in [(7,), (3, 5), (2, 3, 17), (2, 1, 3, 4)]:
        a, b = randn(shape), randn(shape)
        case("add", lambda x, y: x + y, [a, b])
        case("add", lambda x, y: x + y, [a, b], grads=[True, False])
        case("mul", lambda x, y: x * y, [a, b])
        case("mul_self", lambda x: x * x, [a])  # one value used twice: gradients must add
        case("scale", lambda x: x * -0.375, [a], alpha=-0.375)
        case("relu", torch.relu, [a])
        case("sigmoid", torch.sigmoid, [a * 3])
        case("tanh", torch.tanh, [a * 2])
        for dim in range(len(shape)):
            case("sum", lambda x, d=dim: x.sum(d), [a], dim=dim)
            case("mean", lambda x, d=dim: x.mean(d), [a], dim=dim)
            case("softmax", lambda x, d=dim: torch.softmax(x, d), [a * 2], dim=dim)
            case("softmax", lambda x, d=dim: torch.softmax(x, d), [a * 2], dim=dim - len(shape))
            n = shape[dim]
            start, length = (1, n - 1) if n > 1 else (0, 1)
            case("narrow", lambda x, d=dim, s=start, l=length: x.narrow(d, s, l), [a], dim=dim, start=start,
                 length=length)
            others = [randn(*shape[:dim], k, *shape[dim + 1:]) for k in (2, 1)]
            case("concat", lambda x, y, z, d=dim: torch.cat([x, y, z], d), [a, *others], dim=dim)
        case("sum_all", lambda x: x.sum(), [a])
        case("mean_all", lambda x: x.mean(), [a])
        case("reshape", lambda x: x.reshape(-1), [a], dims=[-1])
        case("chain", lambda x, y: torch.tanh(x * y + x).sum(), [a, b])  # a small graph

    for (batch, m, n, k) in [((), 1, 1, 1), ((), 6, 5, 7), ((3,), 4, 5, 6), ((2, 2), 3, 8, 2)]:
        for ta in (False, True):
            for tb in (False, True):
                a = randn(*batch, *((k, m) if ta else (m, k)))
                b = randn(*batch, *((n, k) if tb else (k, n)))
                case("matmul",
                     lambda x, y, ta=ta, tb=tb: (x.transpose(-1, -2) if ta else x) @ (y.transpose(-1, -2) if tb else y),
                     [a, b], trans_a=ta, trans_b=tb)
    for ta in (False, True):
        a = randn(4, 6, 10) if not ta else randn(4, 10, 6)
        b = randn(10, 3)  # a 2-D right operand shared across the batch
        case("matmul", lambda x, y, ta=ta: (x.transpose(-1, -2) if ta else x) @ y, [a, b], trans_a=ta, trans_b=False)

    for xshape, nin, nout in [((4, 7), 7, 3), ((2, 5, 7), 7, 3), ((1, 1), 1, 1), ((3, 2, 4, 16), 16, 9)]:
        x, w, b = randn(xshape), randn(nin, nout), randn(nout)
        case("linear", lambda x, w, b: F.linear(x, w.t(), b), [x, w, b])
        case("linear_nobias", lambda x, w: F.linear(x, w.t()), [x, w])

    for n in [1, 2, 37, 300]:
        p = randn(n)
        y = torch.rand(n) * 2
        case("mse_loss", lambda p, y: F.mse_loss(p, y), [p, y], grads=[True, False])
        if n >= 2:
            case("ccc_loss", ccc_loss, [p * 0.5 + 1, y], grads=[True, False])
        hi, lo = randn(n), randn(n)
        case("margin_ranking_loss", lambda h, l: F.margin_ranking_loss(h, l, torch.ones(n), margin=1.0), [hi, lo],
             margin=1.0)
    p, y = randn(2, 50), torch.rand(2, 50) * 2
    case("ccc_loss", ccc_loss, [p, y], grads=[True, False])

    for (batch, time, cin, cout) in [(2, 9, 3, 4), (1, 1, 2, 3), (3, 16, 5, 2)]:
        for k in (1, 2, 3, 4, 5):
            x, w, b = randn(batch, time, cin), randn(k, cin, cout), randn(cout)
            case("conv1d_same", conv1d_same, [x, w, b])
        if time < 2:
            continue  # PyTorch refuses an empty pooled output
        x = randn(batch, time, cin)
        case("maxpool1d_2", lambda x: F.max_pool1d(x.transpose(1, 2), 2, 2).transpose(1, 2), [x])

    # Not n = 2: two values normalise to plus and minus a constant (up to eps) whatever x
    # is, so dx is zero and both sides would compare rounding noise.
    for shape in [(3, 8), (2, 4, 5), (1, 3)]:
        n = shape[-1]
        x, g, b = randn(shape) * 2 + 0.5, randn(n), randn(n)
        case("layer_norm", lambda x, g, b: F.layer_norm(x, (n,), g, b, eps=1e-5), [x, g, b], eps=1e-5)
        case("layer_norm_vasnet", layer_norm_vasnet, [x, g, b], eps=1e-6)

    # Adam: ten steps on fixed parameters and per-step gradients.
    for wd in (0.0, 0.01):
        p0 = randn(3, 7)
        grads = [randn(3, 7) * (0.1 if s % 2 else 1.0) for s in range(10)]
        p = p0.clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=1e-2, betas=(0.9, 0.999), eps=1e-7, weight_decay=wd)
        after = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            after.append(save(p))
        manifest["adam"].append({"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "weight_decay": wd,
                                 "param": save(p0), "grads": [save(g) for g in grads], "after": after})

    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def ccc_loss(p, y):
    """1 - CCC with population moments and the covariance numerator (specs/paper.md)."""
    p, y = p.reshape(-1), y.reshape(-1)
    mp, my = p.mean(), y.mean()
    vp = ((p - mp) ** 2).mean()
    vy = ((y - my) ** 2).mean()
    cov = ((p - mp) * (y - my)).mean()
    return 1 - 2 * cov / (vp + vy + (mp - my) ** 2)


def conv1d_same(x, w, b):
    # ours: x [batch, time, c_in], w [k, c_in, c_out]; PyTorch: [batch, c_in, time], [c_out, c_in, k]
    return F.conv1d(x.transpose(1, 2), w.permute(2, 1, 0), b, padding="same").transpose(1, 2)


def layer_norm_vasnet(x, g, b):
    """VASNet's LayerNorm: eps added to the unbiased standard deviation."""
    mean = x.mean(-1, keepdim=True)
    std = x.std(-1, keepdim=True, unbiased=True)
    return g * (x - mean) / (std + 1e-6) + b


if __name__ == "__main__":
    main(sys.argv[1])
