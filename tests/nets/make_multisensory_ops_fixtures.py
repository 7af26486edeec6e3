#!/usr/bin/env python3
"""Writes tests/nets/multisensory_fixtures/ops.json: TensorFlow's own outputs for the
ops the Multisensory network needs, on small odd sizes, for tests/nets/
test_multisensory_ops.cpp.

  conv3d      tf.nn.conv3d NDHWC, "SAME" and "VALID", strides 1 and 2 (TF's SAME puts the
              odd pad at the end), with the kernels of the publisher's im/conv1 shape
              family ([kd, kh, kw, in, out]) made small.
  conv_time   tf.nn.conv2d on [B, N, 1, C] with a [k, 1] kernel, stride [4, 1], "SAME"
              (the audio convs of sf/*).
  maxpool3d   tf.nn.max_pool3d [1, 3, 3] stride [1, 2, 2] "SAME" (after im/conv1).
  maxpool_time tf.nn.max_pool2d [4, 1] stride [4, 1] "VALID" (after sf/conv1_1).
  mu_law      the publisher's normalize_sfs: sign(x) log(1 + 255|x|) / log(256).
  fractional  tf.compat.v1.nn.fractional_max_pool on [1, 86, 1, 3] and [1, 44, 1, 3] with
              the ratio merge() uses, (n - 1) / n_out, for pseudo_random True and False,
              deterministic=True, seed=1, seed2=2: TensorFlow's row pooling sequence and
              output. (The publisher calls it with the defaults, deterministic=False:
              random windows at every run; a deterministic choice is ours to make.)

Needs TensorFlow (tensorflow-cpu, numpy<2), never in CI:
    /work/tfvenv/bin/python tests/nets/make_multisensory_ops_fixtures.py
"""
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "multisensory_fixtures" / "ops.json"


def flat(a):
    # 9 significant digits name every float32 exactly, in fewer bytes than its double's repr.
    return [float("%.9g" % v) for v in np.asarray(a, np.float32).reshape(-1)]


def main():
    rng = np.random.default_rng(20261207)
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    cases = {"conv3d": [], "conv_time": [], "maxpool3d": [], "maxpool_time": [], "fractional": []}
    for shape, kernel, strides, padding in [
        ([1, 5, 9, 11, 2], [3, 5, 5, 2, 3], [2, 2, 2], "SAME"),
        ([2, 4, 7, 6, 3], [3, 3, 3, 3, 2], [1, 1, 1], "SAME"),
        ([1, 6, 8, 7, 2], [3, 3, 3, 2, 4], [2, 2, 2], "SAME"),
        ([1, 3, 5, 5, 4], [1, 1, 1, 4, 1], [1, 1, 1], "SAME"),
        ([1, 5, 9, 8, 2], [2, 3, 3, 2, 2], [1, 2, 2], "VALID"),
    ]:
        x, w = r(*shape), r(*kernel) * 0.3
        y = tf.nn.conv3d(x, w, [1] + strides + [1], padding).numpy()
        cases["conv3d"].append({"x_shape": shape, "x": flat(x), "w_shape": kernel, "w": flat(w),
                                "strides": strides, "padding": padding, "y_shape": list(y.shape), "y": flat(y)})
    for n, k, c_in, c_out in [(37, 9, 2, 3), (50, 15, 3, 2), (23, 65, 2, 2)]:
        x, w = r(1, n, 1, c_in), r(k, 1, c_in, c_out) * 0.3
        y = tf.nn.conv2d(x, w, [1, 4, 1, 1], "SAME").numpy()
        cases["conv_time"].append({"x_shape": [1, n, 1, c_in], "x": flat(x), "w_shape": [k, 1, c_in, c_out],
                                   "w": flat(w), "stride": 4, "y_shape": list(y.shape), "y": flat(y)})
    for shape in [[1, 3, 7, 9, 2], [2, 2, 8, 5, 3]]:
        x = r(*shape)
        y = tf.nn.max_pool3d(x, [1, 1, 3, 3, 1], [1, 1, 2, 2, 1], "SAME").numpy()
        cases["maxpool3d"].append({"x_shape": shape, "x": flat(x), "y_shape": list(y.shape), "y": flat(y)})
    for n in [23, 24, 9]:
        x = r(1, n, 1, 3)
        y = tf.nn.max_pool2d(x, [4, 1], [4, 1], "VALID").numpy()
        cases["maxpool_time"].append({"x_shape": [1, n, 1, 3], "x": flat(x), "y_shape": list(y.shape), "y": flat(y)})
    mu_x = np.array([-1.0, -0.5, -1e-4, 0.0, 1e-6, 0.01, 0.3, 0.999, 1.0], np.float32)
    mu_y = (tf.sign(mu_x) * (tf.math.log(1 + 255.0 * tf.abs(mu_x)) / tf.math.log(256.0))).numpy()
    cases["mu_law"] = {"x": flat(mu_x), "y": flat(mu_y)}
    for n, n_out in [(86, 32), (44, 16)]:
        x = r(1, n, 1, 3)
        ratio = [1.0, float(n - 1) / n_out, 1.0, 1.0]
        for pseudo in [True, False]:
            runs = [tf.compat.v1.nn.fractional_max_pool(x, ratio, pseudo_random=pseudo, overlapping=False,
                                                        deterministic=True, seed=1, seed2=2) for _ in range(2)]
            assert all((a.numpy() == b.numpy()).all() for a, b in zip(runs[0], runs[1])), "not deterministic"
            y, rows, cols = runs[0]
            cases["fractional"].append({"x_shape": [1, n, 1, 3], "x": flat(x), "ratio": ratio[1],
                                        "pseudo_random": pseudo, "rows": [int(v) for v in rows.numpy()],
                                        "cols": [int(v) for v in cols.numpy()], "y_shape": list(y.shape),
                                        "y": flat(y)})
    with open(OUT, "w") as f:
        json.dump(cases, f)
        f.write("\n")
    for c in cases["fractional"]:
        print(c["x_shape"][1], "pseudo_random" if c["pseudo_random"] else "random", c["rows"])


if __name__ == "__main__":
    main()
