#!/usr/bin/env bash
# Runs the CPU benchmarks and their peers on this machine and prints the ratio tables
# that docs/benchmarks.md records. Usage: bench/run-cpu.sh [BUILD_DIR]   (default build)
# The machine should be otherwise idle; everything runs single-threaded unless noted.
# The kernels of bench_cpu_kernels.cpp, the autograd op families, the training step and
# the training epoch (bench_autograd_ops.cpp, bench_train_step.cpp, bench_train_epoch.cpp)
# also run with 2 threads: the engine's pool for us (kernels/cpu/parallel.h, sized by
# OPENBLAS_NUM_THREADS), torch.set_num_threads(2) for PyTorch. The kernel and autograd
# peers time each row as Google Benchmark times ours (bench/peers/gb_timing.py). Takes
# several minutes (the epoch alone: about a minute per side and thread count, plus ~1 GB
# of synthetic feature files written to /tmp and removed); the kernel benchmarks run 9
# repetitions each (HL_BENCH_REPETITIONS=3: quicker, noisier).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
py=.venv/bin/python
out=$(mktemp -d)
cmake --build "$build" --target hl-bench >/dev/null
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# Google Benchmark reports each repetition as the mean of its iterations, so one
# repetition that another process pre-empted comes out slow; the median of 9 drops those
# (3 let the 1-thread row sums read 0.9x PyTorch on a busy machine: docs/benchmarks.md).
reps=${HL_BENCH_REPETITIONS:-9}
# Debian's OpenBLAS 0.3.21 does not know CPUs newer than it and falls back to its SSE3
# kernels (kernels/cpu/blas_check.h); the hl tools restart themselves with the right
# kernels, and here both sides (PyTorch's Linear uses the same OpenBLAS) get them.
if [[ -z ${OPENBLAS_CORETYPE:-} ]] && grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
# The decoding benchmark's video, one file for both sides.
video=$out/decode-720p.mp4
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$video"
export HL_BENCH_VIDEO=$video
"$build/bench/hl-bench" --benchmark_out="$out/hl.json" --benchmark_out_format=json \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true >/dev/null
$py bench/peers/torch_cpu.py "$out/torch.json" --threads 1
$py bench/peers/torch_autograd_cpu.py "$out/torch_ag1.json" --threads 1
$py bench/peers/torch_train_step.py "$out/torch_step1.json" --threads 1
$py bench/peers/torch_train_epoch.py "$out/torch_epoch1.json" --threads 1
# 2 threads: both OpenBLAS (ours, and PyTorch's Debian build links the same pthread
# OpenBLAS, which torch.set_num_threads does not reach) and OpenMP (PyTorch's own loops).
two="env OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2"
$two "$build/bench/hl-bench" --benchmark_filter='BM_(gemm|add|sigmoid|sum_rows)_f32|BM_ag_|BM_train_step|BM_train_epoch' \
  --benchmark_out="$out/hl2.json" --benchmark_out_format=json \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true >/dev/null
$two $py bench/peers/torch_cpu.py "$out/torch2.json" --threads 2
$two $py bench/peers/torch_autograd_cpu.py "$out/torch_ag2.json" --threads 2
$two $py bench/peers/torch_train_step.py "$out/torch_step2.json" --threads 2
$two $py bench/peers/torch_train_epoch.py "$out/torch_epoch2.json" --threads 2
$py bench/peers/mfcc_cpu.py "$out/mfcc"
$py bench/peers/cnn_peer.py "$out/torch_cnn1.json" --threads 1
$py bench/peers/ffmpeg_decode.py "$video" "$out/ffmpeg_decode.json"
echo "machine: $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; $(date -u +%F)"
echo; echo "### Kernels vs PyTorch (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/torch.json"
echo; echo "### Kernels vs PyTorch (2 threads)"; $py bench/compare.py "$out/hl2.json" "$out/torch2.json"
echo; echo "### MFCC vs python_speech_features"; $py bench/compare.py "$out/hl.json" "$out/mfcc.psf.json"
echo; echo "### MFCC vs torchaudio"; $py bench/compare.py "$out/hl.json" "$out/mfcc.torchaudio.json"
echo; echo "### CNN inference, batch 8, vs PyTorch (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/torch_cnn1.json"
echo; echo "### Decoding 720p H.264 to RGB at 29.97 fps vs the ffmpeg command line (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/ffmpeg_decode.json"
echo; echo "### Autograd ops, forward + backward, vs PyTorch (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/torch_ag1.json"
echo; echo "### Autograd ops, forward + backward, vs PyTorch (2 threads)"; $py bench/compare.py "$out/hl2.json" "$out/torch_ag2.json"
echo; echo "### Training step (all features, B segments x 150 frames) vs PyTorch (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/torch_step1.json"
echo; echo "### Training step (all features, B segments x 150 frames) vs PyTorch (2 threads)"; $py bench/compare.py "$out/hl2.json" "$out/torch_step2.json"
echo; echo "### Training epoch (5,000 segments, batch 300, data loading included) vs PyTorch (1 thread)"; $py bench/compare.py "$out/hl.json" "$out/torch_epoch1.json"
echo; echo "### Training epoch (5,000 segments, batch 300, data loading included) vs PyTorch (2 threads)"; $py bench/compare.py "$out/hl2.json" "$out/torch_epoch2.json"
rm -rf "$out"
