"""Peers of bench/bench_mfcc.cpp: the same minute of 16-kHz audio through
python_speech_features.mfcc (the reference the paper's parameters follow) and through
torchaudio.transforms.MFCC with matching sizes (n_fft 512, 400-sample window, hop 133,
26 mels, 13 coefficients; not the identical algorithm, but the same work), one thread.
Writes Google Benchmark-style JSON (median wall time as real_time, median CPU time of
the process as cpu_time), one file per peer, for bench/compare.py.

Usage: mfcc_cpu.py OUT_PREFIX   (writes OUT_PREFIX.psf.json and OUT_PREFIX.torchaudio.json)
"""
import json
import sys
import time

import numpy as np
import python_speech_features as psf
import torch
import torchaudio


def timeit(fn, min_time=1.0):
    """Median wall and CPU seconds of one call (the CPU time is what a busy machine
    distorts least: Google Benchmark reports both for our side too)."""
    fn()
    walls, cpus = [], []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(walls) < 3:
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2]


def write(path, peer, seconds):
    wall, cpu = seconds
    json.dump({"context": {"peer": peer, "threads": 1},
               "benchmarks": [{"name": "BM_mfcc_60s", "real_time": wall * 1e3, "cpu_time": cpu * 1e3,
                               "time_unit": "ms"}]},
              open(path, "w"), indent=1)


def main():
    torch.set_num_threads(1)
    audio = np.random.default_rng(1).normal(scale=3000.0, size=60 * 16000)
    t = timeit(lambda: psf.mfcc(audio, 16000, winlen=0.025, winstep=0.25 / 29.97, numcep=13, nfilt=26, nfft=512,
                                preemph=0.97, ceplifter=22, appendEnergy=True))
    write(sys.argv[1] + ".psf.json", "python_speech_features", t)
    mfcc = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=13,
                                      melkwargs={"n_fft": 512, "win_length": 400, "hop_length": 133, "n_mels": 26,
                                                 "center": False})
    x = torch.tensor(audio, dtype=torch.float32)
    with torch.inference_mode():
        t = timeit(lambda: mfcc(x))
    write(sys.argv[1] + ".torchaudio.json", "torchaudio " + torchaudio.__version__, t)


if __name__ == "__main__":
    main()
