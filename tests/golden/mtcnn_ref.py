"""Reference detections of facenet-pytorch 2.6.0's own MTCNN (its published weights, its
detect_face), for tests/nets/test_mtcnn_golden.cpp.

Usage: mtcnn_ref.py OUT_DIR

Images (u8 RGB, written raw as <name>.rgb, [h, w, 3]):
  astronaut          scikit-image's astronaut photograph, 512 x 512
  astronaut_small    the same resized by PIL to 300 x 300
  astronaut_wide     resized to 384 x 256 (w x h): a non-square pyramid
  astronaut_large    resized to 700 x 700 (more pyramid levels)
  face_cut_left      the astronaut cropped so the face is cut by the left edge
  face_cut_top       ... and by the top edge
  two_faces          two heads side by side, the second mirrored
  coffee             scikit-image's coffee cup (no face)
  chelsea            scikit-image's cat
  rocket             scikit-image's rocket (no face)
  frame0..frame2     frames of a generated video: the astronaut's head moving and
                     shrinking over a colour gradient, with per-pixel noise
For each, MTCNN(keep_all=True, select_largest=False).detect(image, landmarks=True) gives
the boxes (by descending probability), the probabilities and the landmarks; wrapping
R-Net and O-Net counts the boxes that reach them (what P-Net and R-Net passed on).

area: F.interpolate(mode='area') of random u8 images to several sizes (down, up, odd
ratios, windows so large that f32 sums round) after (x - 127.5) * 0.0078125, as detect_face's imresample does.

manifest.json: {"data_dir": the package's data folder (pnet.pt, rnet.pt, onet.pt),
"images": [{name, file, h, w, boxes [n][4], probs [n], landmarks [n][5][2],
counts {pnet, rnet}}], "area": [{file_x, h, w, out_h, out_w, file_y}]}.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from skimage import data

import facenet_pytorch
from facenet_pytorch import MTCNN


def mirrored_small(img):
    """img mirrored, shrunk to 2/3 and centred on mid-grey, same size."""
    h, w = img.shape[:2]
    small = np.asarray(Image.fromarray(np.ascontiguousarray(img[:, ::-1])).resize((w * 2 // 3, h * 2 // 3)))
    out = np.full_like(img, 128)
    top, left = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return out


def images():
    astro = data.astronaut()
    pil = Image.fromarray(astro)
    out = {
        "astronaut": astro,
        "astronaut_small": np.asarray(pil.resize((300, 300), Image.BILINEAR)),
        "astronaut_wide": np.asarray(pil.resize((384, 256), Image.BILINEAR)),
        "astronaut_large": np.asarray(pil.resize((700, 700), Image.BILINEAR)),
        "face_cut_left": astro[0:330, 215:512],
        "face_cut_top": astro[100:400, 120:420],
        # Two faces side by side (the second mirrored and smaller): NMS keeps both.
        "two_faces": np.concatenate([astro[0:300, 90:390], mirrored_small(astro[0:300, 90:390])], axis=1),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
    }
    # A generated video: the head region moving and shrinking over a gradient.
    rng = np.random.default_rng(7)
    head = pil.crop((150, 30, 300, 210))  # w 150, h 180
    for t in range(3):
        h, w = 360, 640
        yy, xx = np.mgrid[0:h, 0:w]
        frame = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy + 60 * t) % 256)], axis=-1).astype(np.uint8)
        size = (150 - 30 * t, 180 - 36 * t)
        patch = np.asarray(head.resize(size, Image.BILINEAR))
        top, left = 60 + 40 * t, 100 + 150 * t
        frame[top:top + size[1], left:left + size[0]] = patch
        noise = rng.integers(-6, 7, size=frame.shape)
        out[f"frame{t}"] = np.clip(frame.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    return out


class Counting(torch.nn.Module):
    """Wraps a net, counting the rows it is given (detect_face may batch them)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.rows = 0

    def forward(self, x):
        self.rows += x.shape[0]
        return self.net(x)


def main(out_dir):
    # select_largest=False keeps detect_face's own order (by probability, as ours).
    mtcnn = MTCNN(keep_all=True, select_largest=False, device="cpu")
    mtcnn.rnet = Counting(mtcnn.rnet)
    mtcnn.onet = Counting(mtcnn.onet)
    manifest = {"data_dir": os.path.join(os.path.dirname(facenet_pytorch.__file__), "data"), "images": [], "area": []}
    for name, img in images().items():
        img = np.ascontiguousarray(img)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
        with open(os.path.join(out_dir, name + ".rgb"), "wb") as f:
            f.write(img.tobytes())
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

    g = torch.Generator().manual_seed(3)
    for i, (h, w, oh, ow) in enumerate([(37, 53, 24, 24), (11, 9, 24, 24), (100, 61, 48, 48), (512, 512, 308, 308),
                                        (719, 1279, 432, 768), (30, 30, 30, 30),
                                        (1000, 900, 2, 2)]):  # windows of 500 x 450 pixels: sums beyond 2^24
        x = torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8)
        y = F.interpolate(x.permute(2, 0, 1).unsqueeze(0).float(), size=(oh, ow), mode="area")
        y = ((y - 127.5) * 0.0078125)[0].permute(1, 2, 0).contiguous()
        x.numpy().tofile(os.path.join(out_dir, f"area{i}_x.rgb"))
        y.numpy().astype("<f4").tofile(os.path.join(out_dir, f"area{i}_y.bin"))
        manifest["area"].append({"file_x": f"area{i}_x.rgb", "h": h, "w": w, "out_h": oh, "out_w": ow,
                                 "file_y": f"area{i}_y.bin"})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
