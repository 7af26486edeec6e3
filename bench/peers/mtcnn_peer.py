"""facenet-pytorch's MTCNN per frame on the CPU: the peer of hl-extract --features faces
(bench/faces-cpu.sh).

Usage: mtcnn_peer.py VIDEO WIDTH HEIGHT [--threads N]
Decodes VIDEO with the ffmpeg command line (hl's frame rule), then times
MTCNN(keep_all=True, select_largest=False).detect on every frame (after one warm-up
frame) and prints "<ms per frame> <frames>".
"""
import argparse
import subprocess
import time

import numpy as np
import torch
from PIL import Image

from facenet_pytorch import MTCNN


def main():
    p = argparse.ArgumentParser()
    p.add_argument("video")
    p.add_argument("width", type=int)
    p.add_argument("height", type=int)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    raw = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", a.video, "-vf",
                          "setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, a.height, a.width, 3)
    mtcnn = MTCNN(keep_all=True, select_largest=False, device="cpu")
    mtcnn.detect(Image.fromarray(frames[0]))
    start = time.perf_counter()
    for f in frames:
        mtcnn.detect(Image.fromarray(f))
    print(f"{1000 * (time.perf_counter() - start) / len(frames):.1f} {len(frames)}")


if __name__ == "__main__":
    main()
