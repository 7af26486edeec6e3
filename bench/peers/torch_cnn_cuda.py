"""PyTorch-on-the-GPU peer of bench/cuda/bench_cnn_cuda.cpp: torchvision's GoogLeNet
(transform_input, 1000 classes) and ResNet50 (365 classes) with random weights in eval
mode, timed the same way and under the same names, written as Google Benchmark-style
JSON so that bench/compare.py can put both side by side.

Each timed call does what hl's forward() does: the f32 NHWC batch goes from host memory
to the GPU, becomes f16 channels_last, runs through the net, and the embedding and logits
come back to the host (torch.cuda.synchronize() via .cpu()). Eager mode, and
torch.compile (mode "max-autotune-no-cudagraphs") when it is available and works; the
compiled rows are named *_compiled. cudnn.benchmark is on: PyTorch then times cuDNN's
algorithms as hl does (cudnnFind). Median of the repetitions, wall time.

Usage: torch_cnn_cuda.py OUT.json [--min-time SECONDS] [--batch N] [--no-compile]
"""
import argparse
import json
import time

import torch
import torchvision


def timeit(fn, min_time):
    fn()  # warm-up: algorithm search, compilation
    times = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < min_time or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def embedding_and_logits(model):
    """Returns f(x) -> (embedding, logits) for the torchvision model."""
    feats = {}
    model.avgpool.register_forward_hook(lambda m, i, o: feats.__setitem__("e", o))

    def run(x):
        logits = model(x)
        return torch.flatten(feats["e"], 1), logits

    return run


def make(name):
    if name == "googlenet":
        m = torchvision.models.googlenet(weights=None, aux_logits=False, transform_input=True, init_weights=False)
    else:
        m = torchvision.models.resnet50(weights=None, num_classes=365)
    return m.eval().cuda().half().to(memory_format=torch.channels_last)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(7)
    x_host = torch.rand(args.batch, 224, 224, 3) * 4 - 2  # f32 NHWC, as hl's input

    rows = []
    with torch.inference_mode():
        for name in ("googlenet", "resnet50"):
            model = make(name)
            variants = [("", model)]
            if not args.no_compile and hasattr(torch, "compile"):
                variants.append(("_compiled", torch.compile(model, mode="max-autotune-no-cudagraphs")))
            for suffix, m in variants:
                run = embedding_and_logits(model) if suffix == "" else None

                def step(m=m, run=run):
                    x = x_host.cuda().half().permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
                    if run is not None:
                        e, logits = run(x)
                        return e.float().cpu(), logits.float().cpu()
                    return m(x).float().cpu()

                try:
                    t = timeit(step, args.min_time)
                except Exception as e:  # torch.compile may be unavailable on the GPU machine
                    print("skipping %s%s: %s" % (name, suffix, e))
                    continue
                rows.append(("BM_cuda_cnn_%s_f16%s/%d" % (name, suffix, args.batch), t))

        def upload():
            x = x_host.cuda().half()
            torch.cuda.synchronize()
            return x

        rows.append(("BM_cuda_cnn_upload_f16/%d" % args.batch, timeit(upload, args.min_time)))

    dev = torch.cuda.get_device_name(0)
    out = {"context": {"peer": "torch %s (%s)" % (torch.__version__, dev)},
           "benchmarks": [{"name": n + "/manual_time", "run_name": n + "/manual_time", "real_time": t * 1e9,
                           "time_unit": "ns"} for n, t in rows]}
    for n, t in rows:
        print("%-45s %8.2f ms  %8.0f images/s" % (n, t * 1e3, args.batch / t))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
