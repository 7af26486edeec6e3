"""Reference for Kendall's tau-b between the mean annotation and labels when the means
tie only in exact arithmetic (issue 18, item 11): writes annotation files and labels.csv
and, per video, scipy.stats.kendalltau of the exact means (decimal text summed as
fractions; a mean over a fixed number of annotators orders as their sum, and tau-b
depends only on the order and the ties, so the exact sums stand in for the means).

The annotations are built so that many pairs of segments have equal means reached by
different decimals or in a different order of the annotators; 'float_order_tau' is what
a mean computed as sum(a_j / m) in file order gives (the code before the fix), and the
script checks that it differs from the exact value on some videos, so the case can
tell the two apart.

Usage: agreement_ties_ref.py OUT_DIR
  (writes OUT_DIR/annotations-<video>.csv, one per video, labels.csv and manifest.json)
"""
import json
import random
import sys
from fractions import Fraction

from scipy.stats import kendalltau

rng = random.Random(20261206)


def decimal_text(hundredths, integers):
    if integers:
        return str(hundredths // 100)
    sign = "-" if hundredths < 0 else ""
    h = abs(hundredths)
    return f"{sign}{h // 100}.{h % 100:02d}"


def video(m, n, integers):
    """ratings[j][s] as hundredths (ints), with designed exact ties between segments.
    integers: TVSum-like scores 1..5; else decimals with two places."""
    segments = []
    for s in range(n):
        kind = rng.random()
        if segments and kind < 0.35:
            # The same multiset as an earlier segment, the annotators shuffled.
            values = list(rng.choice(segments))
            rng.shuffle(values)
        elif segments and kind < 0.6:
            # The same sum as an earlier segment by other values: move d from one
            # annotator to another.
            values = list(rng.choice(segments))
            i, j = rng.sample(range(m), 2)
            d = 100 if integers else rng.choice([10, 20, 30, 5, 1])
            if integers and not (values[i] <= 400 and values[j] >= 200):
                rng.shuffle(values)
            else:
                values[i] += d
                values[j] -= d
        elif integers:
            values = [100 * rng.randint(1, 5) for _ in range(m)]
        else:
            values = [rng.choice([10, 20, 30, 100, 110, 230, 250, 300, 333, 400, 500]) for _ in range(m)]
        segments.append(values)
    return [[segments[s][j] for s in range(n)] for j in range(m)]


def main():
    out = sys.argv[1]
    ann_rows, label_rows, cases = [], [], []
    # (annotators, segments, integer scores)
    shape = [(20, 40, True), (20, 30, True), (20, 50, True), (5, 25, False), (3, 20, False), (2, 16, False),
             (20, 50, False), (7, 33, False), (10, 18, False)]
    for v, (m, n, integers) in enumerate(shape):
        vid = f"video{v}"
        r = video(m, n, integers)
        texts = [[decimal_text(x, integers) for x in row] for row in r]
        labels = [rng.choice(["0", "0.5", "1", "1.5", "2", "1.25"]) for _ in range(n)]
        for s in range(n):
            ann_rows.append(f"{vid},{s}," + ",".join(texts[j][s] for j in range(m)))
            label_rows.append(f"{vid},{s},{labels[s]}")
        exact_sums = [sum(Fraction(texts[j][s]) for j in range(m)) for s in range(n)]
        as_ints = [int(x * 100) for x in exact_sums]  # exact: every text has 2 decimals
        y = [float(t) for t in labels]
        float_mean = []
        for s in range(n):
            acc = 0.0
            for j in range(m):
                acc += float(texts[j][s]) / m
            float_mean.append(acc)
        tau = float(kendalltau(as_ints, y)[0])
        assert tau == tau, f"{vid}: tau-b is undefined (constant scores); change the seed"
        cases.append({"video": vid, "tau_b": tau,
                      "float_order_tau": float(kendalltau(float_mean, y)[0])})
    differ = sum(abs(c["tau_b"] - c["float_order_tau"]) > 1e-12 for c in cases)
    assert differ >= 2, f"only {differ} videos tell exact ties from float sums; change the seed"
    # Videos have different numbers of annotators: one annotation file each.
    for v, (m, n, integers) in enumerate(shape):
        vid = f"video{v}"
        with open(f"{out}/annotations-{vid}.csv", "w") as f:
            f.write("video,segment," + ",".join(f"a{j}" for j in range(m)) + "\n")
            f.writelines(row + "\n" for row in ann_rows if row.startswith(vid + ","))
    with open(out + "/labels.csv", "w") as f:
        f.write("video,segment,score\n")
        f.writelines(row + "\n" for row in label_rows)
    json.dump({"cases": cases, "videos_that_differ": differ}, open(out + "/manifest.json", "w"), indent=1)


if __name__ == "__main__":
    main()
