#!/usr/bin/env python3
"""Writes the Multisensory checkpoint fixtures of tests/nets/multisensory_fixtures/.

A width-reduced Multisensory network (every channel count of the publisher's make_net in
andrewowens/multisensory src/shift_net.py divided by WIDTH_DIVISOR = 32; kernel sizes as
published) saved by TensorFlow itself with tf.compat.v1.train.Saver (V2 bundle, as the
published nets/cam/net.tf-675000 was written) under the publisher's slim variable names:

  conv + BatchNorm (slim.conv2d / slim.convolution with normalizer_fn=slim.batch_norm,
  scale=False): <scope>/weights, <scope>/BatchNorm/{beta, moving_mean, moving_variance};
  the 3-D convs' BatchNorm also has renorm statistics (arg_scope renorm=True for
  slim.convolution, renorm=False for slim.conv2d)
  conv without BatchNorm (<block>_2, im/merge2, joint/logits): <scope>/weights, <scope>/biases
  stand-alone block BatchNorm (<block>_bn, im/merge_block_bn, renorm=True):
  <scope>/{beta, moving_mean, moving_variance, renorm_mean, renorm_mean_weight,
  renorm_stddev, renorm_stddev_weight}
  plus global_step and a few Momentum optimizer slots, which a converter must ignore.

The variables are created by name (tf.compat.v1.Variable) rather than by running the
slim graph, because tf-slim is not in this environment; the list mirrors make_net,
block2 and block3 line by line (see LAYERS).

Next to the checkpoint, <name>.expected.json holds what hl-convert multisensory-cam must
write, computed here with numpy in float64 from the values TensorFlow reads back: per
our tensor its shape, sum and sum of squares, and all values for a few tensors.
BatchNorm folding (publisher: epsilon 0.001, no gamma):
  a = 1 / sqrt(moving_variance + 0.001); weight = w * a[out]; bias = beta - moving_mean * a
  stand-alone BatchNorm: scale = a, shift = beta - moving_mean * a.

broken: the same checkpoint with im/conv3_1_2/biases missing, an unexpected
im/extra/weights, joint/logits/weights of a wrong shape and sf/conv1_1/BatchNorm/beta
stored as float64.

Needs TensorFlow (PyPI tensorflow-cpu, numpy<2), never in CI:
    /work/tfvenv/bin/python tests/nets/make_multisensory_fixtures.py
"""
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
OUT = pathlib.Path(os.environ.get("HL_MS_OUT", pathlib.Path(__file__).resolve().parent / "multisensory_fixtures"))
# HL_MS_WIDTH_DIVISOR=1 HL_MS_OUT=/tmp/ms makes a full-width checkpoint (58 MB, not
# committed) for the manual full-size check in test_multisensory_net.cpp.
WIDTH_DIVISOR = int(os.environ.get("HL_MS_WIDTH_DIVISOR", "32"))
EPS = 0.001


def w(n):
    return n // WIDTH_DIVISOR


# (kind, scope, kernel shape, renorm) in make_net's order.  kind: "bn" conv + BatchNorm,
# "bias" conv + biases, "block_bn" stand-alone BatchNorm (kernel shape = [channels]).
LAYERS = []


def conv_bn(scope, kernel, renorm):
    LAYERS.append(("bn", scope, kernel, renorm))


def conv_bias(scope, kernel):
    LAYERS.append(("bias", scope, kernel, False))


def block2(scope, c_in, nf, k):
    # every audio block has stride 4: a 1x1 conv shortcut when the width changes, else max-pool
    if c_in != nf:
        conv_bn(scope + "_short", [1, 1, c_in, nf], False)
    conv_bn(scope + "_1", [k, 1, c_in, nf], False)
    conv_bias(scope + "_2", [k, 1, nf, nf])
    LAYERS.append(("block_bn", scope + "_bn", [nf], True))


def block3(scope, c_in, nf, strided):
    # shortcut: identity (stride 1) or pool3d (strided) when the width stays, else a 1x1x1 conv
    if c_in != nf:
        conv_bn(scope + "_short", [1, 1, 1, c_in, nf], True)
    conv_bn(scope + "_1", [3, 3, 3, c_in, nf], True)
    conv_bias(scope + "_2", [3, 3, 3, nf, nf])
    LAYERS.append(("block_bn", scope + "_bn", [nf], True))


conv_bn("sf/conv1_1", [65, 1, 2, w(64)], False)
block2("sf/conv2_1", w(64), w(128), 15)
block2("sf/conv3_1", w(128), w(128), 15)  # same width, stride 4: max-pool shortcut, no _short
block2("sf/conv4_1", w(128), w(256), 15)
conv_bn("im/conv1", [5, 7, 7, 3, w(64)], True)
block3("im/conv2_1", w(64), w(64), False)
block3("im/conv2_2", w(64), w(64), True)  # pool3d shortcut
conv_bn("sf/conv5_1", [3, 1, w(256), w(128)], False)
conv_bn("im/merge1", [1, 1, 1, w(64) + w(128), w(512)], True)
conv_bias("im/merge2", [1, 1, 1, w(512), w(128)])
LAYERS.append(("block_bn", "im/merge_block_bn", [w(128)], True))
block3("im/conv3_1", w(128), w(128), False)
block3("im/conv3_2", w(128), w(128), False)
block3("im/conv4_1", w(128), w(256), True)
block3("im/conv4_2", w(256), w(256), False)
block3("im/conv5_1", w(256), w(512), True)
block3("im/conv5_2", w(512), w(512), False)
conv_bias("joint/logits", [1, 1, 1, w(512), 1])


