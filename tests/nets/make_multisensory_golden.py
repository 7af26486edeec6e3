#!/usr/bin/env python3
"""Writes tests/nets/multisensory_fixtures/golden_w32.json: TensorFlow's CAM and logit of
the width-reduced Multisensory CAM network (cam_w32, made by
make_multisensory_fixtures.py) for one fixed clip, for tests/nets/test_multisensory_net.cpp;
with HL_MS_NET=shift, golden_w32_shift.json for shift_v1's graph on the same variables.

The graph is make_net of andrewowens/multisensory src/shift_net.py with pr.cam = True
(im/conv5_1 spatial stride 1), written with plain tf.nn ops (tf-slim is not in this
environment) on the checkpoint's unfolded variables: each conv's BatchNorm is TensorFlow's
inference batch_normalization (epsilon 0.001, no gamma), not hl's folded form. The sound
fractional max-pool is tf.compat.v1.nn.fractional_max_pool with pseudo_random=True,
deterministic=True, seed=1, seed2=2 (the windows hl uses; the publisher's own call is
random). merge()'s shortcut takes the first and last 64 / WIDTH_DIVISOR channels.

Clip: 125 frames of 64x64 (not 224x224: the fixture stays small and the test fast; every
layer still has odd/even SAME padding cases) and 87,588 stereo samples (the full 4.2 s, so
the sound path is exactly the published one: 86 steps pooled to 32). Pixels and samples
come from an integer hash both sides compute exactly:
  pixel[i]  = ((i * 2654435761) mod 2^32) >> 24            (uint8, i over T*H*W*3)
  sample[i] = (((i * 2246822519) mod 2^32) >> 16) / 32768 - 1   (i over N*2, interleaved)
images are scaled as the publisher does: -1 + 2/255 * pixel.

    /work/tfvenv/bin/python tests/nets/make_multisensory_golden.py
"""
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

DIR = pathlib.Path(os.environ.get("HL_MS_OUT", pathlib.Path(__file__).resolve().parent / "multisensory_fixtures"))
# HL_MS_WIDTH_DIVISOR=1 HL_MS_SIZE=224 HL_MS_OUT=/tmp/ms: the full-size reference (with the
# checkpoint make_multisensory_fixtures.py writes there), not committed.
WIDTH_DIVISOR = int(os.environ.get("HL_MS_WIDTH_DIVISOR", "32"))
SIZE = int(os.environ.get("HL_MS_SIZE", "64"))
T, H, W, N = 125, SIZE, SIZE, 87588
NAME = "cam_w%d" % WIDTH_DIVISOR
# HL_MS_NET=shift: shift_v1's graph (im/conv5_1 strided [1, 2, 2]) on the same variables
# (the two nets hold the same layers), written to golden_w32_shift.json.
SHIFT = os.environ.get("HL_MS_NET", "cam") == "shift"
EPS = 0.001


def clip():
    i = np.arange(T * H * W * 3, dtype=np.uint64)
    pixels = ((i * np.uint64(2654435761)) % np.uint64(2**32)) >> np.uint64(24)
    ims = (-1.0 + (2.0 / 255.0) * pixels.astype(np.float32)).astype(np.float32).reshape(1, T, H, W, 3)
    j = np.arange(N * 2, dtype=np.uint64)
    a = (((j * np.uint64(2246822519)) % np.uint64(2**32)) >> np.uint64(16)).astype(np.float32)
    samples = (a / np.float32(32768.0) - np.float32(1.0)).astype(np.float32).reshape(1, N, 2)
    return ims, samples


