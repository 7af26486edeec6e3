#!/usr/bin/env bash
# Peak resident memory and epoch time of hl-train against the size of its dataset
# (issue 18; docs/benchmarks.md, "Dataset memory"): 12, 200 and 2,000 one-minute videos
# with all six features in f16, as hl-synth writes them (12.4 MB a video).
#
# Usage: bench/dataset-memory.sh [BUILD_DIR] [BASELINE_HL_TRAIN]
#   BUILD_DIR          has tools/hl-synth and tools/hl-train (default: build)
#   BASELINE_HL_TRAIN  another hl-train to compare against in the same run (e.g. one built
#                      from an earlier commit); it runs at 12 and 200 videos only.
#
# Every run is `hl-train --folds 2` under /usr/bin/time -v (peak RSS: "Maximum resident
# set size"), once with 1 epoch and once with 3; the time of one epoch (training and
# validation of one fold) is the difference divided by 2 folds × 2 epochs, so opening the
# data, the input statistics and the test predictions cancel out. Times are wall clock and
# CPU (user + sys), one OpenBLAS thread. Disk: 200 distinct videos (2.5 GB) in a
# temporary folder; the 12-video set is the first 12 of them, and the 2,000-video set
# links each of the 200 under 10 names (as bench/bench_train_epoch.cpp does: the page
# cache then holds 2.5 GB, not 25 GB). The folder is removed at the end. To skip the
# generation (4 minutes), point HL_SYNTH_200 at an existing `hl-synth --videos 200
# --seconds 60,60 --seed 1` output folder; it is linked from, never changed.
set -euo pipefail
build=${1:-build}
baseline=${2:-}
synth=$build/tools/hl-synth
train=$build/tools/hl-train
for b in "$synth" "$train" ${baseline:+"$baseline"}; do
  [[ -x $b ]] || { echo "dataset-memory.sh: no program $b" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/hl-dataset-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

if [[ -n ${HL_SYNTH_200:-} ]]; then
  mkdir -p "$work/d200/features"
  ln "$HL_SYNTH_200"/features/*.safetensors "$work/d200/features/"
  cp "$HL_SYNTH_200/labels.csv" "$work/d200/labels.csv"
else
  "$synth" --out "$work/d200" --videos 200 --seconds 60,60 --seed 1 >/dev/null 2>&1
fi

# A set of n videos: video k links d200's video k mod 200; labels likewise.
make_set() {
  local n=$1 dir=$work/d$1
  mkdir -p "$dir/features"
  echo "video,segment,score" >"$dir/labels.csv"
  for ((k = 0; k < n; k++)); do
    local src dst
    src=$(printf 'synth_%04d' $((k % 200)))
    dst=$(printf 'synth_%04d' "$k")
    ln "$work/d200/features/$src.safetensors" "$dir/features/$dst.safetensors"
    grep "^$src," "$work/d200/labels.csv" | sed "s/^$src,/$dst,/" >>"$dir/labels.csv"
  done
}
make_set 12
make_set 2000

# run PROGRAM VIDEOS EPOCHS: prints "peak_MB wall_s cpu_s".
run() {
  local program=$1 n=$2 epochs=$3 out=$work/out log=$work/time.log
  rm -rf "$out"
  /usr/bin/time -v "$program" --features "$work/d$n/features" --labels "$work/d$n/labels.csv" --out "$out" \
    --folds 2 --epochs "$epochs" --seed 1 >/dev/null 2>"$log" || { tail -5 "$log" >&2; return 1; }
  awk -F': ' '/Maximum resident/ {kb = $2} /User time/ {u = $2} /System time/ {s = $2}
    /Elapsed \(wall clock\)/ {n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i]}
    END {printf "%.0f %.1f %.1f\n", kb / 1024, w, u + s}' "$log"
}

echo "machine: $(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u '+%F %H:%M') UTC"
echo
echo "| videos | features on disk | program | peak RSS (1 epoch) | peak RSS (3 epochs) | epoch, wall | epoch, CPU |"
echo "|---|---|---|---|---|---|---|"
for n in 12 200 2000; do
  size=$(awk -v n="$n" 'BEGIN {printf "%.2f GB", n * 12.4e6 / 1e9}')
  programs=("$train")
  [[ -n $baseline && $n -le 200 ]] && programs=("$baseline" "$train")
  for p in "${programs[@]}"; do
    read -r m1 w1 c1 < <(run "$p" "$n" 1)
    read -r m3 w3 c3 < <(run "$p" "$n" 3)
    name=$([[ $p == "$train" ]] && echo "$build" || echo "baseline")
    awk -v n="$n" -v size="$size" -v name="$name" -v m1="$m1" -v m3="$m3" -v w1="$w1" -v w3="$w3" -v c1="$c1" -v c3="$c3" \
      'BEGIN {printf "| %d | %s | %s | %d MB | %d MB | %.2f s | %.2f s |\n", n, size, name, m1, m3, (w3 - w1) / 4, (c3 - c1) / 4}'
  done
done
