"""Reference for hl-convert mtcnn + hl-extract --features faces, end to end.

Usage: extract_faces_ref.py OUT_DIR FFMPEG

Writes
  faces.mp4       a generated video (ffmpeg, libx264 from raw frames, with a 500 Hz
                  tone for mfcc): 12 frames at 30 fps, 320x240, scikit-image's
                  astronaut's head moving over a gradient; frames 4-6 have no head,
                  frame 9 has it cut by the right edge
  expected.json   {"data_dir": facenet-pytorch's data folder (pnet.pt, rnet.pt, onet.pt),
                   "faces": [T] the faces feature of each frame at 30000/1001 fps,
                   "faces_step3": [T] the same with detection every 3rd frame, held}
The frames are what the ffmpeg command line decodes with hl's frame rule
(setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24). Each goes through
facenet-pytorch's own MTCNN (keep_all, select_largest=False: by probability); the
feature is the area of the first (most confident) box clipped to the frame, over the
frame's area, 0 when there is none.
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
from skimage import data

import facenet_pytorch
from facenet_pytorch import MTCNN

W, H = 320, 240


def make_frames():
    head = Image.fromarray(data.astronaut()).crop((150, 30, 300, 210))  # 150 x 180
    yy, xx = np.mgrid[0:H, 0:W]
    frames = []
    for t in range(12):
        frame = np.stack([xx * 255 // W, yy * 255 // H, np.full_like(xx, 40 + 10 * t)], axis=-1).astype(np.uint8)
        if t not in (4, 5, 6):
            size = (100 - 3 * t, 120 - 4 * t)
            patch = np.asarray(head.resize(size, Image.BILINEAR))
            left = 10 + 22 * t if t != 9 else W - size[0] // 2
            top = 30 + 5 * t
            w = min(size[0], W - left)
            frame[top:top + size[1], left:left + w] = patch[:, :w]
        frames.append(frame)
    return frames


def encode(ffmpeg, frames, path):
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", "30", "-i", "-",
                    "-f", "lavfi", "-i", "sine=frequency=500:duration=0.4",
                    "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path],
                   input=b"".join(f.tobytes() for f in frames), check=True)


def decode(ffmpeg, path):
    raw = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-vf",
                          "setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, H, W, 3)


def face_area(mtcnn, frame):
    boxes, _ = mtcnn.detect(Image.fromarray(frame))
    if boxes is None:
        return 0.0
    x1, y1, x2, y2 = (float(v) for v in boxes[0])
    x1, x2 = min(max(x1, 0.0), W), min(max(x2, 0.0), W)
    y1, y2 = min(max(y1, 0.0), H), min(max(y2, 0.0), H)
    return max(0.0, x2 - x1) * max(0.0, y2 - y1) / (W * H)


def main(out_dir, ffmpeg):
    os.makedirs(out_dir, exist_ok=True)
    video = os.path.join(out_dir, "faces.mp4")
    encode(ffmpeg, make_frames(), video)
    mtcnn = MTCNN(keep_all=True, select_largest=False, device="cpu")
    faces = [face_area(mtcnn, f) for f in decode(ffmpeg, video)]
    step3 = [faces[i - i % 3] for i in range(len(faces))]
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump({"data_dir": os.path.join(os.path.dirname(facenet_pytorch.__file__), "data"), "faces": faces,
                   "faces_step3": step3}, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
