#!/usr/bin/env bash
# The main job: from a video to its highlights, end to end, on generated sample videos.
#
#   bash tools/run-main.sh              # the end-to-end job (README "Two commands")
#   bash tools/run-main.sh --synthetic  # the train-and-evaluate demo on synthetic features
#
# Installs only what building and running hl needs (tools/setup.sh --runtime: no
# reference frameworks, no .venv), builds the tools in build-main (no tests, no
# benchmarks; $HL_MAIN_BUILD names another folder), then runs tools/demo-job.sh into out/demo:
#   1. 6 sample videos of 40 s with two planted audiovisual events each (crowd-like noise,
#      espeak-ng speech, a bright moving pattern; one 5-s segment each) and their labels
#      (the event segments 2, the rest 0);
#   2. hl-extract: mfcc (and googlenet when its converted weights are present);
#   3. hl-train --final: a demo model trained on the first 5 videos only;
#   4. hl-highlights --reel on the 6th video, which the model never saw: the top 2
#      segments, the planted ones, and where the reel, EDL and report are.
# About half a minute after the build on 2 cores.
#
# --synthetic: the earlier main job, kept as an example of the research workflow:
#   hl-synth writes 30 videos of synthetic feature files with planted highlight signals
#   and their labels; hl-inspect prints one; hl-train trains the paper's all-feature
#   model with 5-fold cross-validation (held-out table against chance); hl-eval evaluates
#   the pooled held-out predictions. Outputs in out/synth and out/train.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}
case $mode in
  demo | --synthetic) ;;
  *) echo "usage: $0 [--synthetic]" >&2; exit 2 ;;
esac

build=${HL_MAIN_BUILD:-build-main}
bash tools/setup.sh --runtime
mkdir -p "$build" out
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHL_BUILD_TESTS=OFF -DHL_BUILD_BENCH=OFF \
  > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }

if [ "$mode" = demo ]; then
  cmake --build "$build" -j "$(nproc)" --target hl-extract hl-train hl-highlights
  bash tools/demo-job.sh "$build"/tools out/demo
  echo "main job done: the demo model (trained on out/demo/data/videos/demo_00..04, generated sample videos) is out/demo/model/model.safetensors"
  exit 0
fi

cmake --build "$build" -j "$(nproc)" --target hl-synth hl-inspect hl-train hl-eval
./"$build"/tools/hl-synth --out out/synth --videos 30 --seconds 60,90 --seed 1
./"$build"/tools/hl-inspect out/synth/features/synth_0000.safetensors
./"$build"/tools/hl-train --features out/synth/features --labels out/synth/labels.csv --out out/train \
  --folds 5 --epochs 8 --batch 32 --seed 1
# hl-eval's header and its two summary lines (the per-video rows are in out/train/eval.json).
./"$build"/tools/hl-eval --labels out/synth/labels.csv --pred out/train/predictions.csv --json out/train/eval.json \
  | awk 'NR == 1 { print } { last2 = last1; last1 = $0 } END { print last2; print last1 }'
echo "synthetic demo done: models and predictions in out/train, metrics in out/train/summary.json and out/train/eval.json"
