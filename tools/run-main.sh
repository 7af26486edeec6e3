#!/usr/bin/env bash
# The main job as it stands: install, build, and run the tools that exist on a
# generated input. Today that is hl-inspect on a feature file in the layout of
# DESIGN section 4, written by the reference Python safetensors package.
# (The training issue turns this into a full train-and-evaluate run, and the
# end-to-end work into hl-highlights on a video.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > build.configure.log 2>&1 || { cat build.configure.log; exit 1; }
cmake --build build -j "$(nproc)" --target hl-inspect
mkdir -p out
.venv/bin/python tools/make_sample_features.py out/sample.features.safetensors
./build/tools/hl-inspect out/sample.features.safetensors
