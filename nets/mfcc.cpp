#include "nets/mfcc.h"

#include <cstring>
#include <string>

#include "engine/error.h"
#include "kernels/cpu/mfcc.h"
#ifdef HL_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "engine/cuda_backend.h"
#include "kernels/cuda/mfcc.h"
#endif

namespace hl {
namespace {

void check_samples(const Tensor& samples, int64_t rows) {
  if (samples.dtype() != DType::F32 || samples.ndim() != 1)
    throw Error("mfcc: expected f32 [samples], got " + samples.str());
  if (rows < 0) throw Error("mfcc: negative row count");
}

#ifdef HL_HAVE_CUDA
Tensor mfcc_cuda(const Tensor& samples, int64_t rows, const MfccParams& p, Device device) {
  const cuda::MfccTable table = cuda::mfcc_table(p);
  const Tensor x = samples.device() == device ? samples : samples.to(device);
  Tensor ints = Tensor::empty({static_cast<int64_t>(table.ints.size())}, DType::I32);
  Tensor floats = Tensor::empty({static_cast<int64_t>(table.floats.size())}, DType::F32);
  std::memcpy(ints.data<int32_t>(), table.ints.data(), table.ints.size() * sizeof(int32_t));
  std::memcpy(floats.data<float>(), table.floats.data(), table.floats.size() * sizeof(float));
  const Tensor dev_ints = ints.to(device), dev_floats = floats.to(device);
  Tensor scratch = Tensor::empty({cuda::mfcc_scratch_bytes(p, rows)}, DType::U8, device);
  Tensor out = Tensor::empty(Shape({rows, p.cepstra}), DType::F32, device);
  const auto stream = static_cast<cudaStream_t>(cuda_backend::current_stream(device.index));
  cuda::mfcc_f32(x.data<float>(), x.numel(), 0, rows, table, dev_ints.data<int32_t>(), dev_floats.data<float>(),
                 scratch.data<uint8_t>(), out.data<float>(), stream);
  // The tables and scratch go back to the arena when this returns: wait for the kernels.
  cuda_backend::synchronize(device.index);
  return out;
}
#endif

}  // namespace

int64_t mfcc_rows_for_samples(int64_t n, const MfccParams& p) {
  if (n <= p.window) return 1;
  // The smallest m whose last row (m − 1) reaches the end: start(m − 1) + window >= n.
  int64_t m = 1 + ((n - p.window) * p.step_den + p.step_num - 1) / p.step_num;  // ceil, before rounding
  while (m > 1 && mfcc_row_start(m - 2, p.step_num, p.step_den) + p.window >= n) --m;
  while (mfcc_row_start(m - 1, p.step_num, p.step_den) + p.window < n) ++m;
  return m;
}

Tensor mfcc(const Tensor& samples, int64_t rows, const MfccParams& p) {
  check_samples(samples, rows);
  if (!samples.device().is_cpu()) throw Error("mfcc: expected the samples on the CPU, got " + samples.str());
  Tensor out = Tensor::empty(Shape({rows, p.cepstra}), DType::F32);
  cpu::MfccPlan(p).run(samples.data<float>(), samples.numel(), 0, rows, out.data<float>());
  return out;
}

Tensor mfcc(const Tensor& samples, int64_t rows, const MfccParams& p, Device device) {
  check_samples(samples, rows);
  if (device.is_cpu()) return mfcc(samples.device().is_cpu() ? samples : samples.to(Device::cpu()), rows, p);
  if (!samples.device().is_cpu() && samples.device() != device)
    throw Error("mfcc: samples on " + samples.device().str() + " cannot be computed on " + device.str());
#ifdef HL_HAVE_CUDA
  if (!cuda_available()) throw Error("mfcc on " + device.str() + ": no CUDA device is visible");
  return mfcc_cuda(samples, rows, p, device);
#else
  throw Error("mfcc on " + device.str() + ": this build of hl has no CUDA backend (configure with -DHL_CUDA=ON)");
#endif
}

}  // namespace hl
