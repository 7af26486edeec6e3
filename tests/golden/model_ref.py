"""The paper's all-feature highlight model in PyTorch, trained ten steps, as a reference.

Usage: model_ref.py DIR
Reads DIR/initial.safetensors (written by hl::HighlightModel::save: our parameter names,
Keras layouts, the configuration in the metadata), builds the same model from torch.nn
layers with those weights mapped in, and trains it for ten Adam steps
(torch.optim.Adam, lr 1e-3, eps 1e-7) of CCC loss, dropout off, on ten random batches of
four segments with the real input shapes. Writes into DIR:
  manifest.json        the batches (raw f32 files + shapes), the ten losses, the scores
                       of the first forward pass
  grad0.safetensors    the gradient of every parameter at the first step (our names and layouts)
  final.safetensors    every parameter after the ten steps (our names and layouts)
  final_f64.safetensors  the same ten steps run in float64 (rounded to f32 at the end):
                       the near-exact answer that both f32 trainings approximate

Layout mapping (ours -> PyTorch): dense kernel [in, out] -> Linear.weight = kernel^T;
conv1d kernel [k, c_in, c_out] -> Conv1d.weight = permute(2, 1, 0); conv2d kernel
[kh, kw, c_in, c_out] -> Conv2d.weight = permute(3, 2, 0, 1); LSTM kernel [in, 4h] ->
weight_ih = kernel^T, recurrent [h, 4h] -> weight_hh = recurrent^T, our single bias ->
bias_ih, and bias_hh = 0 frozen (no gradient, not given to Adam). Gate order i, f, g, o
is the same in both. Inputs are channels last like ours and transposed for the convs.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file

FEATURES = ["googlenet", "places365", "affect", "cam", "faces", "mfcc"]
BATCH, FRAMES, STEPS = 4, 150, 10


def linear_from(kernel, bias):
    layer = nn.Linear(kernel.shape[0], kernel.shape[1])
    with torch.no_grad():
        layer.weight.copy_(kernel.t())
        layer.bias.copy_(bias)
    return layer


class HighlightModel(nn.Module):
    def __init__(self, p, hidden):
        super().__init__()
        self.googlenet = linear_from(p["googlenet.dense.kernel"], p["googlenet.dense.bias"])
        self.places365 = linear_from(p["places365.dense.kernel"], p["places365.dense.bias"])
        self.affect = linear_from(p["affect.dense.kernel"], p["affect.dense.bias"])
        self.cam_conv = nn.Conv2d(1, 64, 14)
        self.cam_dense = linear_from(p["cam.dense.kernel"], p["cam.dense.bias"])
        self.mfcc_conv1 = nn.Conv1d(13, 64, 3, padding=1)
        self.mfcc_conv2 = nn.Conv1d(64, 128, 3, padding=1)
        self.lstm = nn.LSTM(385, hidden, batch_first=True, bidirectional=True)
        self.head1 = linear_from(p["head.dense1.kernel"], p["head.dense1.bias"])
        self.head2 = linear_from(p["head.dense2.kernel"], p["head.dense2.bias"])
        with torch.no_grad():
            self.cam_conv.weight.copy_(p["cam.conv.kernel"].permute(3, 2, 0, 1))
            self.cam_conv.bias.copy_(p["cam.conv.bias"])
            for conv, name in ((self.mfcc_conv1, "mfcc.conv1"), (self.mfcc_conv2, "mfcc.conv2")):
                conv.weight.copy_(p[name + ".kernel"].permute(2, 1, 0))
                conv.bias.copy_(p[name + ".bias"])
            for suffix, name in (("", "bilstm.forward"), ("_reverse", "bilstm.backward")):
                getattr(self.lstm, "weight_ih_l0" + suffix).copy_(p[name + ".kernel"].t())
                getattr(self.lstm, "weight_hh_l0" + suffix).copy_(p[name + ".recurrent_kernel"].t())
                getattr(self.lstm, "bias_ih_l0" + suffix).copy_(p[name + ".bias"])
                getattr(self.lstm, "bias_hh_l0" + suffix).zero_()
                getattr(self.lstm, "bias_hh_l0" + suffix).requires_grad_(False)

    def forward(self, x):
        b, t = x["googlenet"].shape[:2]
        enc = [
            F.relu(self.googlenet(x["googlenet"])),
            F.relu(self.places365(x["places365"])),
            F.relu(self.affect(x["affect"])),
            # [B, T, 14, 14] -> [B*T, 1, 14, 14] -> [B*T, 64, 1, 1] -> [B, T, 64]
            F.relu(self.cam_dense(self.cam_conv(x["cam"].reshape(b * t, 1, 14, 14)).reshape(b, t, 64))),
            x["faces"],
        ]
        m = x["mfcc"].transpose(1, 2)  # [B, 13, 4T]
        m = F.max_pool1d(F.relu(self.mfcc_conv1(m)), 2)
        m = F.max_pool1d(F.relu(self.mfcc_conv2(m)), 2)
        enc.append(m.transpose(1, 2))  # [B, T, 128]
        _, (h_n, _) = self.lstm(torch.cat(enc, 2))
        states = torch.cat([h_n[0], h_n[1]], 1)  # last forward || last backward
        return self.head2(F.relu(self.head1(states))).reshape(b)

    def ours(self, grad=False):
        """Every parameter (or its gradient) under our name, in our layout."""
        g = (lambda t: t.grad) if grad else (lambda t: t)
        out = {}
        for name, layer in (("googlenet.dense", self.googlenet), ("places365.dense", self.places365),
                            ("affect.dense", self.affect), ("cam.dense", self.cam_dense),
                            ("head.dense1", self.head1), ("head.dense2", self.head2)):
            out[name + ".kernel"] = g(layer.weight).t()
            out[name + ".bias"] = g(layer.bias)
        out["cam.conv.kernel"] = g(self.cam_conv.weight).permute(2, 3, 1, 0)
        out["cam.conv.bias"] = g(self.cam_conv.bias)
        for name, conv in (("mfcc.conv1", self.mfcc_conv1), ("mfcc.conv2", self.mfcc_conv2)):
            out[name + ".kernel"] = g(conv.weight).permute(2, 1, 0)
            out[name + ".bias"] = g(conv.bias)
        for suffix, name in (("", "bilstm.forward"), ("_reverse", "bilstm.backward")):
            out[name + ".kernel"] = g(getattr(self.lstm, "weight_ih_l0" + suffix)).t()
            out[name + ".recurrent_kernel"] = g(getattr(self.lstm, "weight_hh_l0" + suffix)).t()
            out[name + ".bias"] = g(getattr(self.lstm, "bias_ih_l0" + suffix))
        # clone: .float() of an f32 tensor is the tensor itself, and the gradients are
        # zeroed in place by the next step
        return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


def ccc_loss(p, y):
    """1 - Lin's CCC with population moments and the covariance numerator (specs/paper.md)."""
    mp, my = p.mean(), y.mean()
    cov = ((p - mp) * (y - my)).mean()
    return 1 - 2 * cov / (((p - mp) ** 2).mean() + ((y - my) ** 2).mean() + (mp - my) ** 2)


