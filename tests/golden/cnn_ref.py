"""Reference outputs of torchvision's GoogLeNet and ResNet50 and of PyTorch's max pooling,
in our layouts (channels last).

Usage: cnn_ref.py OUT_DIR googlenet|resnet50|pool

googlenet / resnet50: builds the torchvision model with random weights (seeded; torchvision's
own initialisation), then gives every BatchNorm random weight/bias (gamma/beta) and real
statistics so that it is not the identity and no layer's signal vanishes or explodes: one
forward pass in training mode with momentum 1 on a calibration batch sets running_mean and
running_var to that batch's statistics, which are then perturbed. In eval mode it writes
  state_dict.safetensors   the model's state dict as torchvision names it (safetensors
                           package); GoogLeNet's includes the aux heads and
                           num_batches_tracked; ResNet50's is written like the published
                           Places365 file: every key prefixed "module.", no
                           num_batches_tracked
  x.bin        [2, 224, 224, 3]  the input, ImageNet-normalised random pixels (NHWC)
  embedding.bin [2, 1024|2048]   the avgpool output, flattened
  logits.bin   [2, classes]      the model's output (GoogLeNet: 1000, ResNet50: 365)
and manifest.json with each array's file and shape. Raw arrays are little-endian f32.

pool: F.max_pool2d on NCHW permutes of NHWC inputs for kernel/stride/padding/ceil_mode
cases, including windows that ceil_mode adds and drops, and F.adaptive_avg_pool2d(x, 1);
manifest.json lists them with x and y.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# (batch, height, width, channels, kernel, stride, pad, ceil_mode)
POOL_CASES = [
    (2, 112, 112, 8, 3, 2, 0, True),   # GoogLeNet maxpool1: 112 -> 56 (floor would give 55)
    (2, 14, 14, 5, 2, 2, 0, True),     # GoogLeNet maxpool4: 14 -> 7
    (1, 13, 13, 4, 2, 2, 0, True),     # odd size: the last window holds one row
    (2, 9, 11, 3, 3, 1, 1, True),      # the Inception branch pool (same size)
    (2, 112, 112, 6, 3, 2, 1, False),  # ResNet stem pool: 112 -> 56
    (1, 5, 5, 3, 2, 2, 1, True),       # ceil_mode's extra window would start in the right padding: dropped
    (1, 10, 7, 2, 4, 3, 2, True),      # rectangular input, padding 2
    (1, 5, 8, 3, 3, 3, 0, False),      # floor drops the tail
]


def save_array(out_dir, name, t):
    t = t.detach().contiguous().float()
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(t.numpy().tobytes())
    return {"file": name, "shape": list(t.shape)}


def calibrate_batchnorm(model, generator):
    """Random gamma/beta, running statistics from a calibration batch, then perturbed."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            c = bn.num_features
            bn.weight.copy_(torch.empty(c).uniform_(0.6, 1.5, generator=generator))
            bn.bias.copy_(0.2 * torch.randn(c, generator=generator))
            bn.reset_running_stats()
            bn.momentum = 1.0
        model.train()
        model(image_batch(4, generator))
        for bn in bns:
            c = bn.num_features
            bn.running_var.mul_(torch.empty(c).uniform_(0.7, 1.4, generator=generator))
            bn.running_mean.add_(0.1 * torch.randn(c, generator=generator) * bn.running_var.sqrt())
    model.eval()


def image_batch(n, generator):
    pixels = torch.rand(n, 3, 224, 224, generator=generator)
    return (pixels - MEAN) / STD


def net_case(out_dir, net):
    torch.manual_seed(2021)
    generator = torch.Generator().manual_seed(7)
    if net == "googlenet":
        model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True, transform_input=True)
    else:
        model = torchvision.models.resnet50(weights=None, num_classes=365)
    calibrate_batchnorm(model, generator)

    pooled = {}
    model.avgpool.register_forward_hook(lambda m, i, o: pooled.__setitem__("y", o.flatten(1)))
    x = image_batch(2, generator)
    with torch.no_grad():
        logits = model(x)

    state = model.state_dict()
    if net == "resnet50":
        state = {"module." + k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(out_dir, "state_dict.safetensors"))
    manifest = {
        "x": save_array(out_dir, "x.bin", x.permute(0, 2, 3, 1)),
        "embedding": save_array(out_dir, "embedding.bin", pooled["y"]),
        "logits": save_array(out_dir, "logits.bin", logits),
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def pool_cases(out_dir):
    torch.manual_seed(2021)
    cases = []
    for i, (n, h, w, c, k, s, p, ceil) in enumerate(POOL_CASES):
        x = torch.randn(n, h, w, c)
        y = F.max_pool2d(x.permute(0, 3, 1, 2), k, s, p, ceil_mode=ceil).permute(0, 2, 3, 1)
        cases.append({"kernel": k, "stride": s, "pad": p, "ceil_mode": ceil,
                      "x": save_array(out_dir, f"pool{i}_x.bin", x), "y": save_array(out_dir, f"pool{i}_y.bin", y)})
    x = torch.randn(3, 7, 5, 6)
    y = F.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), 1).flatten(1)
    avg = {"x": save_array(out_dir, "avg_x.bin", x), "y": save_array(out_dir, "avg_y.bin", y)}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"maxpool": cases, "avgpool": avg}, f)


def main(out_dir, what):
    os.makedirs(out_dir, exist_ok=True)
    if what in ("googlenet", "resnet50"):
        net_case(out_dir, what)
    elif what == "pool":
        pool_cases(out_dir)
    else:
        sys.exit("unknown case " + what)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
