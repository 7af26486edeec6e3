"""VASNet (specs/paper.md, "VASNet baseline") in PyTorch, trained five steps, as a reference.

Usage: vasnet_ref.py DIR
Reads DIR/initial.safetensors (written by hl::Vasnet::save: our parameter names, Keras
layouts [in, out], the configuration in the metadata), builds VASNet from nn.Linear
layers with those weights mapped in (nn.Linear.weight = kernel^T) and the published
code's LayerNorm (eps added to the unbiased standard deviation), and with dropout off:
  - scores the first of five random sequences [T = 300, 1024] (pooled-CNN-like values in [0, 2));
  - trains five steps of torch.optim.Adam(lr 5e-5, weight_decay 1e-5, eps 1e-8) on MSE
    between the per-frame scores and frame targets (each 150-frame segment's label in
    [0, 1] repeated over its frames), one sequence per step.
The same five steps are also run in float64 (rounded to f32 at the end): the near-exact
answer both f32 trainings approximate. Writes into DIR:
  manifest.json          the sequences and targets (raw f32 files + shapes), the losses
                         (f32 and f64), the first scores
  grad0.safetensors      every parameter's gradient at the first step (our names, layouts)
  final.safetensors      every parameter after the five steps (f32 training)
  final_f64.safetensors  the same after the f64 training
"""
import json
import os
import sys

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file, save_file

FRAMES, SEGMENT, STEPS = 300, 150, 5
LINEARS = ["attention.key", "attention.query", "attention.value", "attention.output", "dense1", "dense2"]


def layer_norm(x, gain, bias, eps):
    """The published VASNet LayerNorm: eps added to the unbiased std (torch.std's default)."""
    mean = x.mean(-1, keepdim=True)
    std = x.std(-1, keepdim=True)
    return gain * (x - mean) / (std + eps) + bias


class Vasnet(nn.Module):
    def __init__(self, p, meta):
        super().__init__()
        self.scale = float(meta["query_scale"])
        self.eps = float(meta["norm_eps"])
        d = int(meta["input"])
        self.layers = nn.ModuleDict()
        for name in LINEARS:
            k = p[name + ".kernel"]
            has_bias = name.startswith("dense")
            layer = nn.Linear(k.shape[0], k.shape[1], bias=has_bias)
            with torch.no_grad():
                layer.weight.copy_(k.t())
                if has_bias:
                    layer.bias.copy_(p[name + ".bias"])
            self.layers[name.replace(".", "_")] = layer
        self.norm1_gain = nn.Parameter(p["norm1.gain"].clone())
        self.norm1_bias = nn.Parameter(p["norm1.bias"].clone())
        self.norm2_gain = nn.Parameter(p["norm2.gain"].clone())
        self.norm2_bias = nn.Parameter(p["norm2.bias"].clone())
        assert self.norm1_gain.shape == (d,)

    def forward(self, x):
        L = lambda n: self.layers[n.replace(".", "_")]
        k = L("attention.key")(x)
        q = L("attention.query")(x) * self.scale
        v = L("attention.value")(x)
        attention = torch.softmax(q @ k.t(), dim=-1)          # rows sum to 1
        y = (v.t() @ attention).t()                          # the published code's form of A^T V
        y = L("attention.output")(y) + x
        y = layer_norm(y, self.norm1_gain, self.norm1_bias, self.eps)
        y = torch.relu(L("dense1")(y))
        y = layer_norm(y, self.norm2_gain, self.norm2_bias, self.eps)
        return torch.sigmoid(L("dense2")(y)).reshape(-1)

    def ours(self, grad=False):
        g = (lambda t: t.grad) if grad else (lambda t: t)
        out = {}
        for name in LINEARS:
            layer = self.layers[name.replace(".", "_")]
            out[name + ".kernel"] = g(layer.weight).t()
            if layer.bias is not None:
                out[name + ".bias"] = g(layer.bias)
        for n in ("norm1", "norm2"):
            out[n + ".gain"] = g(getattr(self, n + "_gain"))
            out[n + ".bias"] = g(getattr(self, n + "_bias"))
        return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


def sequences():
    gen = torch.Generator().manual_seed(2468)
    out = []
    for _ in range(STEPS):
        x = torch.rand(FRAMES, 1024, generator=gen) * 2
        labels = torch.rand(FRAMES // SEGMENT, generator=gen)
        out.append((x, labels.repeat_interleave(SEGMENT)))
    return out


def train(initial, meta, data, dtype):
    model = Vasnet(initial, meta).to(dtype)
    adam = torch.optim.Adam(model.parameters(), lr=5e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-5)
    out = {"losses": []}
    for step, (x, target) in enumerate(data):
        adam.zero_grad()
        scores = model(x.to(dtype))
        loss = torch.mean((scores - target.to(dtype)) ** 2)
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
    assert meta["format"] == "hl.vasnet", meta
    assert float(meta["residual_dropout"]) == 0.0, meta  # the reference has no residual dropout (off in eval anyway)
    initial = load_file(path)
    counter = [0]

    def save(t):
        counter[0] += 1
        name = f"v{counter[0]}.bin"
        t = t.detach().contiguous().float()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(t.numpy().tobytes())
        return {"file": name, "shape": list(t.shape)}

    data = sequences()
    ref = train(initial, meta, data, torch.float32)
    exact = train(initial, meta, data, torch.float64)
    save_file(ref["grad0"], os.path.join(out_dir, "grad0.safetensors"))
    save_file(ref["final"], os.path.join(out_dir, "final.safetensors"))
    save_file(exact["final"], os.path.join(out_dir, "final_f64.safetensors"))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"steps": [{"x": save(x), "target": save(t)} for x, t in data], "losses": ref["losses"],
                   "losses_f64": exact["losses"], "first_scores": save(ref["first_scores"])}, f)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main(sys.argv[1])
