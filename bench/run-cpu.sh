#!/usr/bin/env bash
# Runs the CPU benchmarks and their peers on this machine and prints the ratio tables
# that docs/benchmarks.md records. Usage: bench/run-cpu.sh [BUILD_DIR]   (default build)
# The machine should be otherwise idle; everything runs single-threaded unless noted.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
py=.venv/bin/python
out=$(mktemp -d)
cmake --build "$build" --target hl-bench >/dev/null
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
"$build/bench/hl-bench" --benchmark_out="$out/hl.json" --benchmark_out_format=json \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true >/dev/null
$py bench/peers/torch_cpu.py "$out/torch.json" --threads 1
$py bench/peers/mfcc_cpu.py "$out/mfcc"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%F)"
echo; echo "### Kernels vs PyTorch (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/torch.json"
echo; echo "### MFCC vs python_speech_features"; $py bench/compare.py "$out/hl.json" "$out/mfcc.psf.json"
echo; echo "### MFCC vs torchaudio"; $py bench/compare.py "$out/hl.json" "$out/mfcc.torchaudio.json"
rm -rf "$out"
