"""PyTorch (Debian python3-torch) peer of bench/bench_cpu_kernels.cpp: the same ops and
shapes, timed the same way (gb_timing.py: the median over repetitions of the mean time
per call), written as Google Benchmark-style JSON so bench/compare.py can put both side
by side.

Usage: torch_cpu.py OUT.json [--threads N]
"""
import argparse
import json

import torch

from gb_timing import timeit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for n in (128, 512, 1024):
        a, b, c = torch.rand(n, n), torch.rand(n, n), torch.empty(n, n)
        rows.append(("BM_gemm_f32/%d" % n, timeit(lambda: torch.mm(a, b, out=c))))
    for n in (1 << 16, 1 << 22):
        a, b, y = torch.rand(n), torch.rand(n), torch.empty(n)
        rows.append(("BM_add_f32/%d" % n, timeit(lambda: torch.add(a, b, out=y))))
        rows.append(("BM_sigmoid_f32/%d" % n, timeit(lambda: torch.sigmoid(a, out=y))))
    for r in (1024, 4096):
        x, y = torch.rand(r, 1024), torch.empty(r)
        rows.append(("BM_sum_rows_f32/%d" % r, timeit(lambda: torch.sum(x, 1, out=y))))
    out = {"context": {"peer": "torch " + torch.__version__, "threads": torch.get_num_threads()},
           "benchmarks": [{"name": name, "real_time": t * 1e9, "time_unit": "ns"} for name, t in rows]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
