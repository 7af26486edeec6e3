#include "pipeline/feature_rows.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/error.h"
#include "kernels/cpu/cast.h"
#include "kernels/cpu/cast_f16c.h"

namespace hl {

namespace {

// Converts x[0, n) into y and returns the index of the first non-finite value, or -1.
int64_t f16_to_f32_checked(const uint16_t* x, float* y, int64_t n) {
  return cpu::f16_to_f32_fast_any_non_finite(x, y, n) ? first_non_finite(y, n) : -1;
}

}  // namespace

int64_t row_elements(const Tensor& stored) {
  int64_t n = 1;
  for (int i = 1; i < stored.ndim(); ++i) n *= stored.size(i);
  return stored.ndim() == 0 ? 0 : n;
}

int64_t row_to_f32(const Tensor& stored, int64_t row, float* dst) {
  const int64_t n = row_elements(stored);
  const auto* base = static_cast<const uint8_t*>(stored.raw()) + static_cast<size_t>(row * n) * dtype_size(stored.dtype());
  switch (stored.dtype()) {
    case DType::F16: return f16_to_f32_checked(reinterpret_cast<const uint16_t*>(base), dst, n);
    case DType::F32: std::memcpy(dst, base, static_cast<size_t>(n) * sizeof(float)); break;
    case DType::BF16: cpu::bf16_to_f32(reinterpret_cast<const uint16_t*>(base), dst, n); break;
    case DType::I32: cpu::i32_to_f32(reinterpret_cast<const int32_t*>(base), dst, n); return -1;
    case DType::I64: cpu::i64_to_f32(reinterpret_cast<const int64_t*>(base), dst, n); return -1;
    case DType::U8: cpu::u8_to_f32(base, dst, n); return -1;
  }
  return first_non_finite(dst, n);
}

int64_t first_non_finite(const float* x, int64_t n) {
  // All-ones exponent = inf or NaN. The loop ORs a flag (vectorisable); the position is
  // looked for only when something was found.
  uint32_t any = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    any |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
  }
  if (!any) return -1;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return i;
  }
  return -1;
}

NonFiniteRows find_non_finite_rows(const Tensor& stored) {
  NonFiniteRows out;
  if (stored.ndim() == 0) return out;
  std::vector<float> row(static_cast<size_t>(row_elements(stored)));
  for (int64_t r = 0; r < stored.size(0); ++r) {
    const int64_t e = row_to_f32(stored, r, row.data());
    if (e < 0) continue;
    if (out.rows == 0) out = {r, e, row[static_cast<size_t>(e)], 0};
    ++out.rows;
  }
  return out;
}

void release_mapped_range(const Storage& mapping, const void* begin, const void* end) {
  if (!mapping.read_only() || mapping.data() == nullptr || mapping.nbytes() == 0) return;
  // Whole 2-MiB windows: a fault maps the cached pages around it (fault_around_bytes,
  // 64 KiB by default), or a whole 2-MiB folio where the page cache holds large folios;
  // a narrower release left the rest of each such folio mapped, 0.8 GB over an epoch of
  // 2,000 videos.
  constexpr uintptr_t kFaultAround = 2 * 1024 * 1024;
  const auto first = reinterpret_cast<uintptr_t>(mapping.data());
  const uintptr_t last = first + mapping.nbytes();
  const uintptr_t lo = reinterpret_cast<uintptr_t>(begin), hi = reinterpret_cast<uintptr_t>(end);
  if (hi <= lo || lo < first || hi > last) return;
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  // Whole fault-around windows around the range, clamped to the mapping's pages.
  uintptr_t a = (lo & ~(kFaultAround - 1));
  uintptr_t b = (hi + kFaultAround - 1) & ~(kFaultAround - 1);
  a = std::max(a, first & ~(page - 1));
  b = std::min(b, (last + page - 1) & ~(page - 1));
  // Advice only: a failure leaves the pages resident, which is still correct.
  (void)::madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

}  // namespace hl
