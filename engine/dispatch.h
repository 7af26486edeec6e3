// The one place where an op picks the kernel of its tensors' device. Every op of the
// engine (engine/ops.cpp, engine/autograd, engine/optim, engine/tensor.cpp) and of the
// nets that runs on both devices dispatches through here:
//
//   HL_DISPATCH(where, fn, args...)  calls hl::cpu::fn(args...) when `where` is a CPU
//       tensor, else hl::cuda::fn(args..., stream) on the current stream of its device.
//       This is why a CUDA launcher has its CPU twin's name and arguments, plus the
//       stream (DESIGN section 9).
//   on_device(where, op, cpu_fn, cuda_fn)  the same choice for the kernels whose CUDA
//       form needs device-side extras (im2col columns, workspaces, tables):
//       cpu_fn() or cuda_fn(stream).
//
// Callers include both twins' headers unconditionally (kernels/cuda/*.h compile without
// CUDA: kernels/cuda/stream.h). In a build without CUDA the CUDA branch is compiled but
// never called, so nothing links against the launchers, and a CUDA tensor there reaches
// no_cuda_kernels(). HL_HAVE_CUDA is tested here and in kernels/cuda and engine/cuda only.
#pragma once
#include <initializer_list>
#include <utility>

#include "engine/tensor.h"
#include "kernels/cuda/stream.h"

namespace hl::dispatch {

// hl::Error("op: undefined tensor" / "op: expects f32, got ...") unless t is defined f32.
void require_f32(const Tensor& t, const char* op);
// hl::Error("op: tensors on different devices: a and b") unless both share a device.
void require_same_device(const Tensor& a, const Tensor& b, const char* op);
// Both checks over every tensor of an op (devices compared with the first one's).
void require_f32_same_device(std::initializer_list<const Tensor*> ts, const char* op);

// The stream CUDA kernels for t's device launch on (also makes that device current).
cudaStream_t stream_of(const Tensor& t);

// Where a CUDA tensor reaches an op in a build without CUDA (none can, but say so).
[[noreturn]] void no_cuda_kernels(const char* op);

template <class CpuFn, class CudaFn>
inline void on_device(const Tensor& where, const char* op, CpuFn&& cpu_fn, CudaFn&& cuda_fn) {
  if (where.device().is_cpu()) {
    std::forward<CpuFn>(cpu_fn)();
    return;
  }
#ifdef HL_HAVE_CUDA
  (void)op;
  std::forward<CudaFn>(cuda_fn)(stream_of(where));
#else
  (void)cuda_fn;
  no_cuda_kernels(op);
#endif
}

}  // namespace hl::dispatch

#define HL_DISPATCH(where, fn, ...)                                            \
  ::hl::dispatch::on_device(                                                   \
      (where), #fn, [&] { ::hl::cpu::fn(__VA_ARGS__); },                       \
      [&](cudaStream_t hl_dispatch_stream) { ::hl::cuda::fn(__VA_ARGS__, hl_dispatch_stream); })