def cam_net(r, ims, samples):
    """The graph: checkpoint reader r, ims [1, T, H, W, 3], samples [1, N, 2] -> (cam [steps,
    h, w], logit [1]). Eager here; bench/peers/multisensory_tf.py runs it in a tf.function."""
    v = lambda k: tf.constant(r.get_tensor(k))  # noqa: E731
    wd = lambda n: n // WIDTH_DIVISOR  # noqa: E731

    def conv(x, scope, stride, bn=True, relu=True):
        w = v(scope + "/weights")
        if len(w.shape) == 4:
            y = tf.nn.conv2d(x, w, [1] + list(stride) + [1], "SAME")
        else:
            y = tf.nn.conv3d(x, w, [1] + list(stride) + [1], "SAME")
        if bn:
            y = batch_norm(y, scope + "/BatchNorm/")
        else:
            y = y + v(scope + "/biases")
        return tf.nn.relu(y) if relu else y

    def batch_norm(x, prefix):
        return tf.nn.batch_normalization(x, v(prefix + "moving_mean"), v(prefix + "moving_variance"),
                                         v(prefix + "beta"), None, EPS)

    def block2(x, nf, scope):
        if x.shape[-1] == nf:
            short = tf.nn.max_pool2d(x, [1, 1], [4, 1], "VALID")
        else:
            short = conv(x, scope + "_short", [4, 1], relu=False)
        y = conv(x, scope + "_1", [4, 1])
        y = conv(y, scope + "_2", [1, 1], bn=False, relu=False)
        return tf.nn.relu(batch_norm(short + y, scope + "_bn/"))

    def block3(x, nf, scope, stride):
        short = x
        if stride != [1, 1, 1] and x.shape[-1] == nf:
            short = tf.nn.max_pool3d(x, [1, 1, 1], stride, "SAME")
        elif stride != [1, 1, 1] or x.shape[-1] != nf:
            short = conv(x, scope + "_short", stride, relu=False)
        y = conv(x, scope + "_1", stride)
        y = conv(y, scope + "_2", [1, 1, 1], bn=False, relu=False)
        return tf.nn.relu(batch_norm(short + y, scope + "_bn/"))

    sf = tf.sign(samples) * (tf.math.log(1 + 255.0 * tf.abs(samples)) / tf.math.log(255.0 + 1))
    sf = tf.expand_dims(sf, 2)  # [1, N, 1, 2]
    sf = conv(sf, "sf/conv1_1", [4, 1])
    sf = tf.nn.max_pool2d(sf, [4, 1], [4, 1], "VALID")
    sf = block2(sf, wd(128), "sf/conv2_1")
    sf = block2(sf, wd(128), "sf/conv3_1")
    sf = block2(sf, wd(256), "sf/conv4_1")

    im = conv(tf.convert_to_tensor(ims), "im/conv1", [2, 2, 2])
    im = tf.nn.max_pool3d(im, [1, 3, 3], [1, 2, 2], "SAME")
    im = block3(im, wd(64), "im/conv2_1", [1, 1, 1])
    im = block3(im, wd(64), "im/conv2_2", [2, 2, 2])

    n_out = im.shape[1]
    sf = tf.compat.v1.nn.fractional_max_pool(sf, [1.0, float(sf.shape[1] - 1) / n_out, 1.0, 1.0],
                                             pseudo_random=True, overlapping=False, deterministic=True,
                                             seed=1, seed2=2)[0]
    sf = conv(sf, "sf/conv5_1", [1, 1])
    sf = sf[:, :, sf.shape[2] // 2]
    sf = tf.tile(sf[:, :, None, None, :], [1, 1, im.shape[2], im.shape[3], 1])
    net = tf.concat([im, sf], 4)
    short = tf.concat([net[..., :wd(64)], net[..., -wd(64):]], 4)
    net = conv(net, "im/merge1", [1, 1, 1])
    net = conv(net, "im/merge2", [1, 1, 1], bn=False, relu=False)
    net = tf.nn.relu(batch_norm(net + short, "im/merge_block_bn/"))
    net = block3(net, wd(128), "im/conv3_1", [1, 1, 1])
    net = block3(net, wd(128), "im/conv3_2", [1, 1, 1])
    net = block3(net, wd(256), "im/conv4_1", [2, 2, 2])
    net = block3(net, wd(256), "im/conv4_2", [1, 1, 1])
    net = block3(net, wd(512), "im/conv5_1", [1, 2, 2] if SHIFT else [1, 1, 1])  # cam_v1: no spatial stride
    net = block3(net, wd(512), "im/conv5_2", [1, 1, 1])
    last_conv = net
    pooled = tf.reduce_mean(net, [1, 2, 3], keepdims=True)
    logit = conv(pooled, "joint/logits", [1, 1, 1], bn=False, relu=False)[:, 0, 0, 0, 0]
    cam = conv(last_conv, "joint/logits", [1, 1, 1], bn=False, relu=False)[0, ..., 0]
    return cam, logit


def main():
    cam, logit = cam_net(tf.train.load_checkpoint(str(DIR / NAME)), *clip())
    cam = cam.numpy()
    print("cam", cam.shape, "logit", float(logit[0]), "cam std", cam.std(), "range", cam.min(), cam.max())
    assert cam.std() > 1e-3 * max(1.0, abs(cam).max()), "degenerate CAM"
    name = "golden_w%d_%d.json" % (WIDTH_DIVISOR, SIZE) if SIZE != 64 or WIDTH_DIVISOR != 32 else "golden_w32.json"
    if SHIFT:
        name = name.replace(".json", "_shift.json")
    with open(DIR / name, "w") as f:
        json.dump({"checkpoint": NAME, "frames": T, "height": H, "width": W, "samples": N,
                   "logit": float(logit[0]), "cam_shape": list(cam.shape),
                   "cam": [float(x) for x in cam.reshape(-1)]}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
