"""numpy reference for the input normalisation statistics (nets/input_normalisation.h).

Usage: input_normalisation_ref.py FEATURES_DIR LABELS_CSV OUT.json VIDEO [VIDEO ...]
Reads the raw feature files of the given (training) videos with the safetensors
package, shows each labelled 5-s segment as the model sees it (DESIGN section 4: at
30-fps tick t, or 120-Hz MFCC tick t, the latest native row at or before it; for a video
at fps rows per second that is row floor(t / 30 * fps), and the same expression for
MFCC's 4 rows per frame), and writes per feature the float64 mean and population
standard deviation (numpy.mean / numpy.std, ddof 0) of every such row: per element for
googlenet, places365, affect and mfcc, over all 196 values of a row for cam, and of the
one value for faces.
"""
import csv
import json
import sys
from fractions import Fraction

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open

FEATURES = ["googlenet", "places365", "affect", "cam", "faces", "mfcc"]


def main():
    features_dir, labels_csv, out_path, videos = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    segments = {}
    with open(labels_csv) as f:
        for row in csv.DictReader(f):
            segments[row["video"]] = max(segments.get(row["video"], 0), int(row["segment"]) + 1)
    gathered = {name: [] for name in FEATURES}
    for video in videos:
        path = f"{features_dir}/{video}.safetensors"
        with safe_open(path, "np") as f:
            fps = Fraction(f.metadata()["fps"])
        tensors = load_file(path)
        for name in FEATURES:
            x = tensors[name].astype(np.float64)
            per_frame = 4 if name == "mfcc" else 1
            ticks = np.arange(segments[video] * 150 * per_frame, dtype=np.int64)
            rows = np.minimum(ticks * fps.numerator // (30 * fps.denominator), x.shape[0] - 1)
            gathered[name].append(x[rows])
    out = {}
    for name in FEATURES:
        x = np.concatenate(gathered[name])
        x = x.reshape(-1, 1) if name in ("cam", "faces") else x.reshape(x.shape[0], -1)
        out[name] = {"mean": x.mean(axis=0).tolist(), "std": x.std(axis=0).tolist(), "rows": int(x.shape[0])}
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
