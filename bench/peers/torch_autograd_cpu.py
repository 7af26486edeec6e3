"""PyTorch (Debian python3-torch) peer of bench/bench_autograd_ops.cpp: each op family
forward + backward through autograd on the same shapes, and one Adam step over the
all-feature model's parameter shapes, timed as bench/peers/torch_cpu.py does
(gb_timing.py: the median over repetitions of the mean time per call) and written as
Google Benchmark-style JSON under the same names, so bench/compare.py prints the ratios.

Layouts are PyTorch's own where they differ from ours (channels first for conv1d and
max pool: [300, 13, 600] instead of [300, 600, 13]; nn.LSTM's two bias vectors), so
PyTorch runs its native, fastest path. After each iteration the leaves' gradients are
dropped (grad = None), as the C++ benchmark drops them.

Usage: torch_autograd_cpu.py OUT.json [--threads N]
"""
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from gb_timing import timeit


def leaf(*shape, scale=1.0):
    return ((torch.rand(*shape) * 2 - 1) * scale).requires_grad_()


def fwd_bwd(leaves, seed, forward):
    def step():
        y = forward()
        y.backward(seed)
        for t in leaves:
            t.grad = None
    return step


def ccc_loss(p, y):
    mp, my = p.mean(), y.mean()
    cov = ((p - mp) * (y - my)).mean()
    return 1 - 2 * cov / (((p - mp) ** 2).mean() + ((y - my) ** 2).mean() + (mp - my) ** 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []

    for d in (385, 1024):  # dense 300*150 frames x d -> 64
        x, w, b = leaf(300 * 150, d), leaf(64, d, scale=0.1), leaf(64)
        seed = torch.rand(300 * 150, 64)
        rows.append(("BM_ag_linear/%d" % d, timeit(fwd_bwd([x, w, b], seed, lambda: F.linear(x, w, b)))))

    x, w, b = leaf(300, 13, 600), leaf(64, 13, 3, scale=0.2), leaf(64)  # MFCC conv1d, k 3 'same'
    seed = torch.rand(300, 64, 600)
    rows.append(("BM_ag_conv1d", timeit(fwd_bwd([x, w, b], seed, lambda: F.conv1d(x, w, b, padding=1)))))

    x = leaf(300, 64, 600)
    seed = torch.rand(300, 64, 300)
    rows.append(("BM_ag_maxpool", timeit(fwd_bwd([x], seed, lambda: F.max_pool1d(x, 2)))))

    x = leaf(300, 150, 150, scale=4.0)
    seed = torch.rand(300, 150, 150)
    rows.append(("BM_ag_softmax", timeit(fwd_bwd([x], seed, lambda: torch.softmax(x, 2)))))

    x, g, b = leaf(300 * 150, 385), leaf(385), leaf(385)
    seed = torch.rand(300 * 150, 385)
    rows.append(("BM_ag_layernorm",
                 timeit(fwd_bwd([x, g, b], seed, lambda: F.layer_norm(x, (385,), g, b, eps=1e-5)))))

    lstm = nn.LSTM(385, 20, batch_first=True, bidirectional=True)
    x = leaf(300, 150, 385)
    seed = torch.rand(300, 40)

    def bilstm():
        _, (h_n, _) = lstm(x)
        return torch.cat([h_n[0], h_n[1]], 1)
    rows.append(("BM_ag_bilstm", timeit(fwd_bwd([x] + list(lstm.parameters()), seed, bilstm))))
    torch.set_flush_denormal(True)  # as BM_ag_bilstm_ftz: denormals flushed to zero
    rows.append(("BM_ag_bilstm_ftz", timeit(fwd_bwd([x] + list(lstm.parameters()), seed, bilstm))))
    torch.set_flush_denormal(False)

    for n in (300, 45000):
        p, y = leaf(n), torch.rand(n) * 2
        rows.append(("BM_ag_ccc_loss/%d" % n, timeit(fwd_bwd([p], None, lambda: ccc_loss(p, y)))))

    shapes = [(1024, 64), (64,), (2048, 64), (64,), (128, 64), (64,), (14, 14, 1, 64), (64,), (64, 64), (64,),
              (3, 13, 64), (64,), (3, 64, 128), (128,), (385, 80), (20, 80), (80,), (385, 80), (20, 80), (80,),
              (40, 20), (20,), (20, 1), (1,)]
    params = [leaf(*s, scale=0.1) for s in shapes]
    assert sum(p.numel() for p in params) == 314825
    for p in params:
        p.grad = (torch.rand(p.shape) * 2 - 1) * 0.01
    adam = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    rows.append(("BM_ag_adam_step", timeit(adam.step)))

    out = {"context": {"peer": "torch " + torch.__version__, "threads": torch.get_num_threads()},
           "benchmarks": [{"name": name, "real_time": t * 1e9, "time_unit": "ns"} for name, t in rows]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
