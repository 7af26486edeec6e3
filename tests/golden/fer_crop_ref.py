"""Reference for nets/fer_crop.h: what OpenCV (opencv-python-headless) and fer 22.5.1's
crop code give, for tests/nets/test_fer_crop.cpp.

Usage: fer_crop_ref.py OUT_DIR

Writes raw u8 files and manifest.json:
  "grey":   [{file (rgb [h, w, 3]), h, w, expected (grey [h, w])}]   cv2.cvtColor RGB2GRAY
  "resize": [{file (grey [h, w]), h, w, out_h, out_w, expected}]      cv2.resize INTER_LINEAR
  "crops":  [{file (rgb [h, w, 3]), h, w, box [x1, y1, x2, y2] (float32 values),
              rect [y0, y1, x0, x1] in the padded image, expected (grey [64, 64]) or null
              when fer's cv2.resize fails on an empty crop}]
The crop is fer/fer.py's FER.detect_emotions for one MTCNN box (FER.find_faces with
mtcnn=True: int() of each corner, width = int(x2) - int(x1)), its lines copied below with
the image given in BGR order as fer expects. Inputs are random (seeded), with sizes and
boxes chosen to reach the corner cases: 2x downscaling (OpenCV's INTER_AREA fast path),
upscaling, one-pixel rows and columns, boxes outside the image, padding whose value
cv2.mean puts exactly between two integers.
"""
import json
import os
import sys

import cv2
import numpy as np

PADDING = 40  # fer.fer.PADDING
OFFSETS = (10, 10)  # FER(offsets=(10, 10))


# fer/fer.py FER.pad
def pad(image):
    row, col = image.shape[:2]
    bottom = image[row - 2: row, 0:col]
    mean = cv2.mean(bottom)[0]
    return cv2.copyMakeBorder(image, top=PADDING, bottom=PADDING, left=PADDING, right=PADDING,
                              borderType=cv2.BORDER_CONSTANT, value=[mean, mean, mean])


# fer/fer.py FER.tosquare
def tosquare(bbox):
    x, y, w, h = bbox
    if h > w:
        diff = h - w
        x -= diff // 2
        w += diff
    elif w > h:
        diff = w - h
        y -= diff // 2
        h += diff
    return (x, y, w, h)


# fer/fer.py FER.__apply_offsets
def apply_offsets(face_coordinates):
    x, y, width, height = face_coordinates
    x_off, y_off = OFFSETS
    return x - x_off, x + width + x_off, y - y_off, y + height + y_off


def fer_crop(rgb, box):
    """detect_emotions' crop of one face; None where fer's resize fails (it skips the face)."""
    img = np.ascontiguousarray(rgb[..., ::-1])  # fer takes BGR
    face = box  # FER.find_faces, mtcnn branch
    face_coordinates = [int(face[0]), int(face[1]), int(face[2]) - int(face[0]), int(face[3]) - int(face[1])]
    gray_img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    gray_img = pad(gray_img)
    face_coordinates = tosquare(face_coordinates)
    x1, x2, y1, y2 = apply_offsets(face_coordinates)
    x1 += PADDING
    y1 += PADDING
    x2 += PADDING
    y2 += PADDING
    x1 = np.clip(x1, a_min=0, a_max=None)
    y1 = np.clip(y1, a_min=0, a_max=None)
    gray_face = gray_img[max(0, y1): y2, max(0, x1): x2]
    rows = range(gray_img.shape[0])[max(0, y1): y2]
    cols = range(gray_img.shape[1])[max(0, x1): x2]
    rect = [rows.start, rows.stop, cols.start, cols.stop] if len(rows) and len(cols) else None
    try:
        gray_face = cv2.resize(gray_face, (64, 64))
    except Exception:
        return rect, None
    return rect, gray_face


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(2026)
    manifest = {"grey": [], "resize": [], "crops": []}
    count = [0]

    def save(array):
        count[0] += 1
        name = f"a{count[0]}.u8"
        np.ascontiguousarray(array, dtype=np.uint8).tofile(os.path.join(out_dir, name))
        return name

    for h, w in [(1, 1), (3, 7), (64, 64), (97, 131), (480, 640)]:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        manifest["grey"].append({"file": save(rgb), "h": h, "w": w,
                                 "expected": save(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))})

    sizes = [(1, 1), (1, 9), (9, 1), (2, 2), (5, 3), (30, 30), (63, 65), (64, 64), (65, 64), (100, 100),
             (128, 128), (128, 130), (127, 128), (129, 129), (192, 192), (200, 150), (256, 256), (333, 97),
             (700, 640)]
    outs = [(64, 64), (64, 64), (37, 50), (1, 1), (200, 3)]
    for i, (h, w) in enumerate(sizes):
        for out_h, out_w in (outs if i % 3 == 0 else outs[:2]):
            grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
            if (h + w) % 2:  # smooth content too, not only noise
                yy, xx = np.mgrid[0:h, 0:w]
                grey = np.clip(128 + 120 * np.sin(xx / 5.0 + yy / 9.0), 0, 255).astype(np.uint8)
            manifest["resize"].append({"file": save(grey), "h": h, "w": w, "out_h": out_h, "out_w": out_w,
                                       "expected": save(cv2.resize(grey, (out_w, out_h)))})

    def add_crop(rgb, box):
        box = [float(np.float32(v)) for v in box]
        rect, crop = fer_crop(rgb, np.asarray(box, dtype=np.float32))
        manifest["crops"].append({"file": save(rgb), "h": rgb.shape[0], "w": rgb.shape[1], "box": box,
                                  "rect": rect, "expected": None if crop is None else save(crop)})

    for h, w in [(240, 320), (120, 90), (481, 353), (50, 50), (1, 40), (33, 1)]:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for _ in range(12):
            cx, cy = rng.uniform(-0.2, 1.2) * w, rng.uniform(-0.2, 1.2) * h
            bw, bh = rng.uniform(1, 0.8 * max(w, h)), rng.uniform(1, 0.8 * max(w, h))
            add_crop(rgb, [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
        # Exact sizes: a 44-px face makes a 64-px crop (identity), 108 px a 128-px one (2x).
        add_crop(rgb, [w * 0.3, h * 0.3, w * 0.3 + 44.5, h * 0.3 + 44.9])
        add_crop(rgb, [w * 0.2, h * 0.2, w * 0.2 + 108, h * 0.2 + 108])
        add_crop(rgb, [-3.7, -2.2, w + 5.5, h + 3.1])  # negative corners truncate toward zero
        add_crop(rgb, [w + 200.0, h + 200.0, w + 260.0, h + 260.0])  # nothing left after slicing
    # The border value: cv2.mean of the last two rows exactly halfway between two integers
    # (it multiplies by 1 / count), for widths where that and sum / count round apart.
    for w in [5, 25, 49, 75, 99, 101, 125]:
        n = 2 * w
        for k in range(40, 255, 53):
            rgb = rng.integers(0, 256, (60, w, 3), dtype=np.uint8)
            target = n * k + n // 2  # mean k + 0.5
            bottom = np.full(n, k, dtype=np.int64)
            bottom[: n // 2] += 1  # grey values k and k + 1: all three channels equal
            assert bottom.sum() == target
            rgb[-2:] = bottom.reshape(2, w, 1).astype(np.uint8)
            add_crop(rgb, [-30.0, -30.0, w * 0.5, 40.0])  # reaches into the padding
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
