#!/usr/bin/env bash
# Installs what is needed, builds hl in both CUDA settings and runs the tests:
#   build-cpu:  HL_CUDA=OFF, the cpu-labelled tests (proves the CPU-only build)
#   build-asan: the readers of untrusted files and their hostile-input tests under
#               AddressSanitizer and UBSan
#   build:      HL_CUDA=AUTO (CUDA when nvcc is found), every test; gpu tests skip
#               visibly on a machine without a GPU.
# Ends with ctest's summary of the full run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

# Each header compiles on its own against libc++ without transitive includes (clang), so
# that a header leaning on another standard header's includes fails here and not first
# under the GPU machine's newer GCC (a minute or two on 2 cores).
echo "== headers (tools/check-headers.sh)"
bash tools/check-headers.sh

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

# The code that reads untrusted files (safetensors, PyTorch files, images, media, CSV), and its tests with
# hostile inputs, once more under AddressSanitizer and UBSan.
echo "== build-asan (HL_SANITIZE=ON: readers of untrusted files under ASan/UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHL_CUDA=OFF -DHL_SANITIZE=ON \
  -DHL_BUILD_BENCH=OFF -DHL_BUILD_TOOLS=OFF > build-asan.configure.log 2>&1 || { cat build-asan.configure.log; exit 1; }
asan_targets=(test_safetensors test_fuzz_corpus_replay test_metrics test_csv_fuzz_corpus_replay test_fuzz_feature_corpus_replay test_torch_hostile test_torch_file test_image test_tf_checkpoint test_tf_checkpoint_hostile test_multisensory_fuzz_corpus_replay)
grep -q '^HL_FFMPEG:BOOL=ON' build-asan/CMakeCache.txt && asan_targets+=(test_media)
cmake --build build-asan -j "$jobs" --target "${asan_targets[@]}"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan -R '^(SafetensorsRoundTrip|SafetensorsMalformedPaths|SafetensorsWriter|Files/SafetensorsMalformed|FuzzCorpusReplay|Csv|CsvLimits|VideoId|ExactDecimal|CsvFuzzCorpusReplay|FuzzFeatureCorpusReplay|SegmentScores|MediaProbe|MediaVideo|MediaErrors|MediaQueue|MediaFuzzCorpusReplay|TorchPickle|TorchHostile|TorchFuzzCorpusReplay|TorchFileGolden|ImageFiles|TfCheckpointGolden|Crc32c|TfCheckpointHostile|TfCheckpointBuilt|TfCheckpointFuzzCorpusReplay|MultisensoryFuzzCorpusReplay)[.]' \
  --output-on-failure -j "$jobs" 2>&1 | tee build-asan.ctest.log
test "${PIPESTATUS[0]}" -eq 0

echo "== build (HL_CUDA=AUTO)"
configure_and_build build -DHL_CUDA=AUTO
grep -E "hl: CUDA backend" build.configure.log || true

# The GPU check's preparation and a dry run of it (docs/gpu-status.md): the carried
# programs from this CUDA build must load and run here, every step of the check must
# run, and what it returns must fit a device call's limits. No GPU is needed.
if grep -q '^CMAKE_CUDA_COMPILER:[A-Z]*=.' build/CMakeCache.txt; then
  echo "== gpu-check dry run (tools/prepare-gpu-carry.sh, tools/gpu-check.sh --dry-run)"
  bash tools/prepare-gpu-carry.sh --build-dir build 2>&1 | tee build.gpu-carry.log
  test "${PIPESTATUS[0]}" -eq 0
  dry_out=$(mktemp -d)
  OUT=$dry_out HL_PYTHON=/usr/bin/python3 bash tools/gpu-check.sh --dry-run --budget 240 > build.gpu-check.log 2>&1 \
    || { cat build.gpu-check.log; echo "gpu-check --dry-run failed"; exit 1; }
  tail -n 16 build.gpu-check.log
  python3 tools/gpu_check_report.py verify-out "$dry_out"
  rm -rf "$dry_out"
fi
# The full run; its summary line is repeated last (after ctest's list of skipped gpu
# tests) so that the final line of the output says how the run went.
set +e
ctest --test-dir build --output-on-failure -j "$jobs" 2>&1 | tee build.ctest.log
status=${PIPESTATUS[0]}
set -e
skipped=$(grep -c '(Skipped)$' build.ctest.log || true)
echo "== build-cpu: $(grep -E '% tests passed' build-cpu.ctest.log | tail -1)"
echo "== build-asan: $(grep -E '% tests passed' build-asan.ctest.log | tail -1)"
echo "== build ($skipped skipped: gpu tests need a GPU): $(grep -E '% tests passed' build.ctest.log | tail -1)"
exit "$status"
