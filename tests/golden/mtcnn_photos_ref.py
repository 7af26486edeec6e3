"""Reference detections of facenet-pytorch 2.6.0's own MTCNN on photographs of people
shipped in the insightface 2.1 wheel (kept, not installed, in .venv/wheels by
tools/setup.sh), for tests/nets/test_mtcnn_photos.cpp.

Usage: mtcnn_photos_ref.py OUT_DIR WHEEL

Images (decoded by PIL from the wheel's insightface/data/images/, u8 RGB written raw as
<name>.rgb, [h, w, 3]):
  group              t1.jpg, a group photograph, 1280 x 886: many faces of many sizes
  group_half         the same resized by PIL to 640 x 443 (bilinear)
  group_cut          its left 500 columns and top 400 rows: faces cut by both edges
  portrait           Tom_Hanks_54745.png, an aligned 112 x 112 face filling the image
  masked             mask_white.jpg, 680 x 366: faces behind masks
The manifest has mtcnn_ref.py's format: {"data_dir", "images": [{name, file, h, w,
boxes, probs, landmarks, counts {pnet, rnet}}]} from MTCNN(keep_all=True,
select_largest=False).detect(image, landmarks=True), boxes by descending probability.
"""
import io
import json
import os
import sys
import zipfile

import numpy as np
from PIL import Image

import facenet_pytorch
from facenet_pytorch import MTCNN

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtcnn_ref import Counting  # noqa: E402


def images(wheel):
    with zipfile.ZipFile(wheel) as z:
        def read(name):
            return Image.open(io.BytesIO(z.read("insightface/data/images/" + name))).convert("RGB")
        group = read("t1.jpg")
        full = np.asarray(group)
        return {
            "group": full,
            "group_half": np.asarray(group.resize((640, 443), Image.BILINEAR)),
            "group_cut": full[0:400, 0:500],
            "portrait": np.asarray(read("Tom_Hanks_54745.png")),
            "masked": np.asarray(read("mask_white.jpg")),
        }


def main(out_dir, wheel):
    os.makedirs(out_dir, exist_ok=True)
    mtcnn = MTCNN(keep_all=True, select_largest=False, device="cpu")
    mtcnn.rnet = Counting(mtcnn.rnet)
    mtcnn.onet = Counting(mtcnn.onet)
    manifest = {"data_dir": os.path.join(os.path.dirname(facenet_pytorch.__file__), "data"), "images": []}
    for name, img in images(wheel).items():
        img = np.ascontiguousarray(img)
        img.tofile(os.path.join(out_dir, name + ".rgb"))
        mtcnn.rnet.rows = mtcnn.onet.rows = 0
        boxes, probs, points = mtcnn.detect(Image.fromarray(img), landmarks=True)
        entry = {"name": name, "file": name + ".rgb", "h": img.shape[0], "w": img.shape[1],
                 "boxes": [], "probs": [], "landmarks": [],
                 "counts": {"pnet": mtcnn.rnet.rows, "rnet": mtcnn.onet.rows}}
        if boxes is not None:
            entry["boxes"] = np.asarray(boxes, dtype=np.float64).tolist()
            entry["probs"] = np.asarray(probs, dtype=np.float64).tolist()
            entry["landmarks"] = np.asarray(points, dtype=np.float64).tolist()
        manifest["images"].append(entry)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
