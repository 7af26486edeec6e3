#include "nets/mfcc.h"

#include "engine/error.h"
#include "kernels/cpu/mfcc.h"

namespace hl {

int64_t mfcc_rows_for_samples(int64_t n, const MfccParams& p) {
  if (n <= p.window) return 1;
  // The smallest m whose last row (m − 1) reaches the end: start(m − 1) + window >= n.
  int64_t m = 1 + ((n - p.window) * p.step_den + p.step_num - 1) / p.step_num;  // ceil, before rounding
  while (m > 1 && mfcc_row_start(m - 2, p.step_num, p.step_den) + p.window >= n) --m;
  while (mfcc_row_start(m - 1, p.step_num, p.step_den) + p.window < n) ++m;
  return m;
}

Tensor mfcc(const Tensor& samples, int64_t rows, const MfccParams& p) {
  if (samples.dtype() != DType::F32 || samples.ndim() != 1 || !samples.device().is_cpu())
    throw Error("mfcc: expected f32 [samples] on the CPU, got " + samples.str());
  if (rows < 0) throw Error("mfcc: negative row count");
  Tensor out = Tensor::empty(Shape({rows, p.cepstra}), DType::F32);
  cpu::mfcc_f32(samples.data<float>(), samples.numel(), 0, rows, p, out.data<float>());
  return out;
}

}  // namespace hl
