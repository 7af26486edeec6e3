"""Peer of bench/bench_decode.cpp: the ffmpeg command line decoding the same 720p H.264
file to RGB frames at 30000/1001 fps by timestamps, written to /dev/null as rawvideo,
with one decoder thread and one filter thread (ours: one decoder thread; our colour
conversion runs in the decoding thread too). Median wall time of repeated runs, as
Google Benchmark-style JSON under the C++ name BM_decode_720p.

Usage: ffmpeg_decode.py VIDEO OUT.json [--ffmpeg PATH] [--min-time SECONDS]
"""
import argparse
import json
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--min-time", type=float, default=3.0)
    a = ap.parse_args()
    cmd = [a.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-threads", "1", "-i", a.video,
           "-filter_threads", "1", "-vf", "setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24",
           "-f", "rawvideo", "-y", "/dev/null"]
    subprocess.run(cmd, check=True)  # warm-up (page cache)
    times = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < a.min_time or len(times) < 3:
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        times.append(time.perf_counter() - t0)
    median = sorted(times)[len(times) // 2]
    json.dump({"context": {"peer": "ffmpeg command line", "threads": 1},
               "benchmarks": [{"name": "BM_decode_720p", "real_time": median * 1e3, "cpu_time": median * 1e3,
                               "time_unit": "ms"}]}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