def random_batch(gen):
    """Inputs of the real shapes with plausible ranges (pooled CNN features are
    non-negative, MFCC rows span tens), and labels in [0, 2]."""
    u = lambda *s: torch.rand(*s, generator=gen)
    n = lambda *s: torch.randn(*s, generator=gen)
    x = {
        "googlenet": u(BATCH, FRAMES, 1024) * 2,
        "places365": u(BATCH, FRAMES, 2048) * 2,
        "affect": n(BATCH, FRAMES, 128),
        "cam": u(BATCH, FRAMES, 14, 14),
        "faces": u(BATCH, FRAMES, 1) * 0.3,
        "mfcc": n(BATCH, 4 * FRAMES, 13) * 5,
    }
    return x, u(BATCH) * 2


def train(initial, hidden, dtype, save=None):
    """Ten Adam steps in `dtype` on the batches of seed 4321 (drawn in f32, then cast).
    Returns the losses, the first scores, the step-0 gradients and the final weights;
    `save(tensor)`, when given, records each batch and returns its manifest entry."""
    model = HighlightModel(initial, hidden).to(dtype)
    trainable = [p for p in model.parameters() if p.requires_grad]
    adam = torch.optim.Adam(trainable, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    gen = torch.Generator().manual_seed(4321)
    out = {"batches": [], "losses": []}
    for step in range(STEPS):
        x, y = random_batch(gen)
        if save:
            out["batches"].append({"inputs": {k: save(v) for k, v in x.items()}, "labels": save(y)})
        adam.zero_grad()
        scores = model({k: v.to(dtype) for k, v in x.items()})
        loss = ccc_loss(scores, y.to(dtype))
        loss.backward()
        out["losses"].append(loss.item())
        if step == 0:
            out["first_scores"], out["grad0"] = scores.detach().float(), model.ours(grad=True)
        adam.step()
    out["final"] = model.ours()
    return out


def main(out_dir):
    path = os.path.join(out_dir, "initial.safetensors")
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
    assert meta["features"] == ",".join(FEATURES), meta
    initial, hidden = load_file(path), int(meta["hidden"])
    counter = [0]

    def save(t):
        counter[0] += 1
        name = f"m{counter[0]}.bin"
        t = t.detach().contiguous().float()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(t.numpy().tobytes())
        return {"file": name, "shape": list(t.shape)}

    ref = train(initial, hidden, torch.float32, save)
    # The same training in double: nearly the exact answer, to tell rounding from error.
    exact = train(initial, hidden, torch.float64)
    save_file(ref["grad0"], os.path.join(out_dir, "grad0.safetensors"))
    save_file(ref["final"], os.path.join(out_dir, "final.safetensors"))
    save_file(exact["final"], os.path.join(out_dir, "final_f64.safetensors"))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"batches": ref["batches"], "losses": ref["losses"], "losses_f64": exact["losses"],
                   "first_scores": save(ref["first_scores"])}, f)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main(sys.argv[1])
