#!/usr/bin/env python3
"""Writes the TensorFlow V2 checkpoint fixtures of tests/weights/tf_fixtures/.

The checkpoints are saved by TensorFlow itself (tf.compat.v1.train.Saver, write_version
V2, the way the Multisensory checkpoints were written), and next to each one
`<name>.expected.json` holds what TensorFlow reads back: per tensor its dtype name,
shape and values converted to float32 by numpy (`astype(np.float32)`, round to nearest
even), written as Python floats (exact for every float32).  tests/weights/
test_tf_checkpoint.cpp compares hl's reader with these values exactly.

Needs TensorFlow (PyPI `tensorflow-cpu`), in a separate environment, never CI's:

    python3 -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu 'numpy<2'
    /tmp/tfvenv/bin/python tests/weights/make_tf_checkpoint_fixtures.py

Fixtures:
  basic       one shard; every dtype the reader converts (f32, f64, f16, bf16, int8, int16,
              int32, int64, uint8, bool), a scalar, an empty [0, 3] tensor, a 5-D conv3d
              kernel, slim-like names with slashes, and more than 16 entries so that the
              index's data block has several restart points.
  multiblock  one shard; 420 scalars with long names (~700 bytes), so that the index's
              data blocks pass TensorFlow's 256 KiB block size and the index has more than
              one data block (and the index block more than one entry).
  sharded     two shards: variables placed on two CPU devices, Saver(sharded=True).
  object      a TensorFlow 2 object-based checkpoint (tf.train.Checkpoint) with DT_STRING
              tensors (the object graph, a string variable with a 200-byte element);
              strings expected as hex.
  object_empty_text  one shard; an empty [0, 2] string tensor.
"""
import json
import os
import pathlib
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
OUT = pathlib.Path(__file__).resolve().parent / "tf_fixtures"


def json_float(x):
    """A float32 as JSON: a number (exact), or "inf", "-inf", "nan", which JSON lacks."""
    return float(x) if np.isfinite(x) else str(float(x))


def save(name, values, devices=None, sharded=False):
    """Saves {tensor name: numpy array} as checkpoint OUT/<name> and the expected JSON."""
    tf1.reset_default_graph()
    with tf.Graph().as_default():
        variables = {}
        for i, (key, value) in enumerate(values.items()):
            device = devices[i % len(devices)] if devices else "/cpu:0"
            with tf.device(device):
                variables[key] = tf1.Variable(value, name="v%d" % i)
        saver = tf1.train.Saver(var_list=variables, sharded=sharded, write_version=tf1.train.SaverDef.V2)
        config = tf1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=False)
        with tf1.Session(config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            prefix = saver.save(sess, str(OUT / name), write_meta_graph=False, write_state=False)
    # Read back with TensorFlow's own checkpoint reader: the expected values are what
    # TensorFlow reads, not what we meant to write.
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    expected = []
    for key in sorted(values):
        got = reader.get_tensor(key)
        assert got.dtype == values[key].dtype and got.shape == values[key].shape, key
        expected.append({
            "name": key,
            "dtype": dtypes[key].name,
            "shape": list(got.shape),
            "values": [json_float(x) for x in got.astype(np.float32).reshape(-1)],
        })
    with open(OUT / (name + ".expected.json"), "w") as f:
        json.dump({"prefix": name, "tensors": expected}, f, indent=0)
        f.write("\n")


def save_object(name, variables):
    """A TensorFlow 2 object-based checkpoint (tf.train.Checkpoint): names like
    "v/.ATTRIBUTES/VARIABLE_VALUE" and DT_STRING tensors, among them
    _CHECKPOINTABLE_OBJECT_GRAPH (a serialized proto)."""
    ckpt = tf.train.Checkpoint(**{k: tf.Variable(v) for k, v in variables.items()})
    prefix = ckpt.write(str(OUT / name))
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    expected = []
    for key in sorted(dtypes):
        got = np.asarray(reader.get_tensor(key))
        entry = {"name": key, "dtype": dtypes[key].name, "shape": list(shapes[key])}
        if dtypes[key] == tf.string:
            entry["strings_hex"] = [bytes(x).hex() for x in got.reshape(-1)]
        else:
            entry["values"] = [json_float(x) for x in got.astype(np.float32).reshape(-1)]
        expected.append(entry)
    with open(OUT / (name + ".expected.json"), "w") as f:
        json.dump({"prefix": name, "tensors": expected}, f, indent=0)
        f.write("\n")


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    rng = np.random.default_rng(20261206)

    basic = {
        "im/conv1/weights": rng.standard_normal((3, 3, 3, 2, 4)).astype(np.float32),  # conv3d kernel [t, h, w, in, out]
        "im/conv1/BatchNorm/moving_mean": np.array([0.5, -0.25, 1e-30, -0.0], np.float32),
        "im/conv1/BatchNorm/beta": np.array([3.4028235e38, -1.4e-45, 1.0, 2.0], np.float32),
        "global_step": np.array(675000, np.int64),
        "scalar": np.array(-1.5, np.float32),
        "empty": np.zeros((0, 3), np.float32),
        "f64/value": np.array([[1.0 / 3.0, -2.5e-310, 1e300], [2.0, 0.1, -3.5e38]], np.float64),  # 1e300 and -3.5e38 overflow f32: inf, -inf
        "f16/value": np.array([0.1, -65504.0, 6e-8], np.float16),
        "bf16/value": np.array([1.5, -3.25, 1e38], tf.bfloat16.as_numpy_dtype),
        "int8/value": np.array([-128, 0, 127], np.int8),
        "int16/value": np.array([-32768, 12345], np.int16),
        "int32/value": np.array([[-2147483648, 2147483647], [16777217, -3]], np.int32),
        "int64/value": np.array([9007199254740993, -(2**63), 2**62], np.int64),
        "uint8/value": np.array([0, 255, 7], np.uint8),
        "bool/value": np.array([True, False, True], np.bool_),
    }
    for i in range(20):  # more than one restart interval (16 entries) in the data block
        basic["sound/layer_%02d/biases" % i] = rng.standard_normal(2).astype(np.float32)
    save("basic", basic)

    filler = "abcdefghijklmnopqrstuvwxyz0123456789" * 19  # 684 bytes
    multiblock = {"scope/%04d/%s/weights" % (i, filler): np.array(float(i) + 0.5, np.float32) for i in range(420)}
    save("multiblock", multiblock)

    sharded = {
        "shard/a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "shard/b": np.array([-1.0, 2.5], np.float32),
        "shard/c": np.array(42, np.int64),
        "shard/d": np.array([0.125, 0.25, 0.375], np.float64),
    }
    save("sharded", sharded, devices=["/cpu:0", "/cpu:1"], sharded=True)

    save_object("object", {
        "text": np.array([b"ab", b"", b"xyz\x00\xff", b"q" * 200], dtype=object),  # a 2-byte varint length
        "weights": np.array([[0.5, -1.0], [2.0, 4.0]], np.float32),
    })
    save_object("object_empty_text", {"no_text": np.zeros((0, 2), dtype=bytes), "one": np.array([b"x"])})

    for path in sorted(OUT.iterdir()):
        print("%8d  %s" % (path.stat().st_size, path.name))


if __name__ == "__main__":
    sys.exit(main())
