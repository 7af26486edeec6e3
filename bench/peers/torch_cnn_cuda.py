"""PyTorch-on-the-GPU peer of bench/cuda/bench_cnn_cuda.cpp: torchvision's GoogLeNet
(transform_input, 1000 classes) and ResNet50 (365 classes) with random weights in eval
mode, timed the same way and under the same names, written as Google Benchmark-style
JSON so that bench/compare.py can put both side by side.

Each timed call does what hl's forward() does: the f32 NHWC batch goes from host memory
to the GPU, becomes f16 channels_last, runs through the net, and the embedding and logits
come back to the host (torch.cuda.synchronize() via .cpu()). Eager mode by default;
with --compile also torch.compile (mode "max-autotune-no-cudagraphs") after every eager
row, and with --compile-only just that (tools/gpu-check.sh runs it as a separate,
optional, time-boxed step, since compiling can take minutes); the compiled rows are named
*_compiled. cudnn.benchmark is on: PyTorch then times cuDNN's algorithms as hl does
(cudnnFind). Median of the repetitions, wall time. The JSON is rewritten after every row
(json_rows.py). Exit 77 without a CUDA device.

Usage: torch_cnn_cuda.py OUT.json [--min-time SECONDS] [--batch N] [--compile | --compile-only]
"""
import argparse
import time

import torch
import torchvision

from json_rows import JsonRows, require_cuda


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
    ap.add_argument("--compile", action="store_true", help="also the torch.compile rows, after the eager ones")
    ap.add_argument("--compile-only", action="store_true", help="only the torch.compile rows")
    args = ap.parse_args()
    require_cuda(torch)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(7)
    x_host = torch.rand(args.batch, 224, 224, 3) * 4 - 2  # f32 NHWC, as hl's input
    rows = JsonRows(args.out, "torch %s (%s)" % (torch.__version__, torch.cuda.get_device_name(0)))

    def add(name, t):
        rows.add(name, t)
        print("%-45s %8.2f ms  %8.0f images/s" % (name, t * 1e3, args.batch / t), flush=True)

    def step_of(model, run):
        def step():
            x = x_host.cuda().half().permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
            if run is not None:
                e, logits = run(x)
                return e.float().cpu(), logits.float().cpu()
            return model(x).float().cpu()
        return step

    with torch.inference_mode():
        models = {name: make(name) for name in ("googlenet", "resnet50")}
        if not args.compile_only:
            for name, model in models.items():
                add("BM_cuda_cnn_%s_f16/%d" % (name, args.batch), timeit(step_of(model, embedding_and_logits(model)),
                                                                          args.min_time))

            def upload():
                x = x_host.cuda().half()
                torch.cuda.synchronize()
                return x

            add("BM_cuda_cnn_upload_f16/%d" % args.batch, timeit(upload, args.min_time))
        if args.compile or args.compile_only:
            for name, model in models.items():
                try:
                    compiled = torch.compile(model, mode="max-autotune-no-cudagraphs")
                    t = timeit(step_of(compiled, None), args.min_time)
                except Exception as e:  # torch.compile may be unavailable or fail on the GPU machine
                    print("skipping %s compiled: %s" % (name, e), flush=True)
                    continue
                add("BM_cuda_cnn_%s_f16_compiled/%d" % (name, args.batch), t)


if __name__ == "__main__":
    main()
