#!/usr/bin/env bash
# CAM clips per second on the CPU, hl against TensorFlow running the same graph on the same
# machine (issue 16's benchmark; docs/benchmarks.md "CAM against TensorFlow (CPU)").
#   ours: hl-bench --benchmark_filter=Multisensory (bench/bench_multisensory.cpp,
#         MultisensoryCpu::run on one 125 x 224 x 224 clip with 87,588 stereo samples)
#   peer: bench/peers/multisensory_tf.py (make_multisensory_golden.py's graph in a tf.function)
# both on the full-width random checkpoint of tests/nets/make_multisensory_fixtures.py, at
# 1 and 2 threads (HL_NUM_THREADS for us; intra/inter-op threads for TensorFlow), the two
# interleaved (ours, TF, ours, TF, ...) REPS times, each run under `chrt -f 10` (real-time
# priority: steadier on a shared machine; we must be root). Prints medians and ratios.
#
# Usage: bench/cam-vs-tf.sh [BUILD_DIR] [REPS]      (defaults: build, 3)
# Environment: TF_PY (default /work/tfvenv/bin/python) a Python with TensorFlow, made by
#   python3 -m venv DIR && DIR/bin/pip install tensorflow-cpu==2.21.0
# HL_MULTISENSORY_FULL=DIR reuses a folder with cam_w1.* (else one is made under /tmp and
# removed at the end; ~10 s, 144 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
reps=${2:-3}
py=${TF_PY:-/work/tfvenv/bin/python}
if ! "$py" -c 'import tensorflow' 2>/dev/null; then
  echo "cam-vs-tf.sh: $py has no TensorFlow (python3 -m venv DIR && DIR/bin/pip install tensorflow-cpu==2.21.0; TF_PY=DIR/bin/python)" >&2
  exit 1
fi
cmake --build "$build" --target hl-bench >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [[ -z ${HL_MULTISENSORY_FULL:-} ]]; then
  HL_MULTISENSORY_FULL=$out/ckpt
  mkdir -p "$HL_MULTISENSORY_FULL"
  HL_MS_WIDTH_DIVISOR=1 HL_MS_OUT=$HL_MULTISENSORY_FULL TF_CPP_MIN_LOG_LEVEL=3 "$py" tests/nets/make_multisensory_fixtures.py >/dev/null 2>&1
fi
export HL_MULTISENSORY_FULL OPENBLAS_NUM_THREADS=1
# As the hl tools do themselves (kernels/cpu/blas_check.h): Debian's OpenBLAS 0.3.21 falls
# back to its SSE3 kernels on CPUs newer than it.
if [[ -z ${OPENBLAS_CORETYPE:-} ]] && grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}; load before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%F %H:%M UTC')"
for rep in $(seq "$reps"); do
  for t in 1 2; do
    HL_NUM_THREADS=$t chrt -f 10 "$build/bench/hl-bench" --benchmark_filter=Multisensory \
      --benchmark_format=json 2>/dev/null >"$out/hl_${t}_$rep.json"
    OMP_NUM_THREADS=$t chrt -f 10 "$py" bench/peers/multisensory_tf.py "$HL_MULTISENSORY_FULL" --threads "$t" \
      --reps 1 2>/dev/null >"$out/tf_${t}_$rep.json"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" - "$out" "$reps" <<'EOF'
import json, pathlib, statistics, sys
out, reps = pathlib.Path(sys.argv[1]), int(sys.argv[2])
print("| threads | hl s/clip | hl clips/s | TF s/clip | TF clips/s | hl / TF (clips/s) |")
print("|---|---|---|---|---|---|")
for t in (1, 2):
    hl = [b["real_time"] for r in range(1, reps + 1)
          for b in json.loads((out / f"hl_{t}_{r}.json").read_text())["benchmarks"]]
    tf = [s for r in range(1, reps + 1) for s in json.loads((out / f"tf_{t}_{r}.json").read_text())["seconds"]]
    h, f = statistics.median(hl), statistics.median(tf)
    print(f"| {t} | {h:.2f} | {1 / h:.3f} | {f:.2f} | {1 / f:.3f} | {f / h:.2f}x |")
print(f"(medians of {reps} interleaved runs each; runs: hl", end=" ")
for t in (1, 2):
    print(t, "thr", [round(b["real_time"], 2) for r in range(1, reps + 1)
                    for b in json.loads((out / f"hl_{t}_{r}.json").read_text())["benchmarks"]], end="; ")
print("TF", end=" ")
for t in (1, 2):
    print(t, "thr", [round(s, 2) for r in range(1, reps + 1)
                    for s in json.loads((out / f"tf_{t}_{r}.json").read_text())["seconds"]], end="; ")
print(")")
EOF
