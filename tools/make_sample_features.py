"""Writes a synthetic feature file in the layout of DESIGN section 4 (one minute of
video at 29.97 fps: googlenet, places365, affect, cam, faces, mfcc) with the reference
safetensors package, for the main job's demonstration run.

Usage: make_sample_features.py OUT.safetensors
"""
import sys

import torch
from safetensors.torch import save_file

frames = 1798  # 60 s at 30000/1001 fps
torch.manual_seed(0)
tensors = {
    "googlenet": torch.rand(frames, 1024),
    "places365": torch.rand(frames, 2048),
    "affect": torch.randn(frames, 128),
    "cam": torch.rand(frames, 14, 14),
    "faces": torch.rand(frames),
    "mfcc": torch.randn(4 * frames, 13),
}
metadata = {"fps": "30000/1001", "frames": str(frames), "duration": "59.9933", "audio_rate": "16000",
            "source": "synthetic (tools/make_sample_features.py)"}
save_file(tensors, sys.argv[1], metadata=metadata)
print(f"wrote {sys.argv[1]}")
