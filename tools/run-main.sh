#!/usr/bin/env bash
# The main job as it stands: install, build, and run the tools that exist on a
# generated input. Today: hl-synth writes a synthetic dataset (feature files in the
# layout of DESIGN section 4 with planted highlight signals, and labels), and
# hl-inspect prints one of its feature files. (The training issue turns this into a
# full train-and-evaluate run, and the end-to-end work into hl-highlights on a video.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
mkdir -p build out
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j "$(nproc)" --target hl-synth hl-inspect hl-eval
./build/tools/hl-synth --out out/synth --videos 20 --seconds 30,60 --seed 1
./build/tools/hl-inspect out/synth/features/synth_0000.safetensors
