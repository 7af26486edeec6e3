#!/usr/bin/env bash
# The GPU check (DESIGN section 7, docs/gpu-status.md): everything a lent H100/H200 must
# verify, in one call of at most 8 minutes, from programs prebuilt here.
#
# On this machine:  bash tools/prepare-gpu-carry.sh      (third_party/gpu-carry.tar.xz)
# On the GPU one:   HL_COMMIT=<commit> bash tools/gpu-check.sh   (carry ["third_party"])
# Dry run here:     bash tools/gpu-check.sh --dry-run    (no GPU: every step, the report)
#
# Steps, each with its own time limit inside the budget, going on past failures:
#   probe       nvidia-smi, OS, compilers, where CUDA/cuBLAS/cuFFT/cuDNN are, whether
#               compute-sanitizer runs
#   unpack      the carried archive; commit check against HL_COMMIT
#   libraries   ldd on every program; missing libraries are searched for; a program that
#               still cannot load is rebuilt here from the carried sources (all cores)
#   gpu-tests   every gpu test program, several at once, HL_CUDA_SYNC_CHECK=1, JUnit XML
#   train-e2e   hl-synth + hl-train --device cuda against --device cpu (same seed)
#   memcheck    compute-sanitizer memcheck over the test programs (not the whole-network
#               CNN tests nor whole training runs: far too slow under memcheck; their ops
#               are tested one by one)
#   racecheck   the tests of the kernels that use shared memory or warp shuffles
#   bench-*     hl-bench-cuda, then the PyTorch peers (JSON written row by row), without
#               HL_CUDA_SYNC_CHECK; torch.compile last, optional and time-boxed
# Results: $OUT/gpu-report.md, $OUT/summary.json, $OUT/logs.tar.gz (every raw log, JUnit
# XML and benchmark JSON) — 3 of the 8 files a device call returns — and a short table
# printed last. Exit status 0 when the check passed.
#
# Options: --dry-run (no GPU expected: "no CUDA device" skips are the expected outcome),
#          --budget SECONDS (default 450, dry run 150).
# Environment: OUT (default ./gpu-report), HL_COMMIT, CUDNN_ROOT, HL_GPU_CHECK_JOBS,
#   HL_PYTHON (the python with PyTorch; default python3), HL_GPU_CHECK_WORK (scratch
#   folder, default $TMPDIR/hl-gpu-check).
# Nothing here changes GPU settings.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=device
budget=""
while (($#)); do
  case $1 in
    --dry-run) mode=dry-run; shift ;;
    --budget) budget=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n $budget ]] || budget=$([[ $mode == dry-run ]] && echo 150 || echo 450)
out=${OUT:-$root/gpu-report}
mkdir -p "$out" && out=$(cd "$out" && pwd)
rm -f "$out/gpu-report.md" "$out/summary.json" "$out/logs.tar.gz"
work=${HL_GPU_CHECK_WORK:-${TMPDIR:-/tmp}/hl-gpu-check}
rm -rf "$work" && mkdir -p "$work/logs/tests" "$work/logs/junit" "$work/logs/sanitizer" "$work/logs/bench"
logs=$work/logs
jobs=${HL_GPU_CHECK_JOBS:-$(nproc)}
parallel=$((jobs >= 8 ? 4 : 2))
python=${HL_PYTHON:-$(command -v python3 || command -v python || echo python3)}  # the one with PyTorch
started=$(date +%s)
reserve=25  # seconds kept for the report and the archive
steps_tsv=$work/steps.tsv
facts=$work/facts.txt
: >"$steps_tsv"
: >"$facts"

log() { echo "[gpu-check $(($(date +%s) - started))s] $*"; }
fact() { printf '%s\t%s\n' "$1" "$2" >>"$facts"; }
remaining() { echo $((budget - ($(date +%s) - started) - reserve)); }
# record NAME STATUS SECONDS NOTE — status: ok | failed | timed-out | no-device |
# not-available | skipped | optional-failed
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$steps_tsv"; log "$1: $2 ${4:-}"; }
# limit MAX: MAX capped by the time left (0 when too little is left to start).
limit() { local left; left=$(remaining); ((left < 5)) && { echo 0; return; }; echo $(($1 < left ? $1 : left)); }
# run_logged NAME MAX LOGFILE COMMAND...: runs with a time limit; sets rc and took.
run_logged() {
  local name=$1 max=$2 logfile=$3; shift 3
  local lim; lim=$(limit "$max")
  took=0
  if ((lim == 0)); then rc=-1; return; fi
  local t0; t0=$(date +%s)
  timeout --kill-after=5 "$lim" "$@" >"$logfile" 2>&1
  rc=$?
  took=$(($(date +%s) - t0))
}
status_of() {  # rc -> status word for a program run
  case $1 in
    -1) echo skipped ;; 0) echo ok ;; 77) echo no-device ;; 124|137) echo timed-out ;; *) echo failed ;;
  esac
}

