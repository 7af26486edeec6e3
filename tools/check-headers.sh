#!/usr/bin/env bash
# Compiles every header of hl's own source folders on its own (a file holding only
# `#include "<header>"`, syntax only), so that each header includes what it uses.
# Why: GCC 13's libstdc++ (the GPU machine's compiler) no longer pulls <cstdint> and
# others in through <string>, <memory> etc., so a header that leaned on such transitive
# includes breaks there although it builds here with GCC 12. The check uses clang with
# libc++ and _LIBCPP_REMOVE_TRANSITIVE_INCLUDES: each standard header then declares little
# beyond its own contents, stricter than GCC 13.
#
#   tools/check-headers.sh [ROOT [FOLDER...]]
#     ROOT: the tree (default: this repository); FOLDER: folders under ROOT to check
#     (default: engine kernels nets pipeline weights tools). The tree's own headers are
#     found with -I ROOT; third-party headers (nlohmann json, CLI11, OpenBLAS, FFmpeg) are
#     the system's.
#   .h/.hpp headers are checked as C++20, .cuh headers as CUDA (clang's CUDA mode), both
#   against libc++; headers that need the CUDA toolkit are skipped, by name, when no
#   toolkit is found ($CUDA_HOME, else /usr/local/cuda).
#   HL_HEADER_CXX=clang++-NN picks the compiler; by default the newest clang++-NN (NN >= 20)
#   whose libc++ is installed. libc++ >= 20 because engine/parse_number.h reads floats with
#   std::from_chars, which older libc++ lacks. Debian: clang-22 libc++-22-dev
#   libc++abi-22-dev (tools/setup.sh installs them).
# Exit 0 when every header compiles alone; 1 naming each header that does not, with its
# first error; 2 when no suitable compiler is installed. Tested by
# tests/lint/test_check_headers.sh (a planted missing include must fail it).
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "${1:-$script_dir/..}" && pwd)
shift || true
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(engine kernels nets pipeline weights tools)

find_compiler() {
  if [ -n "${HL_HEADER_CXX:-}" ]; then echo "$HL_HEADER_CXX"; return; fi
  local v
  for v in $(seq 40 -1 20); do
    if command -v "clang++-$v" > /dev/null && [ -f "/usr/lib/llvm-$v/include/c++/v1/charconv" ]; then
      echo "clang++-$v"
      return
    fi
  done
}
cxx=$(find_compiler)
if [ -z "$cxx" ] || ! command -v "$cxx" > /dev/null; then
  echo "check-headers: no clang++-NN (NN >= 20) with libc++ found; install clang-22 libc++-22-dev" \
    "libc++abi-22-dev (tools/setup.sh) or set HL_HEADER_CXX" >&2
  exit 2
fi

cuda_home=${CUDA_HOME:-/usr/local/cuda}
[ -f "$cuda_home/include/cuda_runtime_api.h" ] || cuda_home=""

headers=()
skipped=()
for folder in "${folders[@]}"; do
  [ -d "$root/$folder" ] || continue
  while IFS= read -r h; do
    # Without a CUDA toolkit, the CUDA backend's headers (cuda/ folders, .cuh) cannot be read.
    if [ -z "$cuda_home" ] && { [[ "$h" == */cuda/* ]] || [[ "$h" == *.cuh ]]; }; then
      skipped+=("$h")
    else
      headers+=("$h")
    fi
  done < <(cd "$root" && find "$folder" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cuh' \) | sort)
done
if [ ${#headers[@]} -eq 0 ]; then
  echo "check-headers: no headers under $root (${folders[*]})" >&2
  exit 2
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# One header: compile a file holding only its #include; on failure keep the compiler's
# output in $logs/<header with / as __>.log.
check_one() {
  local h=$1 lang=(-x c++)
  local flags=(-std=c++20 -stdlib=libc++ -D_LIBCPP_REMOVE_TRANSITIVE_INCLUDES -fsyntax-only -w -I "$root")
  if [ -n "$cuda_home" ]; then flags+=(-isystem "$cuda_home/include"); fi
  if [[ "$h" == *.cuh ]]; then
    # CUDA's headers refuse libc++ on x86 (host_defines.h) unless told; only syntax is
    # checked here, nothing is linked or run.
    lang=(-x cuda --cuda-path="$cuda_home" --cuda-gpu-arch=sm_90 -nocudalib -D_ALLOW_UNSUPPORTED_LIBCPP)
  fi
  printf '#include "%s"\n' "$h" | "$cxx" "${lang[@]}" "${flags[@]}" - > "$logs/${h//\//__}.log" 2>&1 \
    || return 1
  rm -f "$logs/${h//\//__}.log"
}
export -f check_one
export root cxx cuda_home logs

start=$SECONDS
printf '%s\0' "${headers[@]}" | xargs -0 -P "$(nproc)" -n 1 bash -c 'check_one "$1"' _ || true

failed=0
for h in "${headers[@]}"; do
  log="$logs/${h//\//__}.log"
  [ -f "$log" ] || continue
  failed=$((failed + 1))
  first=$(grep -m1 -E 'error' "$log" || head -n1 "$log")
  echo "check-headers: FAIL $h: $first"
  grep -E 'error|note: ' "$log" | head -n 8 | sed 's/^/    /'
done
for h in "${skipped[@]}"; do echo "check-headers: skipped $h (no CUDA toolkit at \$CUDA_HOME or /usr/local/cuda)"; done
summary="$(( ${#headers[@]} - failed )) of ${#headers[@]} headers compile on their own ($cxx, libc++ without transitive includes, $((SECONDS - start)) s)"
if [ "$failed" -gt 0 ]; then
  echo "check-headers: FAILED: $summary" >&2
  exit 1
fi
echo "check-headers: $summary"
