#!/usr/bin/env bash
# Fills third_party/ (git-ignored) with what tools/gpu-check.sh needs on the lent GPU
# machine, which has nvcc, CMake, the CUDA libraries and PyTorch but no package registry
# (DESIGN section 7). Run it here, then make the device call with carry: ["third_party"]:
#
#   third_party/googletest        GoogleTest sources (Debian: googletest, /usr/src/googletest)
#   third_party/benchmark         Google Benchmark sources, if a Debian source package can be
#                                 fetched (needs deb-src lines); otherwise
#   third_party/benchmark-prebuilt  this machine's Debian build of it (headers, shared
#                                 library, CMake package), used only if the GPU machine's C++
#                                 runtime can load it; otherwise the benchmarks are skipped
#   third_party/nlohmann_json     header-only JSON library with its CMake package
#   third_party/cli11             header-only CLI11
#   third_party/openblas          OpenBLAS headers and shared library (+ libgfortran,
#                                 libquadmath), gzip-compressed: used only when the GPU
#                                 machine has no OpenBLAS of its own
#
# gpu-check.sh prefers what the GPU machine has installed and falls back to these.
# Idempotent: reruns replace the folders. The carry limit is 64 MiB; the script checks it.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=third_party
mkdir -p "$dest"
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
libdir=/usr/lib/$multiarch

note() { echo "prepare-gpu-carry: $*"; }

fresh() { rm -rf "$dest/$1"; mkdir -p "$dest/$1"; }

# GoogleTest: required.
if [[ ! -f /usr/src/googletest/CMakeLists.txt ]]; then
  echo "prepare-gpu-carry: /usr/src/googletest is missing (Debian package googletest; run tools/setup.sh)" >&2
  exit 1
fi
fresh googletest
cp -a /usr/src/googletest/. "$dest/googletest/"
note "googletest: $(du -sh "$dest/googletest" | cut -f1)"

# Google Benchmark: sources if apt can fetch them, else the installed build.
rm -rf "$dest/benchmark" "$dest/benchmark-prebuilt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if (cd "$tmp" && apt-get source -qq benchmark >/dev/null 2>&1) && src=$(find "$tmp" -maxdepth 1 -mindepth 1 -type d -name 'benchmark-*' | head -1) && [[ -n "$src" ]]; then
  cp -a "$src" "$dest/benchmark"
  rm -rf "$dest/benchmark/.git" "$dest/benchmark/debian"
  note "benchmark: sources from the Debian source package ($(basename "$src"))"
elif [[ -f $libdir/cmake/benchmark/benchmarkConfig.cmake ]]; then
  pre=$dest/benchmark-prebuilt
  mkdir -p "$pre/include" "$pre/lib/$multiarch/cmake"
  cp -a /usr/include/benchmark "$pre/include/"
  cp -a "$libdir"/libbenchmark.so* "$libdir"/libbenchmark_main.a "$pre/lib/$multiarch/"
  cp -a "$libdir/cmake/benchmark" "$pre/lib/$multiarch/cmake/"
  note "benchmark: no source package (no deb-src); carrying the installed Debian build instead"
else
  note "benchmark: neither sources nor libbenchmark-dev found; the GPU run will skip benchmarks"
fi

# Header-only libraries.
fresh nlohmann_json
mkdir -p "$dest/nlohmann_json/include" "$dest/nlohmann_json/share/cmake"
cp -a /usr/include/nlohmann "$dest/nlohmann_json/include/"
cp -a /usr/share/cmake/nlohmann_json "$dest/nlohmann_json/share/cmake/"
fresh cli11
mkdir -p "$dest/cli11/include"
cp -a /usr/include/CLI "$dest/cli11/include/"
note "nlohmann_json, cli11: copied"

# OpenBLAS (the CPU reference GEMM) and the Fortran runtime it needs.
fresh openblas
mkdir -p "$dest/openblas/include" "$dest/openblas/lib"
blas_include=$(dirname "$(readlink -f /usr/include/$multiarch/cblas.h)")
cp -L "$blas_include"/*.h "$dest/openblas/include/"
for lib in libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
  gzip -c "$(readlink -f "$libdir/$lib")" > "$dest/openblas/lib/$lib.gz"
done
note "openblas: $(du -sh "$dest/openblas" | cut -f1) (compressed)"

total_kib=$(du -sk "$dest" | cut -f1)
note "third_party is $((total_kib / 1024)) MiB"
if (( total_kib > 60 * 1024 )); then
  echo "prepare-gpu-carry: third_party exceeds 60 MiB; the device call carries at most 64 MiB" >&2
  exit 1
fi
note "done: make the device call with carry [\"third_party\"] and run: bash tools/gpu-check.sh"
