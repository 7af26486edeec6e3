#!/usr/bin/env bash
# The main job as it stands: install, build, and run train-and-evaluate end to end on a
# generated input (until real extraction lands, DESIGN section 4 / the training issue):
#   1. hl-synth writes a synthetic dataset: 30 videos of feature files in the layout of
#      DESIGN section 4 with planted highlight signals, and their labels;
#   2. hl-inspect prints one feature file;
#   3. hl-train trains the paper's all-feature model with 5-fold cross-validation and
#      prints the held-out table against chance;
#   4. hl-eval evaluates the pooled held-out predictions (table + JSON).
# Outputs go to out/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
mkdir -p build out
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j "$(nproc)" --target hl-synth hl-inspect hl-train hl-eval
./build/tools/hl-synth --out out/synth --videos 30 --seconds 60,90 --seed 1
./build/tools/hl-inspect out/synth/features/synth_0000.safetensors
./build/tools/hl-train --features out/synth/features --labels out/synth/labels.csv --out out/train \
  --folds 5 --epochs 8 --batch 32 --seed 1
# hl-eval's header and its two summary lines (the per-video rows are in out/train/eval.json).
./build/tools/hl-eval --labels out/synth/labels.csv --pred out/train/predictions.csv --json out/train/eval.json \
  | awk 'NR == 1 { print } { last2 = last1; last1 = $0 } END { print last2; print last1 }'
echo "main job done: models and predictions in out/train, metrics in out/train/summary.json and out/train/eval.json"
