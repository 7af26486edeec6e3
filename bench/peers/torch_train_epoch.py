"""PyTorch (Debian python3-torch) peer of bench/bench_train_epoch.cpp: one training epoch
of the all-feature highlight model over 5,000 segments of 150 frames — shuffled, batches
of 300 (the last holds 200), forward with dropout on, CCC loss, backward, Adam (lr 1e-3,
eps 1e-7), zero_grad. The model is bench/peers/torch_train_step.py's TrainingModel
(tests/golden/model_ref.py's layers plus the paper's dropout; no recurrent dropout, which
nn.LSTM lacks: slightly less work than ours).

Data, in memory (ours reads memory-mapped feature files through SegmentDataset): like
ours, 10 distinct videos of 252 s at 29.97 fps whose native rows are held in one f32
tensor per feature, each video standing for 10 of the 100 videos of 50 segments; a
batch is gathered with index_select at each segment's held rows (the latest native row
at or before each 30-fps tick; 600 MFCC rows) and standardised per channel,
(x - mean) / max(std, 1e-3), as ours is. Random values (the timing does not depend on them).

Written as Google Benchmark-style JSON under the C++ name. Usage:
torch_train_epoch.py OUT.json [--threads N]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
import model_ref  # noqa: E402
import torch_train_step  # noqa: E402

DISTINCT, COPIES, SEGMENTS, BATCH, FRAMES = 10, 10, 50, 300, 150
FPS_NUM, FPS_DEN, SECONDS = 30000, 1001, 252
ROW_SHAPES = {"googlenet": (1024,), "places365": (2048,), "affect": (128,), "cam": (14, 14), "faces": (1,),
              "mfcc": (13,)}
NAME = "BM_train_epoch/iterations:1/repeats:1/real_time"


def make_data(gen):
    """Per feature: all native rows [rows, ...] and per segment the indices of its held rows."""
    frames = SECONDS * FPS_NUM // FPS_DEN
    data, index = {}, {}
    for name, shape in ROW_SHAPES.items():
        per_frame = 4 if name == "mfcc" else 1
        rows = frames * per_frame
        data[name] = torch.randn(DISTINCT * rows, *shape, generator=gen)
        ticks = torch.arange(SEGMENTS * FRAMES * per_frame, dtype=torch.int64)
        held = torch.clamp(ticks * FPS_NUM // (FPS_DEN * 30), max=rows - 1).reshape(SEGMENTS, FRAMES * per_frame)
        # segment (video v, copy c, segment s) -> rows of distinct video v
        per_video = [held + v * rows for v in range(DISTINCT)]
        index[name] = torch.stack([per_video[v][s] for v in range(DISTINCT) for _ in range(COPIES)
                                   for s in range(SEGMENTS)])
        assert index[name].shape[0] == DISTINCT * COPIES * SEGMENTS
    stats = {n: (t.reshape(t.shape[0], -1).mean(0) if n not in ("cam", "faces") else t.mean().reshape(1),
                 torch.clamp(t.reshape(t.shape[0], -1).std(0) if n not in ("cam", "faces") else t.std().reshape(1),
                             min=1e-3))
             for n, t in data.items()}
    labels = torch.rand(DISTINCT * COPIES * SEGMENTS, generator=gen) * 2
    return data, index, stats, labels


def batch(data, index, stats, idx):
    out = {}
    for name, rows in data.items():
        sel = index[name][idx].reshape(-1)
        x = rows.index_select(0, sel)
        mean, std = stats[name]
        flat = x.reshape(x.shape[0], -1)
        flat = (flat - mean) / std  # cam and faces: one scalar each, broadcast
        out[name] = flat.reshape(len(idx), -1, *ROW_SHAPES[name]) if name != "faces" else flat.reshape(len(idx), -1, 1)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(1)
    data, index, stats, labels = make_data(gen)
    params = {k: (torch.rand(*s, generator=gen) * 2 - 1) * 0.1 for k, s in torch_train_step.SHAPES.items()}
    model = torch_train_step.TrainingModel(params, torch_train_step.HIDDEN)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    adam = torch.optim.Adam(trainable, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n = labels.shape[0]
    t0 = time.perf_counter()
    order = torch.randperm(n, generator=gen)
    for start in range(0, n, BATCH):
        idx = order[start:start + BATCH]
        x = batch(data, index, stats, idx)
        loss = model_ref.ccc_loss(model(x), labels[idx])
        loss.backward()
        adam.step()
        adam.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - t0
    out = {"context": {"peer": "torch " + torch.__version__, "threads": torch.get_num_threads()},
           "benchmarks": [{"name": NAME, "real_time": seconds, "time_unit": "s", "segments_per_s": n / seconds}]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
