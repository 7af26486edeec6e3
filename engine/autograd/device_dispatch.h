// Device checks and dispatch for the autograd functions (engine/autograd/*.cpp,
// engine/optim/*.cpp): an op runs on the device of its inputs, all of which must be f32
// tensors on one device; the CPU kernels (kernels/cpu) or their CUDA twins
// (kernels/cuda, launched on the thread's current stream of that device) do the work.
// Internal to the engine's training code.
#pragma once
#include <initializer_list>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/tensor.h"
#ifdef HL_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

namespace hl::ag::detail {

// Throws hl::Error unless every tensor is a defined f32 tensor and all share the first
// one's device ("op: tensors on different devices: a and b", as hl::ops says it).
inline void require_f32_same_device(std::initializer_list<const Tensor*> ts, const char* op) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t->defined()) throw Error(std::string(op) + ": undefined tensor");
    if (t->dtype() != DType::F32) throw Error(std::string(op) + ": expects f32, got " + t->str());
    if (!first) first = t;
    if (!(t->device() == first->device()))
      throw Error(std::string(op) + ": tensors on different devices: " + first->str() + " and " + t->str());
  }
}

inline bool on_cpu(const Tensor& t) { return t.device().is_cpu(); }

#ifdef HL_HAVE_CUDA
// The stream CUDA kernels for t's device launch on (also makes that device current).
inline cudaStream_t stream_of(const Tensor& t) {
  return static_cast<cudaStream_t>(cuda_backend::current_stream(t.device().index));
}
#endif

// The else-branch of a dispatch in a build without CUDA, where no CUDA tensor can exist.
[[noreturn]] inline void no_cuda_kernels(const char* op) {
  throw Error(std::string(op) + ": this build of hl has no CUDA backend");
}

// Copies f32 rows between slabs, on dst's device (cpu::copy_slab or cuda::copy_slab):
// for each of `outer` blocks, rows [src_start, src_start + len) of the src block (src_n
// rows of `inner` elements) to rows [dst_start, ...) of the dst block (dst_n rows).
void copy_slab_f32(const Tensor& src, int64_t src_n, int64_t src_start, Tensor& dst, int64_t dst_n, int64_t dst_start,
                   int64_t outer, int64_t len, int64_t inner);

}  // namespace hl::ag::detail
