"""Reference 2-D convolutions and their gradients by PyTorch, in our layouts.

Usage: conv2d_ref.py OUT_DIR
Writes OUT_DIR/manifest.json and raw little-endian f32 arrays. Each case holds x NHWC
[batch, height, width, c_in], w HWIO [kh, kw, c_in, c_out], b [c_out], the stride and
the padding (top, bottom, left, right), y = F.conv2d in NHWC, a random upstream gradient
"seed" and the gradients of x, w and b. PyTorch works in NCHW with weights
[c_out, c_in, kh, kw], so x is permuted (0, 3, 1, 2) and w (3, 2, 0, 1) on the way in
and y (0, 2, 3, 1) on the way out; asymmetric padding is done by F.pad first, because
F.conv2d only pads symmetrically.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

# (batch, height, width, c_in, c_out, kh, kw, stride_h, stride_w, (top, bottom, left, right))
CASES = [
    (3, 14, 14, 1, 64, 14, 14, 1, 1, (0, 0, 0, 0)),   # the highlight model's CAM branch
    (2, 7, 9, 3, 5, 3, 3, 1, 1, (1, 1, 1, 1)),        # 'same'
    (2, 8, 8, 4, 6, 3, 3, 2, 2, (0, 1, 0, 1)),        # TensorFlow 'same' with stride 2 (extra zero bottom/right)
    (1, 11, 10, 3, 8, 7, 7, 2, 2, (3, 3, 3, 3)),      # a ResNet stem, small
    (2, 6, 5, 8, 4, 1, 1, 1, 1, (0, 0, 0, 0)),        # pointwise
    (2, 9, 7, 4, 3, 1, 1, 2, 2, (0, 0, 0, 0)),        # strided pointwise (a ResNet downsample)
    (2, 10, 9, 2, 3, 4, 2, 3, 2, (2, 0, 1, 3)),       # rectangular kernel, uneven strides and padding
    (1, 5, 5, 2, 2, 5, 5, 1, 1, (0, 0, 0, 0)),        # whole input, several channels
]


def main(out_dir):
    torch.manual_seed(2021)
    os.makedirs(out_dir, exist_ok=True)
    counter = [0]

    def save(t):
        counter[0] += 1
        name = f"c{counter[0]}.bin"
        t = t.detach().contiguous().float()
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(t.numpy().tobytes())
        return {"file": name, "shape": list(t.shape)}

    cases = []
    for (n, h, w, cin, cout, kh, kw, sh, sw, pad) in CASES:
        x = torch.randn(n, h, w, cin, requires_grad=True)
        weight = (torch.randn(kh, kw, cin, cout) / (kh * kw * cin) ** 0.5).requires_grad_(True)
        bias = torch.randn(cout, requires_grad=True)
        top, bottom, left, right = pad
        xp = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
        y = F.conv2d(xp, weight.permute(3, 2, 0, 1), bias, stride=(sh, sw)).permute(0, 2, 3, 1)
        seed = torch.randn_like(y)
        y.backward(seed)
        cases.append({
            "stride": [sh, sw], "pad": list(pad), "x": save(x), "w": save(weight), "b": save(bias),
            "y": save(y), "seed": save(seed), "dx": save(x.grad), "dw": save(weight.grad), "db": save(bias.grad),
        })
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"conv2d": cases}, f)


if __name__ == "__main__":
    main(sys.argv[1])
