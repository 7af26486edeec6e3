#!/usr/bin/env bash
# tools/check-headers.sh must fail, naming the header, on a header with a missing
# include, and pass a header that includes what it uses (the fixtures in
# tests/lint/header_fixtures: std::vector through <functional> only, which GCC 12
# accepts and libc++ without transitive includes rejects). Exit 77 (ctest: skipped) when no clang++ >= 20 with
# libc++ is installed (tools/setup.sh installs one).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fixtures="$root/tests/lint/header_fixtures"

out=$(bash "$root/tools/check-headers.sh" "$fixtures" complete 2>&1); rc=$?
if [ "$rc" -eq 2 ]; then echo "$out"; echo "SKIPPED: no clang++ >= 20 with libc++"; exit 77; fi
if [ "$rc" -ne 0 ]; then echo "$out"; echo "FAIL: a complete header was rejected (exit $rc)"; exit 1; fi

out=$(bash "$root/tools/check-headers.sh" "$fixtures" planted 2>&1); rc=$?
echo "$out"
if [ "$rc" -ne 1 ]; then echo "FAIL: the planted missing include passed (exit $rc, expected 1)"; exit 1; fi
if ! grep -q "check-headers: FAIL planted/missing_vector.h: .*error" <<< "$out"; then
  echo "FAIL: the report does not name planted/missing_vector.h with its error"; exit 1
fi
echo "PASS"
