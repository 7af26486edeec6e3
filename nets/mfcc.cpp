#include "nets/mfcc.h"

#include <cstring>
#include <numeric>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "kernels/cpu/mfcc.h"
#include "kernels/cuda/mfcc.h"

namespace hl {
namespace {

void check_samples(const Tensor& samples, int64_t rows) {
  if (samples.dtype() != DType::F32 || samples.ndim() != 1)
    throw Error("mfcc: expected f32 [samples], got " + samples.str());
  if (rows < 0) throw Error("mfcc: negative row count");
}

// x f32 [n] on out's device -> out [rows, cepstra]: cuFFT frames, then one fused
// power / mel / log / DCT kernel (kernels/cuda/mfcc.h), with its tables uploaded first.
void mfcc_cuda(const Tensor& x, int64_t rows, const MfccParams& p, Tensor& out, cudaStream_t stream) {
  const Device device = out.device();
  const cuda::MfccTable table = cuda::mfcc_table(p);
  Tensor ints = Tensor::empty({static_cast<int64_t>(table.ints.size())}, DType::I32);
  Tensor floats = Tensor::empty({static_cast<int64_t>(table.floats.size())}, DType::F32);
  std::memcpy(ints.data<int32_t>(), table.ints.data(), table.ints.size() * sizeof(int32_t));
  std::memcpy(floats.data<float>(), table.floats.data(), table.floats.size() * sizeof(float));
  const Tensor dev_ints = ints.to(device), dev_floats = floats.to(device);
  Tensor scratch = Tensor::empty({cuda::mfcc_scratch_bytes(p, rows)}, DType::U8, device);
  cuda::mfcc_f32(x.data<float>(), x.numel(), 0, rows, table, dev_ints.data<int32_t>(), dev_floats.data<float>(),
                 scratch.data<uint8_t>(), out.data<float>(), stream);
  // The tables and scratch go back to the arena when this returns: wait for the kernels.
  cuda_backend::synchronize(device.index);
}

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
  return mfcc(samples, rows, p, Device::cpu());
}

Tensor mfcc(const Tensor& samples, int64_t rows, const MfccParams& p, Device device) {
  check_samples(samples, rows);
  if (!samples.device().is_cpu() && !device.is_cpu() && samples.device() != device)
    throw Error("mfcc: samples on " + samples.device().str() + " cannot be computed on " + device.str());
  Tensor out;
  try {
    out = Tensor::empty(Shape({rows, p.cepstra}), DType::F32, device);
  } catch (const Error& e) {  // no CUDA in this build, or no device visible: say for what
    throw Error("mfcc on " + device.str() + ": " + e.what());
  }
  const Tensor x = samples.to(device);
  dispatch::on_device(
      out, "mfcc", [&] { cpu::MfccPlan(p).run(x.data<float>(), x.numel(), 0, rows, out.data<float>()); },
      [&](cudaStream_t stream) { mfcc_cuda(x, rows, p, out, stream); });
  return out;
}

MfccParams mfcc_params_for(FrameRate fps) {
  if (fps.num <= 0 || fps.den <= 0 || fps.num > 1'000'000'000 || fps.den > 1'000'000'000 ||
      fps.num > 1000 * fps.den)
    throw Error("frame rate " + std::to_string(fps.num) + "/" + std::to_string(fps.den) +
                " is outside (0, 1000] fps");
  MfccParams p = MfccParams::paper();
  // step = sample_rate / (4 fps) samples = sample_rate · den / (4 · num).
  int64_t num = int64_t{p.sample_rate} * fps.den;
  int64_t den = kMfccRowsPerFrame * fps.num;
  const int64_t g = std::gcd(num, den);
  p.step_num = num / g;
  p.step_den = den / g;
  return p;
}

}  // namespace hl