# --- probe ---------------------------------------------------------------------------
t0=$(date +%s)
{
  echo "== nvidia-smi"; timeout 20 nvidia-smi 2>&1 || echo "(nvidia-smi failed or absent)"
  echo "== os"; cat /etc/os-release 2>/dev/null | head -4; uname -a
  echo "== compilers"; for c in gcc g++ clang++ nvcc cmake ninja; do printf '%s: ' "$c"; ($c --version 2>/dev/null || echo absent) | head -1; done
  echo "== python"; "$python" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1 | tail -1
} >"$logs/probe.log" 2>&1
gpu_name=$(timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
fact gpu "${gpu_name:-none visible}"
fact os "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}") (kernel $(uname -r))"
fact gcc "$( (gcc --version 2>/dev/null || echo absent) | head -1)"
fact nvcc "$( (nvcc --version 2>/dev/null || /usr/local/cuda/bin/nvcc --version 2>/dev/null || echo absent) | tail -1)"
fact python "$("$python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo absent)"
fact torch "$("$python" -c 'import torch; print(torch.__version__, "(CUDA)" if torch.cuda.is_available() else "(no CUDA)")' 2>/dev/null || echo absent)"

# Where the CUDA libraries are: CUDNN_ROOT, the system's loader cache, the toolkit, the
# NVIDIA PyPI wheels beside PyTorch, then a search of the usual prefixes.
wheel_dirs=$("$python" -c 'import nvidia, os
for p in nvidia.__path__:
    for d, _, files in os.walk(p):
        if any(".so" in f for f in files) and os.path.basename(d) in ("lib", "lib64"): print(d)' 2>/dev/null)
candidate_dirs=()
[[ -n ${CUDNN_ROOT:-} ]] && candidate_dirs+=("$CUDNN_ROOT/lib" "$CUDNN_ROOT/lib64")
candidate_dirs+=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib)
lib_path=()
ldcache=$(ldconfig -p 2>/dev/null)
find_soname() {  # soname -> prints "dir<TAB>how" or nothing
  local so=$1 d
  if [[ -n ${CUDNN_ROOT:-} ]]; then
    for d in "$CUDNN_ROOT/lib" "$CUDNN_ROOT/lib64"; do [[ -e $d/$so ]] && { printf '%s\tCUDNN_ROOT\n' "$d"; return; }; done
  fi
  d=$(awk -v n="$so" '$1 == n && /x86-64/ {print $NF; exit}' <<<"$ldcache")
  [[ -n $d ]] && { printf '%s\tsystem\n' "$(dirname "$d")"; return; }
  for d in "${candidate_dirs[@]}"; do [[ -e $d/$so ]] && { printf '%s\ttoolkit\n' "$d"; return; }; done
  while read -r d; do [[ -n $d && -e $d/$so ]] && { printf '%s\twheel\n' "$d"; return; }; done <<<"$wheel_dirs"
  d=$(timeout 15 find /usr /opt /usr/local -maxdepth 7 -name "$so" 2>/dev/null | head -1)
  [[ -n $d ]] && printf '%s\tsearch\n' "$(dirname "$d")"
}
for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcufft.so.12 libcudnn.so.9; do
  found=$(find_soname "$so")
  if [[ -z $found ]]; then
    fact "lib $so" "NOT FOUND"
  else
    fact "lib $so" "$(cut -f1 <<<"$found") ($(cut -f2 <<<"$found"))"
    [[ $(cut -f2 <<<"$found") == system ]] || lib_path+=("$(cut -f1 <<<"$found")")
  fi
