"""PyTorch (Debian python3-torch, torchvision) peer of bench/bench_cnn.cpp: torchvision's
googlenet (transform_input=True, no aux heads at inference) and resnet50 (365 classes)
in eval mode under torch.no_grad(), on a batch of B random 224 x 224 images (NCHW, the
layout torchvision's models take; PyTorch runs the convolutions with oneDNN). Written
as Google Benchmark-style JSON (medians of repeated forwards, real and CPU time) under the C++ names
BM_cnn_googlenet/<B> and BM_cnn_resnet50/<B>; the channels-last variant
(model.to(memory_format=torch.channels_last)) is written as BM_cnn_<net>_channels_last/<B>
for reference.

Usage: cnn_peer.py OUT.json [--threads N] [--batch 8]
"""
import argparse
import json
import time

import torch
import torchvision


def timeit(fn, min_time=2.0):
    """Median wall time and median process CPU time of repeated calls (seconds). On a
    shared machine the CPU time of a 1-thread run is the steadier of the two."""
    fn()
    walls, cpus = [], []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(walls) < 3:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    walls.sort()
    cpus.sort()
    return walls[len(walls) // 2], cpus[len(cpus) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    nets = {
        "googlenet": torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True,
                                                  transform_input=True),
        "resnet50": torchvision.models.resnet50(weights=None, num_classes=365),
    }
    x = torch.randn(args.batch, 3, 224, 224)
    rows = []
    with torch.no_grad():
        for name, model in nets.items():
            model.eval()
            rows.append((f"BM_cnn_{name}/{args.batch}", timeit(lambda: model(x))))
            cl = model.to(memory_format=torch.channels_last)
            xcl = x.contiguous(memory_format=torch.channels_last)
            rows.append((f"BM_cnn_{name}_channels_last/{args.batch}", timeit(lambda: cl(xcl))))
    out = {"context": {"peer": "torch " + torch.__version__, "threads": torch.get_num_threads()},
           "benchmarks": [{"name": n, "real_time": t * 1e3, "cpu_time": c * 1e3, "time_unit": "ms"}
                          for n, (t, c) in rows]}
    for n, (t, c) in rows:
        print(f"{n}: {t * 1e3:.1f} ms real, {c * 1e3:.1f} ms cpu, {args.batch / t:.1f} images/s")
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
