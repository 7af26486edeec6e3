"""PyTorch-on-the-GPU peer of bench/cuda/bench_cuda_kernels.cpp: the same ops and shapes,
timed the same way (CUDA events around one call, L2 flushed before each call, median
of the repetitions), written as Google Benchmark-style JSON so that bench/compare.py can
put both side by side. The file is rewritten after every row (json_rows.py): a run
stopped by a time limit keeps what it measured. Exit 77 without a CUDA device.

TF32 is switched off, as in hl's GEMM (kernels/cuda/gemm.cu): both sides do full f32.

Usage: torch_cuda.py OUT.json [--min-time SECONDS]
"""
import argparse
import time

import torch

from json_rows import JsonRows, require_cuda


def make_timer(min_time):
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    flush = torch.empty(2 * l2 + 1, dtype=torch.uint8, device="cuda")
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def one(fn):
        flush.fill_(1)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) * 1e-3

    def timeit(fn):
        one(fn)  # warm-up
        times = []
        begin = time.perf_counter()
        while time.perf_counter() - begin < min_time or len(times) < 5:
            times.append(one(fn))
        times.sort()
        return times[len(times) // 2]

    return timeit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--min-time", type=float, default=0.1)
    args = ap.parse_args()
    require_cuda(torch)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    timeit = make_timer(args.min_time)
    dev = "cuda"

    def rand(*shape):
        return torch.rand(*shape, device=dev) * 2 - 1

    rows = JsonRows(args.out, "torch %s (%s)" % (torch.__version__, torch.cuda.get_device_name(0)))
    for n in (128, 512, 1024, 2048, 4096):
        a, b, c = rand(n, n), rand(n, n), torch.empty(n, n, device=dev)
        rows.add("BM_cuda_gemm_f32/%d" % n, timeit(lambda: torch.mm(a, b, out=c)))
    batch, n = 64, 256
    a, b, c = rand(batch, n, n), rand(batch, n, n), torch.empty(batch, n, n, device=dev)
    rows.add("BM_cuda_gemm_batched_f32/%d/%d" % (batch, n), timeit(lambda: torch.bmm(a, b, out=c)))
    for n in (1 << 16, 1 << 22, 1 << 26):
        a, b, y = rand(n), rand(n), torch.empty(n, device=dev)
        rows.add("BM_cuda_add_f32/%d" % n, timeit(lambda: torch.add(a, b, out=y)))
        rows.add("BM_cuda_sigmoid_f32/%d" % n, timeit(lambda: torch.sigmoid(a, out=y)))
    for r in (1024, 4096, 16384):
        x, y = rand(r, 1024), torch.empty(r, device=dev)
        rows.add("BM_cuda_sum_rows_f32/%d" % r, timeit(lambda: torch.sum(x, 1, out=y)))
    for r in (4096, 16384):
        x, y = rand(r, 1024), torch.empty(1024, device=dev)
        rows.add("BM_cuda_sum_cols_f32/%d" % r, timeit(lambda: torch.sum(x, 0, out=y)))
    for n in (1024, 4096):
        x, y = rand(n, n), torch.empty(n, n, device=dev)
        rows.add("BM_cuda_transpose_f32/%d" % n, timeit(lambda: y.copy_(x.t())))
    y = torch.empty(1 << 22, device=dev)
    rows.add("BM_cuda_uniform_f32/%d" % (1 << 22), timeit(lambda: y.uniform_(0.0, 1.0)))
    # bench/cuda/bench_mfcc_cuda.cpp: one hour of 16-kHz audio through torchaudio's MFCC
    # with the sizes of bench/peers/mfcc_cpu.py, when torchaudio is installed.
    try:
        import torchaudio
    except ImportError:
        torchaudio = None
    if torchaudio is not None:
        mfcc = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=13, melkwargs={
            "n_fft": 512, "win_length": 400, "hop_length": 133, "n_mels": 26, "center": False}).to(dev)
        audio = torch.randn(3600 * 16000, device=dev) * 3000
        with torch.inference_mode():
            rows.add("BM_cuda_mfcc_1h", timeit(lambda: mfcc(audio)))


if __name__ == "__main__":
    main()
