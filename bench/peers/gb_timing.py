"""Times a peer's call the way Google Benchmark times ours, so that bench/compare.py
divides like by like: each repetition calls fn for at least min_time seconds (0.5, as
Google Benchmark's default) and counts the mean time per call; the result is the median
of the repetitions ($HL_BENCH_REPETITIONS, 9 by default, as bench/run-cpu.sh passes to
hl-bench with --benchmark_repetitions).

Why not the median of single calls, as these peers used to take: that statistic drops
every call that the machine interrupted, while Google Benchmark's mean per repetition
keeps them. Under `chrt -f` the kernel stops a process that has run at real-time
priority for 0.95 s of a second (sched_rt_runtime_us = 950000) for the other 0.05 s, so
every hl number carried ~5% of stopped time that the peer's did not: the 1-thread
GEMM rows read 0.81-0.92x PyTorch while both sides ran the same OpenBLAS sgemm in the
same CPU time (issue 18 item 12, docs/benchmarks.md).
"""
import os
import time


def repetitions():
    return int(os.environ.get("HL_BENCH_REPETITIONS", "9"))


def timeit(fn, min_time=0.5):
    fn()  # warm-up, not timed (Google Benchmark's first iteration count probe is not reported either)
    means = []
    for _ in range(repetitions()):
        calls = 0
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        means.append(elapsed / calls)
    means.sort()
    return means[len(means) // 2]
