"""PyTorch (Debian python3-torch) peer of bench/bench_train_step.cpp: the paper's
training step for the all-feature highlight model — forward with dropout on, CCC loss,
backward, Adam (lr 1e-3, eps 1e-7), zero_grad — on one batch of B segments of 150 frames
with random inputs of the real shapes. The model is tests/golden/model_ref.py's
(nn.Linear, Conv2d, Conv1d, bidirectional batch-first nn.LSTM with bias_hh frozen at 0,
channels-last inputs transposed for the convolutions), with the paper's dropout added:
0.5 after each dense encoder and in the head, 0.2 on the LSTM input.

One difference, forced by nn.LSTM: it has no recurrent dropout (Keras's
recurrent_dropout, which our model applies with rate 0.2), and one input mask
[B, 1, 385] fixed over time is shared by both directions (ours draws one per
direction). Writing the recurrent dropout in PyTorch means a Python loop over 150 steps
instead of nn.LSTM's fused kernel, which would only make the peer slower; this peer
leaves it out and so does slightly less work than ours.

Written as Google Benchmark-style JSON (median of repeated steps) under the C++ names
BM_train_step/<B>, and BM_train_step_ftz/<B> with torch.set_flush_denormal(True). Usage: torch_train_step.py OUT.json [--threads N] [--batches 32,300]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
import model_ref  # noqa: E402

FRAMES, HIDDEN = 150, 20

# Our parameter names and layouts (docs/model.md), as model_ref.HighlightModel reads them.
SHAPES = {
    "googlenet.dense.kernel": (1024, 64), "googlenet.dense.bias": (64,),
    "places365.dense.kernel": (2048, 64), "places365.dense.bias": (64,),
    "affect.dense.kernel": (128, 64), "affect.dense.bias": (64,),
    "cam.conv.kernel": (14, 14, 1, 64), "cam.conv.bias": (64,),
    "cam.dense.kernel": (64, 64), "cam.dense.bias": (64,),
    "mfcc.conv1.kernel": (3, 13, 64), "mfcc.conv1.bias": (64,),
    "mfcc.conv2.kernel": (3, 64, 128), "mfcc.conv2.bias": (128,),
    "bilstm.forward.kernel": (385, 4 * HIDDEN), "bilstm.forward.recurrent_kernel": (HIDDEN, 4 * HIDDEN),
    "bilstm.forward.bias": (4 * HIDDEN,),
    "bilstm.backward.kernel": (385, 4 * HIDDEN), "bilstm.backward.recurrent_kernel": (HIDDEN, 4 * HIDDEN),
    "bilstm.backward.bias": (4 * HIDDEN,),
    "head.dense1.kernel": (2 * HIDDEN, HIDDEN), "head.dense1.bias": (HIDDEN,),
    "head.dense2.kernel": (HIDDEN, 1), "head.dense2.bias": (1,),
}


class TrainingModel(model_ref.HighlightModel):
    """model_ref's model with the paper's dropout (training mode)."""

    def forward(self, x):
        b, t = x["googlenet"].shape[:2]
        drop = lambda v, p: F.dropout(v, p, self.training)
        enc = [
            drop(F.relu(self.googlenet(x["googlenet"])), 0.5),
            drop(F.relu(self.places365(x["places365"])), 0.5),
            drop(F.relu(self.affect(x["affect"])), 0.5),
            drop(F.relu(self.cam_dense(self.cam_conv(x["cam"].reshape(b * t, 1, 14, 14)).reshape(b, t, 64))), 0.5),
            x["faces"],
        ]
        m = x["mfcc"].transpose(1, 2)
        m = F.max_pool1d(F.relu(self.mfcc_conv1(m)), 2)
        m = F.max_pool1d(F.relu(self.mfcc_conv2(m)), 2)
        enc.append(m.transpose(1, 2))
        h = torch.cat(enc, 2)
        if self.training:  # input dropout, one mask per sequence fixed over time
            h = h * (torch.rand(b, 1, h.shape[2]) >= 0.2).to(h.dtype) / 0.8
        _, (h_n, _) = self.lstm(h)
        states = torch.cat([h_n[0], h_n[1]], 1)
        return self.head2(drop(F.relu(self.head1(states)), 0.5)).reshape(b)


def timeit(fn, min_time=0.3, min_runs=5):
    fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < min_runs:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def step_fn(batch):
    gen = torch.Generator().manual_seed(1)
    params = {k: (torch.rand(*s, generator=gen) * 2 - 1) * 0.1 for k, s in SHAPES.items()}
    model = TrainingModel(params, HIDDEN)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert sum(p.numel() for p in trainable) == 314825
    adam = torch.optim.Adam(trainable, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    u = lambda *s: torch.rand(*s, generator=gen)
    n = lambda *s: torch.randn(*s, generator=gen)
    x = {"googlenet": u(batch, FRAMES, 1024) * 2, "places365": u(batch, FRAMES, 2048) * 2,
         "affect": n(batch, FRAMES, 128), "cam": u(batch, FRAMES, 14, 14), "faces": u(batch, FRAMES, 1) * 0.3,
         "mfcc": n(batch, 4 * FRAMES, 13) * 5}
    y = u(batch) * 2

    def step():
        loss = model_ref.ccc_loss(model(x), y)
        loss.backward()
        adam.step()
        adam.zero_grad(set_to_none=True)
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batches", default="32,300")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for ftz in (False, True):  # BM_train_step_ftz: denormals flushed (see bench_train_step.cpp)
        torch.set_flush_denormal(ftz)
        for batch in (int(b) for b in args.batches.split(",")):
            name = "BM_train_step%s/%d" % ("_ftz" if ftz else "", batch)
            rows.append((name, timeit(step_fn(batch), min_time=1.0, min_runs=3)))
    torch.set_flush_denormal(False)
    out = {"context": {"peer": "torch " + torch.__version__, "threads": torch.get_num_threads()},
           "benchmarks": [{"name": name, "real_time": t * 1e9, "time_unit": "ns"} for name, t in rows]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