def checkpoint_values(rng):
    v = {"global_step": np.array(675000, np.int64)}
    for kind, scope, kernel, renorm in LAYERS:
        c = kernel[-1]
        bn = None
        # He-scaled like slim's variance_scaling_initializer, so that activations keep
        # their size through the 20 layers at any width.
        std = np.sqrt(2.0 / np.prod(kernel[:-1]))
        if kind == "bn":
            v[scope + "/weights"] = (rng.standard_normal(kernel) * std).astype(np.float32)
            bn = scope + "/BatchNorm/"
        elif kind == "bias":
            v[scope + "/weights"] = (rng.standard_normal(kernel) * std).astype(np.float32)
            v[scope + "/biases"] = rng.standard_normal(c).astype(np.float32)
        else:
            bn = scope + "/"
        if bn:
            v[bn + "beta"] = rng.standard_normal(c).astype(np.float32)
            v[bn + "moving_mean"] = rng.standard_normal(c).astype(np.float32)
            v[bn + "moving_variance"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
            if renorm:
                v[bn + "renorm_mean"] = rng.standard_normal(c).astype(np.float32)
                v[bn + "renorm_stddev"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
                v[bn + "renorm_mean_weight"] = np.array(rng.uniform(), np.float32)
                v[bn + "renorm_stddev_weight"] = np.array(rng.uniform(), np.float32)
    for key in ["im/conv1/weights", "sf/conv1_1/BatchNorm/beta", "joint/logits/biases"]:
        v[key + "/Momentum"] = rng.standard_normal(v[key].shape).astype(np.float32)
    return v


def save(name, values):
    tf1.reset_default_graph()
    with tf.Graph().as_default():
        variables = {k: tf1.Variable(val, name="v%d" % i) for i, (k, val) in enumerate(values.items())}
        saver = tf1.train.Saver(var_list=variables, write_version=tf1.train.SaverDef.V2)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            return saver.save(sess, str(OUT / name), write_meta_graph=False, write_state=False)


def expected(prefix):
    """Our tensors from what TensorFlow reads back, in float64."""
    r = tf.train.load_checkpoint(prefix)
    get = lambda k: r.get_tensor(k).astype(np.float64)  # noqa: E731
    ours = {}
    for kind, scope, kernel, _ in LAYERS:
        name = scope.replace("/", ".")
        if kind == "bn":
            a = 1.0 / np.sqrt(get(scope + "/BatchNorm/moving_variance") + EPS)
            ours[name + ".weight"] = get(scope + "/weights") * a
            ours[name + ".bias"] = get(scope + "/BatchNorm/beta") - get(scope + "/BatchNorm/moving_mean") * a
        elif kind == "bias":
            ours[name + ".weight"] = get(scope + "/weights")
            ours[name + ".bias"] = get(scope + "/biases")
        else:
            a = 1.0 / np.sqrt(get(scope + "/moving_variance") + EPS)
            ours[name + ".scale"] = a
            ours[name + ".shift"] = get(scope + "/beta") - get(scope + "/moving_mean") * a
    full = {"sf.conv1_1.weight", "sf.conv1_1.bias", "im.conv2_1_bn.scale", "im.conv2_1_bn.shift",
            "im.conv1.bias", "im.merge2.weight", "joint.logits.weight", "joint.logits.bias"}
    out = []
    for k, t in ours.items():
        e = {"name": k, "shape": list(t.shape), "sum": float(t.sum()), "sum_squares": float((t * t).sum())}
        if k in full:
            e["values"] = [float(x) for x in t.astype(np.float32).reshape(-1)]
        out.append(e)
    return out


def main():
    name = "cam_w%d" % WIDTH_DIVISOR
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob(name + ".*"):
        old.unlink()
    rng = np.random.default_rng(20261206)
    values = checkpoint_values(rng)
    prefix = save(name, values)
    with open(OUT / (name + ".expected.json"), "w") as f:
        json.dump({"prefix": name, "width_divisor": WIDTH_DIVISOR, "tensors": expected(prefix)}, f, indent=0)
        f.write("\n")
    if WIDTH_DIVISOR != 32:
        return

    broken = dict(values)
    del broken["im/conv3_1_2/biases"]
    broken["im/extra/weights"] = np.zeros((1, 1, 1, 2, 2), np.float32)
    broken["joint/logits/weights"] = np.zeros((1, 1, 1, w(512) + 1, 1), np.float32)
    broken["sf/conv1_1/BatchNorm/beta"] = values["sf/conv1_1/BatchNorm/beta"].astype(np.float64)
    save("broken_w32", broken)


if __name__ == "__main__":
    main()
