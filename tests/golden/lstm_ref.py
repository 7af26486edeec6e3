"""Reference LSTM outputs and gradients by PyTorch.

Usage: lstm_ref.py OUT_DIR
Writes OUT_DIR/manifest.json and raw little-endian f32 arrays.
  "bilstm": torch.nn.LSTM(batch_first=True, bidirectional=True) with our Keras-layout
    parameters mapped in: weight_ih = kernel^T, weight_hh = recurrent^T, bias_ih = bias,
    bias_hh = 0 (gate order i, f, g, o is the same in both). Output either the full
    sequence [batch, time, 2h] or cat(h_n[0], h_n[1]) [batch, 2h]; c_n; the gradients
    of x and of every parameter for a random upstream gradient.
  "masked": one direction with given input and recurrent dropout masks (fixed over the
    sequence), by an explicit time loop in PyTorch (nn.LSTM has no recurrent dropout);
    the loop is first checked against nn.LSTM without masks.
"""
import json
import os
import sys

import torch


def main(out_dir):
    torch.manual_seed(777)
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"bilstm": [], "masked": []}
    counter = [0]

    def save(t):
        counter[0] += 1
        name = f"l{counter[0]}.bin"
        t = t.detach().contiguous().float()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(t.numpy().tobytes())
        return {"file": name, "shape": list(t.shape)}

    def params(nin, h):
        s = 1.0 / h ** 0.5
        return [(torch.rand(nin, 4 * h) * 2 - 1) * s, (torch.rand(h, 4 * h) * 2 - 1) * s, (torch.rand(4 * h) * 2 - 1) * s]

    for (b, t, nin, h) in [(2, 5, 3, 4), (3, 1, 2, 2), (4, 12, 7, 20), (1, 3, 1, 1)]:
        for full in (False, True):
            x = torch.randn(b, t, nin)
            fw, bw = params(nin, h), params(nin, h)
            lstm = torch.nn.LSTM(nin, h, batch_first=True, bidirectional=True)
            with torch.no_grad():
                for suffix, (k, r, bias) in (("", fw), ("_reverse", bw)):
                    getattr(lstm, "weight_ih_l0" + suffix).copy_(k.t())
                    getattr(lstm, "weight_hh_l0" + suffix).copy_(r.t())
                    getattr(lstm, "bias_ih_l0" + suffix).copy_(bias)
                    getattr(lstm, "bias_hh_l0" + suffix).zero_()
            xg = x.clone().requires_grad_(True)
            out, (h_n, c_n) = lstm(xg)
            y = out if full else torch.cat([h_n[0], h_n[1]], 1)
            seed = torch.randn_like(y)
            y.backward(seed)
            grads = {}
            for suffix in ("", "_reverse"):
                grads["kernel" + suffix] = getattr(lstm, "weight_ih_l0" + suffix).grad.t()
                grads["recurrent" + suffix] = getattr(lstm, "weight_hh_l0" + suffix).grad.t()
                grads["bias" + suffix] = getattr(lstm, "bias_ih_l0" + suffix).grad
            manifest["bilstm"].append({
                "full_sequence": full, "x": save(x), "forward": [save(p) for p in fw], "backward": [save(p) for p in bw],
                "output": save(y), "c_n": [save(c_n[0]), save(c_n[1])], "seed": save(seed), "dx": save(xg.grad),
                "dforward": [save(grads[k]) for k in ("kernel", "recurrent", "bias")],
                "dbackward": [save(grads[k]) for k in ("kernel_reverse", "recurrent_reverse", "bias_reverse")],
            })

    # The explicit loop agrees with nn.LSTM (so it is a faithful reference for the masks).
    x = torch.randn(2, 4, 3)
    k, r, bias = params(3, 5)
    lstm = torch.nn.LSTM(3, 5, batch_first=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(k.t()), lstm.weight_hh_l0.copy_(r.t()), lstm.bias_ih_l0.copy_(bias)
        lstm.bias_hh_l0.zero_()
        ref, _ = lstm(x)
        mine, _ = loop_lstm(x, k, r, bias, torch.ones(2, 3), torch.ones(2, 5), False)
    assert (ref - mine).abs().max() < 1e-5, "the explicit LSTM loop disagrees with nn.LSTM"

    for (b, t, nin, h) in [(2, 6, 3, 4), (3, 9, 5, 20)]:
        for reverse in (False, True):
            x = torch.randn(b, t, nin)
            p = [q.requires_grad_(True) for q in params(nin, h)]
            mx = (torch.rand(b, nin) > 0.2).float() / 0.8
            mr = (torch.rand(b, h) > 0.3).float() / 0.7
            xg = x.clone().requires_grad_(True)
            hs, c = loop_lstm(xg, *p, mx, mr, reverse)
            seed = torch.randn_like(hs)
            hs.backward(seed)
            manifest["masked"].append({
                "reverse": reverse, "x": save(x), "params": [save(q) for q in p], "input_mask": save(mx),
                "recurrent_mask": save(mr), "output": save(hs), "c_last": save(c), "seed": save(seed),
                "dx": save(xg.grad), "dparams": [save(q.grad) for q in p],
            })

    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def loop_lstm(x, kernel, recurrent, bias, input_mask, recurrent_mask, reverse):
    """Keras-layout LSTM, gates i, f, g, o, masks fixed over the sequence."""
    b, t, _ = x.shape
    h = torch.zeros(b, recurrent.shape[0])
    c = torch.zeros_like(h)
    xm = x * input_mask[:, None, :]
    hs = [None] * t
    for step in (reversed(range(t)) if reverse else range(t)):
        z = xm[:, step] @ kernel + (h * recurrent_mask) @ recurrent + bias
        i, f, g, o = z.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        hs[step] = h
    return torch.stack(hs, 1), c


if __name__ == "__main__":
    main(sys.argv[1])
