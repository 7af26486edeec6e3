"""Reference MFCCs from python_speech_features (PyPI), the library the paper's
parameters follow (specs/nets.md), for the C++ tests of nets/mfcc.

Signals: speech synthesised by espeak-ng (resampled to 16 kHz with scipy), a chord of
tones under an envelope, white noise, a clip shorter than one window, and silence with a
click (the log(0) guards). For each:
  - "library": python_speech_features.mfcc with the paper's parameters (it rounds the
    0.25/29.97-s step to 133 samples);
  - "exact": the same pipeline, built from the library's own functions (preemphasis,
    powspec, get_filterbanks, lifter) and scipy's DCT, but with rows starting at
    round_half_up(i * 2002/15), hl's exact step.
Writes OUT_DIR/<name>.signal.f32, <name>.library.f64, <name>.exact.f64 and manifest.json.

Usage: mfcc_ref.py OUT_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import wave
from fractions import Fraction

import numpy as np
import python_speech_features as psf
from python_speech_features import sigproc
from scipy.fftpack import dct
from scipy.signal import resample_poly

RATE = 16000
STEP = 0.25 / 29.97
PARAMS = dict(samplerate=RATE, winlen=0.025, winstep=STEP, numcep=13, nfilt=26, nfft=512, preemph=0.97,
              ceplifter=22, appendEnergy=True)


def speech():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.wav")
        subprocess.run(["espeak-ng", "-w", path, "Highlights are the best moments of a video, "
                        "found from what it shows and what it sounds like."], check=True)
        with wave.open(path) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
    g = np.gcd(rate, RATE)
    return resample_poly(x, RATE // g, rate // g)


def tones(rng):
    t = np.arange(int(2.3 * RATE)) / RATE
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)
    x = sum(a * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for a, f in [(6000, 440), (3000, 1000), (1500, 3100)])
    return env * x


def exact_reference(sig, rows):
    """The library's pipeline with hl's exact row starts."""
    pre = sigproc.preemphasis(sig, 0.97)
    starts = [int(Fraction(2 * i * 2002 + 15, 30)) for i in range(rows)]  # floor(i*2002/15 + 1/2)
    pad = np.concatenate([pre, np.zeros(max(0, starts[-1] + 400 - len(pre)))])
    frames = np.stack([pad[s:s + 400] for s in starts])
    pspec = sigproc.powspec(frames, 512)
    energy = np.sum(pspec, 1)
    energy = np.where(energy == 0, np.finfo(float).eps, energy)
    feat = pspec @ psf.get_filterbanks(26, 512, RATE, 0, RATE / 2).T
    feat = np.where(feat == 0, np.finfo(float).eps, feat)
    feat = dct(np.log(feat), type=2, axis=1, norm="ortho")[:, :13]
    feat = psf.lifter(feat, 22)
    feat[:, 0] = np.log(energy)
    return feat


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(7)
    silence = np.zeros(RATE)
    silence[9000] = 20000.0
    signals = {
        "speech": speech(),
        "tones": tones(rng),
        "noise": rng.normal(scale=3000.0, size=int(1.7 * RATE)),
        "short": rng.normal(scale=1000.0, size=300),
        "silence_click": silence,
    }
    manifest = []
    for name, sig in signals.items():
        sig32 = sig.astype(np.float32)
        sig = sig32.astype(np.float64)  # both sides see exactly the same samples
        sig32.tofile(os.path.join(out, name + ".signal.f32"))
        lib = psf.mfcc(sig, **PARAMS)
        lib.astype(np.float64).tofile(os.path.join(out, name + ".library.f64"))
        rows = 4 * (len(sig) * 2997 // 100 // RATE + 1)  # a few more rows than the audio
        exact = exact_reference(sig, rows)
        exact.tofile(os.path.join(out, name + ".exact.f64"))
        manifest.append({"name": name, "samples": len(sig), "library_rows": lib.shape[0], "exact_rows": rows})
    json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
