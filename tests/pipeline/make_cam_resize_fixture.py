#!/usr/bin/env python3
"""Writes tests/pipeline/cam_fixtures/resize.json: TensorFlow 1's tf.image.resize_images
(bilinear, align_corners=False; TF 2's tf.compat.v1.image.resize_images, which keeps the
legacy half_pixel_centers=False) of small u8 RGB images, the resize the Multisensory
publisher applies to every frame (shift_net.NetClf: ims_resize), for
tests/pipeline/test_cam_features.cpp (pipeline/cam_features.h, cam_resize_frame).

Images: pixel i of an h x w x 3 image is ((i * 2654435761) mod 2^32) >> 24, as in
tests/nets/make_multisensory_golden.py; sizes cover down- and up-scaling and odd ratios.

    /work/tfvenv/bin/python tests/pipeline/make_cam_resize_fixture.py
"""
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

CASES = [(7, 5, 4), (13, 9, 6), (5, 3, 8), (10, 16, 7), (3, 3, 3)]  # (height, width, out)


def image(h, w):
    i = np.arange(h * w * 3, dtype=np.uint64)
    return (((i * np.uint64(2654435761)) % np.uint64(2**32)) >> np.uint64(24)).astype(np.uint8).reshape(h, w, 3)


def main():
    out = []
    for h, w, o in CASES:
        im = image(h, w)
        r = tf.compat.v1.image.resize_images(tf.constant(im[None]), (o, o), method=tf.compat.v1.image.ResizeMethod.BILINEAR,
                                             align_corners=False)
        out.append({"height": h, "width": w, "out": o,
                    "resized": [float(v) for v in np.asarray(r, dtype=np.float32).reshape(-1)]})
    path = pathlib.Path(__file__).resolve().parent / "cam_fixtures" / "resize.json"
    with open(path, "w") as f:
        json.dump({"tensorflow": tf.__version__, "cases": out}, f)
    print("wrote", path)


if __name__ == "__main__":
    main()
