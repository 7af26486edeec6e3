#!/usr/bin/env bash
# Installs what is needed, builds hl in both CUDA settings and runs the tests:
#   build-cpu:  HL_CUDA=OFF, the cpu-labelled tests (proves the CPU-only build)
#   build:      HL_CUDA=AUTO (CUDA when nvcc is found), every test; gpu tests skip
#               visibly on a machine without a GPU.
# Ends with ctest's summary of the full run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

jobs=$(nproc)
configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > "$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; exit 1; }
  cmake --build "$dir" -j "$jobs"
}

mkdir -p build-cpu build
echo "== build-cpu (HL_CUDA=OFF)"
configure_and_build build-cpu -DHL_CUDA=OFF -DHL_BUILD_BENCH=OFF
ctest --test-dir build-cpu -L cpu --output-on-failure -j "$jobs" 2>&1 | tee build-cpu.ctest.log
test "${PIPESTATUS[0]}" -eq 0

echo "== build (HL_CUDA=AUTO)"
configure_and_build build -DHL_CUDA=AUTO
grep -E "hl: CUDA backend" build.configure.log || true
# The full run; its summary line is repeated last (after ctest's list of skipped gpu
# tests) so that the final line of the output says how the run went.
set +e
ctest --test-dir build --output-on-failure -j "$jobs" 2>&1 | tee build.ctest.log
status=${PIPESTATUS[0]}
set -e
skipped=$(grep -c '(Skipped)$' build.ctest.log || true)
echo "== build-cpu: $(grep -E '% tests passed' build-cpu.ctest.log | tail -1)"
echo "== build ($skipped skipped: gpu tests need a GPU): $(grep -E '% tests passed' build.ctest.log | tail -1)"
exit "$status"
