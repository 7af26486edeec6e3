"""Reference for hl-convert + hl-extract's visual features, end to end.

Usage: extract_visual_ref.py OUT_DIR FFMPEG VIDEO IMAGE_PNG IMAGE_JPEG

Writes, with torchvision's own models and transforms (nothing of ours):
  googlenet-0a1b2c3d.pth       torchvision GoogLeNet(aux_logits, init_weights, transform_input),
                               random weights, BatchNorm calibrated (cnn_ref.py), saved with
                               torch.save in the zip format (the published file's format)
  resnet50_places365.pth.tar   torchvision ResNet50(365) as the Places365 file: a legacy-format
                               torch.save of {'epoch', 'arch', 'state_dict' ('module.' keys,
                               no num_batches_tracked), 'best_prec1'}
  expected.safetensors         video.googlenet [T, 1024], video.places365 [T, 2048] for the
                               video's frames at 30000/1001 fps, and image_png.* / image_jpeg.*
                               [1, dim] for the still images
The frames are what the ffmpeg command line decodes with hl's frame rule
(setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24), each turned into a PIL image;
the still images are opened by PIL. Each goes through the publishers' transforms
(GoogLeNet: Resize(256), CenterCrop(224); Places365: Resize((256, 256)), CenterCrop(224);
both ToTensor and Normalize(ImageNet)) and the model's avgpool output is the feature.
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnn_ref  # noqa: E402

NORMALIZE = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
GOOGLENET_TF = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), NORMALIZE])
PLACES_TF = T.Compose([T.Resize((256, 256)), T.CenterCrop(224), T.ToTensor(), NORMALIZE])


def build(net):
    torch.manual_seed(2026 if net == "googlenet" else 365)
    generator = torch.Generator().manual_seed(11)
    if net == "googlenet":
        model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=True, transform_input=True)
    else:
        model = torchvision.models.resnet50(weights=None, num_classes=365)
    cnn_ref.calibrate_batchnorm(model, generator)
    pooled = {}
    model.avgpool.register_forward_hook(lambda m, i, o: pooled.__setitem__("y", o.flatten(1)))
    return model, pooled


def embed(model, pooled, transform, images):
    with torch.no_grad():
        model(torch.stack([transform(im) for im in images]))
    return pooled["y"].contiguous()


def decode_frames(ffmpeg, video):
    probe = subprocess.run([ffmpeg, "-hide_banner", "-nostdin", "-i", video], capture_output=True, text=True)
    size = [tok for tok in probe.stderr.replace(",", " ").split() if "x" in tok and tok.split("x")[0].isdigit()
            and tok.split("x")[-1].isdigit()][0]
    w, h = (int(v) for v in size.split("x"))
    raw = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", video, "-vf",
                          "setpts=PTS-STARTPTS,fps=30000/1001:round=up,format=rgb24", "-f", "rawvideo", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w, 3)
    return [Image.fromarray(f) for f in frames]


def main(out_dir, ffmpeg, video, image_png, image_jpeg):
    os.makedirs(out_dir, exist_ok=True)
    googlenet, g_pool = build("googlenet")
    places, p_pool = build("resnet50")
    torch.save(googlenet.state_dict(), os.path.join(out_dir, "googlenet-0a1b2c3d.pth"))
    state = {"module." + k: v for k, v in places.state_dict().items() if not k.endswith("num_batches_tracked")}
    checkpoint = {"epoch": 90, "arch": "resnet50", "state_dict": state, "best_prec1": 54.74}
    torch.save(checkpoint, os.path.join(out_dir, "resnet50_places365.pth.tar"), _use_new_zipfile_serialization=False)

    frames = decode_frames(ffmpeg, video)
    expected = {
        "video.googlenet": embed(googlenet, g_pool, GOOGLENET_TF, frames),
        "video.places365": embed(places, p_pool, PLACES_TF, frames),
    }
    for name, path in (("image_png", image_png), ("image_jpeg", image_jpeg)):
        image = Image.open(path).convert("RGB")
        expected[name + ".googlenet"] = embed(googlenet, g_pool, GOOGLENET_TF, [image])
        expected[name + ".places365"] = embed(places, p_pool, PLACES_TF, [image])
    save_file(expected, os.path.join(out_dir, "expected.safetensors"))
    print(f"extract_visual_ref: {len(frames)} video frames")


if __name__ == "__main__":
    main(*sys.argv[1:6])
