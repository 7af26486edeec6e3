#!/usr/bin/env python3
"""TensorFlow CPU peer of hl-bench's BM_MultisensoryCpuFullClip (bench/bench_multisensory.cpp):
seconds per full-size CAM clip (125 frames of 224x224, 87,588 stereo samples, the published
width) for the same graph hl computes.

The graph is cam_net of tests/nets/make_multisensory_golden.py (imported, not copied: the
one tests/nets/test_multisensory_net.cpp checks hl against), run as one tf.function with
the checkpoint's variables as constants (Grappler and oneDNN free to fuse and fold, TF's
best case), on the full-width random checkpoint of tests/nets/make_multisensory_fixtures.py:

    HL_MS_WIDTH_DIVISOR=1 HL_MS_OUT=DIR /work/tfvenv/bin/python tests/nets/make_multisensory_fixtures.py
    python bench/peers/multisensory_tf.py DIR --threads 1 [--reps 5]

Threads: intra- and inter-op both set to --threads (tf.config.threading, before TF starts;
one process per thread count). One warm-up clip, then --reps timed clips; prints one JSON
line {"threads", "seconds": [...], "median_s", "clips_per_s", "logit", "tf"}.

Needs TensorFlow, never in CI:  python3 -m venv DIR && DIR/bin/pip install tensorflow-cpu==2.21.0
(with numpy < 2 if the venv also holds Debian's torch; see tests/nets/make_multisensory_fixtures.py).
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time

# The golden script reads the network size from the environment at import.
os.environ["HL_MS_WIDTH_DIVISOR"] = "1"
os.environ["HL_MS_SIZE"] = "224"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="folder holding cam_w1.index / cam_w1.data-* (make_multisensory_fixtures.py)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    prefix = pathlib.Path(args.dir) / "cam_w1"
    if not pathlib.Path(str(prefix) + ".index").is_file():
        sys.exit("multisensory_tf.py: %s.index does not exist (make it with make_multisensory_fixtures.py, "
                 "HL_MS_WIDTH_DIVISOR=1 HL_MS_OUT=%s)" % (prefix, args.dir))
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "nets"))
    import make_multisensory_golden as golden

    reader = tf.train.load_checkpoint(str(prefix))
    ims, samples = golden.clip()  # the golden test's clip: [1, 125, 224, 224, 3], [1, 87588, 2]
    ims, samples = tf.constant(ims), tf.constant(samples)
    net = tf.function(lambda i, s: golden.cam_net(reader, i, s))
    cam, logit = net(ims, samples)  # traces, optimizes, warms up
    assert tuple(cam.shape) == (16, 14, 14), cam.shape
    seconds = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        cam, logit = net(ims, samples)
        float(logit[0])  # the result is materialized
        seconds.append(time.perf_counter() - t0)
    med = statistics.median(seconds)
    print(json.dumps({"threads": args.threads, "seconds": seconds, "median_s": med, "clips_per_s": 1.0 / med,
                      "logit": float(logit[0]), "tf": tf.__version__}))


if __name__ == "__main__":
    main()
