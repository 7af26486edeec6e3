#include "engine/dispatch.h"

#include <string>

#include "engine/cuda_backend.h"
#include "engine/error.h"

namespace hl::dispatch {

void require_f32(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": undefined tensor");
  if (t.dtype() != DType::F32) throw Error(std::string(op) + ": expects f32, got " + t.str());
}

void require_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (!(a.device() == b.device()))
    throw Error(std::string(op) + ": tensors on different devices: " + a.str() + " and " + b.str());
}

void require_f32_same_device(std::initializer_list<const Tensor*> ts, const char* op) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    require_f32(*t, op);
    if (!first) first = t;
    require_same_device(*first, *t, op);
  }
}

cudaStream_t stream_of(const Tensor& t) {
  return static_cast<cudaStream_t>(cuda_backend::current_stream(t.device().index));
}

void no_cuda_kernels(const char* op) { throw Error(std::string(op) + ": this build of hl has no CUDA backend"); }

}  // namespace hl::dispatch