done
cudnn_header=$(ls "${CUDNN_ROOT:-/nonexistent}"/include/cudnn.h /usr/include/cudnn.h /usr/include/*/cudnn.h \
  /usr/local/cuda/include/cudnn.h 2>/dev/null | head -1)
[[ -z $cudnn_header ]] && while read -r d; do
  [[ -n $d && -f $d/../include/cudnn.h ]] && { cudnn_header=$(cd "$d/../include" && pwd)/cudnn.h; break; }
done <<<"$wheel_dirs"
fact "cudnn.h" "${cudnn_header:-NOT FOUND (needed only to rebuild)}"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | head -1)
if [[ -n $sanitizer ]] && timeout 20 "$sanitizer" --version >>"$logs/probe.log" 2>&1; then
  fact compute-sanitizer "$sanitizer ($("$sanitizer" --version 2>/dev/null | grep -io 'version [0-9.]*' | head -1))"
else
  fact compute-sanitizer "not found"
  sanitizer=""
fi
record probe ok $(($(date +%s) - t0)) "${gpu_name:-no GPU visible}"

# --- unpack ----------------------------------------------------------------------------
t0=$(date +%s)
carry=$work/carry
mkdir -p "$carry"
carry_commit=""
if [[ -f third_party/gpu-carry.tar.xz ]] && tar -C "$carry" -xJf third_party/gpu-carry.tar.xz 2>"$logs/unpack.log"; then
  carry_commit=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["commit"])' "$carry/MANIFEST.json" 2>/dev/null)
  note="carry of commit ${carry_commit:-unknown}"
  want=${HL_COMMIT:-}
  if [[ -n $want && -n $carry_commit && ${carry_commit%-dirty} != "$want"* && $want != "${carry_commit%-dirty}"* ]]; then
    note+="; HL_COMMIT is $want: the programs are not of the commit being checked"
    fact warning "carried programs are of commit $carry_commit, not HL_COMMIT $want"
  fi
  record unpack ok $(($(date +%s) - t0)) "$note"
else
  record unpack failed $(($(date +%s) - t0)) "no third_party/gpu-carry.tar.xz (run tools/prepare-gpu-carry.sh here first); rebuilding everything"
fi
fact commit "${HL_COMMIT:-${carry_commit:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}}"
fact carry_commit "${carry_commit:-none}"
mkdir -p "$carry/bin" "$carry/lib"
lib_path=("$carry/lib" ${lib_path[@]+"${lib_path[@]}"})
join_path() { local IFS=:; echo "$*"; }
export LD_LIBRARY_PATH=$(join_path "${lib_path[@]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# --- libraries: every program must load; rebuild what cannot -------------------------
t0=$(date +%s)
unloadable=()
check_loads() {  # program -> 0 when ldd finds every library and version
  local out; out=$(ldd "$1" 2>&1)
  ! grep -qE 'not found|No such file' <<<"$out"
}
used_fallback_cxx=no
for exe in "$carry"/bin/*; do
  [[ -x $exe ]] || continue
  if ! check_loads "$exe"; then
    # An older C++ runtime than the one built with: use the carried one.
    if ldd "$exe" 2>&1 | grep -qE "(GLIBCXX|CXXABI|GCC)_[0-9.]+' not found" && [[ $used_fallback_cxx == no ]]; then
      export LD_LIBRARY_PATH=$carry/lib/fallback:$LD_LIBRARY_PATH
      used_fallback_cxx=yes
    fi
    check_loads "$exe" || { unloadable+=("$(basename "$exe")"); ldd "$exe" >>"$logs/libraries.log" 2>&1; }
  fi
done
[[ $used_fallback_cxx == yes ]] && fact "C++ runtime" "the carried libstdc++ (the machine's is older)"
gpu_tests=$("$python" -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["gpu_tests"]))' "$carry/MANIFEST.json" 2>/dev/null)
[[ -n $gpu_tests ]] || gpu_tests=$(cd "$root/tests" && ls cuda/test_cuda_*.cpp ops/test_op_table_cuda.cpp 2>/dev/null \
  | xargs -n1 basename 2>/dev/null | sed 's/\.cpp$//' | grep -v '^test_cuda_unavailable$' | tr '\n' ' ')
for t in $gpu_tests hl-bench-cuda hl-synth hl-train; do
  [[ -x $carry/bin/$t ]] || unloadable+=("$t")
done
if ((${#unloadable[@]} == 0)); then
  record libraries ok $(($(date +%s) - t0)) "every carried program loads"
else
  record libraries failed $(($(date +%s) - t0)) "cannot load or missing: ${unloadable[*]} (see logs/libraries.log); rebuilt after the tests of the others"
fi
is_unloadable() { [[ " ${unloadable[*]} " == *" $1 "* ]]; }

# The fallback, only for programs that cannot load: configure and build just those
# targets here with all cores, from the carried sources.
rebuild_unloadable() {
  # The fallback: configure and build only those targets here with all cores.
  build=$work/build
  src=$carry/src
  cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DHL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DHL_FFMPEG=OFF -DHL_FUZZ=OFF)
  command -v ninja >/dev/null || cmake_args=(-DCMAKE_BUILD_TYPE=Release -DHL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DHL_FFMPEG=OFF -DHL_FUZZ=OFF)
  [[ -d /usr/local/cuda/bin ]] && export PATH=$PATH:/usr/local/cuda/bin
  [[ -n $cudnn_header ]] && cmake_args+=(-DCUDNN_ROOT="$(dirname "$(dirname "$cudnn_header")")")
  [[ -f $src/googletest/CMakeLists.txt ]] && cmake_args+=(-DHL_GTEST_SOURCE="$src/googletest")
  ls /usr/include/nlohmann/json.hpp >/dev/null 2>&1 || cmake_args+=(-Dnlohmann_json_DIR="$src/nlohmann_json/share/cmake/nlohmann_json")
  ls /usr/include/CLI/CLI.hpp >/dev/null 2>&1 || cmake_args+=(-DHL_CLI11_INCLUDE_DIR="$src/cli11/include")
  if ! grep -q 'libopenblas\.so' <<<"$ldcache"; then
    ln -sf libopenblas.so.0 "$carry/lib/libopenblas.so"
    cmake_args+=(-DHL_CBLAS_INCLUDE_DIR="$src/openblas/include" -DHL_OPENBLAS_LIBRARY="$carry/lib/libopenblas.so")
  fi
  bench_config=$(ls "$src"/benchmark/lib/*/cmake/benchmark/benchmarkConfig.cmake 2>/dev/null | head -1)
  if [[ -n $bench_config ]]; then
    cmake_args+=(-Dbenchmark_DIR="$(dirname "$bench_config")")
  else
    cmake_args+=(-DHL_BUILD_BENCH=OFF)
  fi
  run_logged configure 120 "$logs/configure.log" cmake -S "$root" -B "$build" "${cmake_args[@]}"
  if ((rc == 0)); then
    record configure ok "$took"
    # Only targets this configuration has (no Google Benchmark: no hl-bench-cuda); an
    # unknown target would stop the whole build.
    local known t
    known=$(cmake --build "$build" --target help 2>/dev/null)
    targets=()
    for t in "${unloadable[@]}"; do grep -qE "(^|[. ])$t(:|$)" <<<"$known" && targets+=(--target "$t"); done
    if ((${#targets[@]} == 0)); then record build skipped 0 "none of ${unloadable[*]} is a target here"; return; fi
    run_logged build 240 "$logs/build.log" cmake --build "$build" -j "$jobs" "${targets[@]}"
    record build "$(status_of "$rc")" "$took" "targets: ${unloadable[*]}"
    for t in "${unloadable[@]}"; do
      built=$(find "$build" -type f -name "$t" -perm -u+x | head -1)
      [[ -n $built ]] && cp "$built" "$carry/bin/$t"
    done
  else
    record configure "$(status_of "$rc")" "$took" "see logs/configure.log"
  fi
}

# --- gpu tests -------------------------------------------------------------------------
# HL_CUDA_SYNC_CHECK=1: a synchronisation after every launch pins an asynchronous kernel
# fault on the launch that caused it. HL_TEST_DECODED_CLIP: the clip decoded here.
export HL_SOURCE_DIR=$root HL_BINARY_DIR=$work HL_PYTHON=$python
[[ -d $carry/clip ]] && export HL_TEST_DECODED_CLIP=$carry/clip
[[ -d $carry/weights ]] && export HL_WEIGHTS=$carry/weights  # fer-emotion.safetensors (prepare-gpu-carry.sh)
per_program_limit() {  # the whole-network and training programs need longer
  case $1 in test_cuda_cnn|test_cuda_train|test_cuda_extract) echo 240 ;; *) echo 150 ;; esac
}
# racecheck is far slower than memcheck: only the tests of the kernels that use shared
# memory or warp shuffles (reduce, transpose, lstm, mfcc).
racecheck_filter() {
  case $1 in test_cuda_kernels) echo 'CudaReduce.*:CudaTranspose.*' ;; *) echo '*' ;; esac
}
# run_programs STEP_LIMIT KIND PROGRAM...: runs every program (as "KIND"), `parallel` at
# once; each writes logs/<dir>/<name>.log and .rc (and JUnit XML for gpu-tests).
run_programs() {
  local step_limit=$1 kind=$2; shift 2
  local lim; lim=$(limit "$step_limit")
  local deadline=$(($(date +%s) + lim))
  local p name running=0
  for p in "$@"; do
    name=$(basename "$p")
    local left=$((deadline - $(date +%s)))
    if ((left < 3)); then echo 124 >"$logs/$kind/$name.rc"; echo "not started: out of time" >"$logs/$kind/$name.log"; continue; fi
    local own; own=$(per_program_limit "$name"); ((own > left)) && own=$left
    (
      case $kind in
        tests) HL_CUDA_SYNC_CHECK=1 timeout --kill-after=5 "$own" "$carry/bin/$name" \
                 --gtest_output="xml:$logs/junit/$name.xml" >"$logs/tests/$name.log" 2>&1 ;;
        sanitizer/memcheck) HL_CUDA_SYNC_CHECK=1 timeout --kill-after=5 "$own" $sanitizer_cmd --tool memcheck \
                 --report-api-errors no --error-exitcode 99 --print-limit 20 "$carry/bin/$name" --gtest_brief=1 \
                 --gtest_filter=-CudaCnnNets.*:CudaExtract.*:CudaMultisensory.* >"$logs/$kind/$name.log" 2>&1 ;;
        sanitizer/racecheck) timeout --kill-after=5 "$own" $sanitizer_cmd --tool racecheck --error-exitcode 99 \
                 --print-limit 20 "$carry/bin/$name" --gtest_brief=1 --gtest_filter="$(racecheck_filter "$name")" \
                 >"$logs/$kind/$name.log" 2>&1 ;;
      esac
      echo $? >"$logs/$kind/$name.rc"
    ) &
    running=$((running + 1))
    if ((running >= parallel)); then wait -n; running=$((running - 1)); fi
  done
  wait
}
# summarise_programs STEP KIND T0 PROGRAM...: one step row from the programs' exit codes.
summarise_programs() {
  local step=$1 kind=$2 t0=$3; shift 3
  local p rc_p ok=0 nodev=0 bad=()
  for p in "$@"; do
    rc_p=$(cat "$logs/$kind/$p.rc" 2>/dev/null || echo 124)
    case $rc_p in 0) ok=$((ok + 1)) ;; 77) nodev=$((nodev + 1)) ;; *) bad+=("$p ($(status_of "$rc_p"), exit $rc_p)") ;; esac
  done
  local status=ok
  ((${#bad[@]} > 0)) && status=failed
  ((${#bad[@]} == 0 && nodev > 0)) && status=no-device
  record "$step" "$status" $(($(date +%s) - t0)) "$ok ok, $nodev no device, ${#bad[@]} failed${bad[*]:+: ${bad[*]}}"
}

programs=()
for t in $gpu_tests; do [[ -x $carry/bin/$t ]] && ! is_unloadable "$t" && programs+=("$t"); done
mkdir -p "$logs/sanitizer/memcheck" "$logs/sanitizer/racecheck"
t0=$(date +%s)
if ((${#programs[@]} == 0)); then
  record gpu-tests failed 0 "no gpu test program could be loaded or built"
elif (($(limit 200) == 0)); then
  record gpu-tests skipped 0 "out of time"
else
  log "gpu-tests: ${#programs[@]} programs, $parallel at once"
  run_programs 200 tests "${programs[@]}"
  summarise_programs gpu-tests tests "$t0" "${programs[@]}"
fi
if ((${#unloadable[@]} > 0)); then
  rebuild_unloadable
  rebuilt=()
  for t in $gpu_tests; do is_unloadable "$t" && [[ -x $carry/bin/$t ]] && check_loads "$carry/bin/$t" && rebuilt+=("$t"); done
  if ((${#rebuilt[@]} > 0)); then
    t0=$(date +%s)
    run_programs 200 tests "${rebuilt[@]}"
    summarise_programs gpu-tests-rebuilt tests "$t0" "${rebuilt[@]}"
    programs+=("${rebuilt[@]}")
  fi
fi

# --- hl-train on CUDA against the CPU, as a user runs it --------------------------------
t0=$(date +%s)
if [[ -x $carry/bin/hl-synth && -x $carry/bin/hl-train ]] && (($(limit 60) > 0)); then
  e2e=$work/train-e2e
  train_args=(--features "$e2e/data/features" --labels "$e2e/data/labels.csv" --folds 2 --epochs 2 --batch 32
              --seed 3 --use googlenet,mfcc --log-level warn)
  run_logged train-e2e 60 "$logs/train-e2e.log" bash -c "
    set -e
    '$carry/bin/hl-synth' --out '$e2e/data' --videos 8 --seconds 20,30 --seed 3 --features googlenet,mfcc --log-level warn
    '$carry/bin/hl-train' ${train_args[*]} --out '$e2e/cpu' --device cpu
    '$carry/bin/hl-train' ${train_args[*]} --out '$e2e/cuda' --device cuda"
  if ((rc == 0)); then
    # The held-out predictions may differ by float rounding grown over the steps: 1e-3
    # relative, the tolerance of test_cuda_train (tests/cuda/test_cuda_train.cpp).
    cmp=$("$python" "$root/tools/gpu_check_report.py" compare-predictions "$e2e/cpu/predictions.csv" \
          "$e2e/cuda/predictions.csv" 1e-3 2>&1)
    cmp_rc=$?
    echo "$cmp" >>"$logs/train-e2e.log"
    record train-e2e "$([[ $cmp_rc == 0 ]] && echo ok || echo failed)" "$took" "$cmp"
  elif [[ $mode == dry-run ]] && grep -q 'no CUDA device' "$logs/train-e2e.log"; then
    record train-e2e no-device "$took" "the CPU run passed; --device cuda: no CUDA device"
  else
    record train-e2e "$(status_of "$rc")" "$took" "see logs/train-e2e.log"
  fi
else
  record train-e2e skipped 0 "$([[ -x $carry/bin/hl-synth && -x $carry/bin/hl-train ]] && echo 'out of time' || echo 'hl-synth or hl-train not available')"
fi

# --- compute-sanitizer ---------------------------------------------------------------
# The dry run has no sanitizer (and no device): `env` stands in, so that the loop, the
# logs and the report are exercised all the same.
sanitizer_cmd=$sanitizer
if [[ -z $sanitizer_cmd && $mode == dry-run ]]; then
  sanitizer_cmd=$work/sanitizer-stand-in
  # Drops the sanitizer's own options and runs the program with its arguments.
  printf '%s\n' '#!/usr/bin/env bash' 'while [[ $# -gt 0 && $1 == --* ]]; do case $1 in --tool|--report-api-errors|--error-exitcode|--print-limit) shift 2 ;; *) shift ;; esac; done' 'exec "$@"' >"$sanitizer_cmd"
  chmod +x "$sanitizer_cmd"
  fact "sanitizer stand-in" "dry run: a script that runs the programs directly"
fi
racecheck_programs=()  # kernels with shared memory or warp shuffles: reduce, transpose, loss, lstm, mfcc
for t in test_cuda_kernels test_cuda_autograd_lstm test_cuda_mfcc; do
  [[ " ${programs[*]} " == *" $t "* ]] && racecheck_programs+=("$t")
done
# memcheck: every program but the whole-network extraction and whole training runs (their
# ops are under memcheck in the other programs: the op table, test_cuda_cnn's ops);
# test_cuda_cnn and test_cuda_multisensory run with their whole networks filtered out
# (--gtest_filter in run_programs).
memcheck_programs=()
for t in "${programs[@]}"; do [[ $t == test_cuda_extract || $t == test_cuda_train ]] || memcheck_programs+=("$t"); done
for tool in memcheck racecheck; do
  t0=$(date +%s)
  if [[ -z $sanitizer_cmd ]]; then
    record "$tool" not-available 0 "compute-sanitizer not found"
    continue
  fi
  if [[ $tool == memcheck ]]; then list=("${memcheck_programs[@]}"); cap=110; else list=(${racecheck_programs[@]+"${racecheck_programs[@]}"}); cap=60; fi
  if ((${#list[@]} == 0)); then record "$tool" skipped 0 "no programs"; continue; fi
  if (($(limit "$cap") == 0)); then record "$tool" skipped 0 "out of time"; continue; fi
  run_programs "$cap" "sanitizer/$tool" "${list[@]}"
  summarise_programs "$tool" "sanitizer/$tool" "$t0" "${list[@]}"
done

# --- benchmarks: alone, without the per-launch synchronisation ----------------------
unset HL_CUDA_SYNC_CHECK
bench_step() {  # NAME MAX OPTIONAL(yes|no) COMMAND...
  local name=$1 max=$2 optional=$3; shift 3
  if (($(limit "$max") == 0)); then record "$name" skipped 0 "out of time"; return; fi
  run_logged "$name" "$max" "$logs/bench/$name.log" "$@"
  local status; status=$(status_of "$rc")
  if grep -q 'no CUDA device' "$logs/bench/$name.log" 2>/dev/null; then status=no-device; fi
  [[ $status == failed && $optional == yes ]] && status=optional-failed
  [[ $status == timed-out && $optional == yes ]] && status=optional-failed
  record "$name" "$status" "$took" "logs/bench/$name.log"
}
if [[ -x $carry/bin/hl-bench-cuda ]]; then
  bench_step bench-cuda 60 no "$carry/bin/hl-bench-cuda" --benchmark_min_time=0.05 --benchmark_filter=-cnn \
    --benchmark_out="$logs/bench/bench-cuda.json" --benchmark_out_format=json
  bench_step bench-cnn 50 no "$carry/bin/hl-bench-cuda" --benchmark_min_time=0.2 --benchmark_filter=cnn \
    --benchmark_out="$logs/bench/bench-cnn.json" --benchmark_out_format=json
else
  record bench-cuda failed 0 "hl-bench-cuda not available"
fi
bench_step torch-peer 45 no "$python" bench/peers/torch_cuda.py "$logs/bench/torch-cuda.json" --min-time 0.05
bench_step torch-cnn-peer 45 no "$python" bench/peers/torch_cnn_cuda.py "$logs/bench/torch-cnn.json" --min-time 0.2
bench_step torch-compile 60 yes "$python" bench/peers/torch_cnn_cuda.py "$logs/bench/torch-cnn-compiled.json" \
  --min-time 0.2 --compile-only

# --- report --------------------------------------------------------------------------
fact elapsed_s $(($(date +%s) - started))
cp "$carry/MANIFEST.json" "$logs/MANIFEST.json" 2>/dev/null
cp "$steps_tsv" "$facts" "$logs/"
if ! "$python" "$root/tools/gpu_check_report.py" report --work "$work" --out "$out" --mode "$mode" \
    >"$work/short.txt" 2>"$logs/report-errors.log"; then
  # Without a working python the report is the step table alone.
  { echo "# GPU check report (minimal: tools/gpu_check_report.py failed, see logs/report-errors.log)"
    echo; echo '| step | status | seconds | note |'; echo '|---|---|---|---|'
    awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$steps_tsv"
    echo; echo "## result: FAIL"; } >"$out/gpu-report.md"
  printf '{"result": "FAIL", "reason": "report script failed"}\n' >"$out/summary.json"
  cp "$out/gpu-report.md" "$work/short.txt"
fi
# Every raw log, JUnit XML and benchmark JSON in one archive under the 16 MiB a returned
# file may have: logs over 2 MiB keep their last 2 MiB.
find "$logs" -type f -size +2M -exec sh -c 'tail -c 2097152 "$1" >"$1.tail" && mv "$1.tail" "$1"' _ {} \;
tar -C "$work" -czf "$out/logs.tar.gz" logs
cat "$work/short.txt"
echo "files in $out: $(cd "$out" && ls | tr '\n' ' ')"
grep -q '"result": "PASS"' "$out/summary.json"
