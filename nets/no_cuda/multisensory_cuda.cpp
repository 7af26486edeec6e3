// MultisensoryCuda (nets/multisensory_cuda.h) in a build without CUDA: load() says so.
#include <utility>

#include "engine/error.h"
#include "nets/multisensory_cuda.h"

namespace hl {

struct MultisensoryCuda::Impl {};

MultisensoryCuda::MultisensoryCuda(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MultisensoryCuda::MultisensoryCuda(MultisensoryCuda&&) noexcept = default;
MultisensoryCuda& MultisensoryCuda::operator=(MultisensoryCuda&&) noexcept = default;
MultisensoryCuda::~MultisensoryCuda() = default;

MultisensoryCuda MultisensoryCuda::load(const std::string&, const MultisensoryCudaOptions&) {
  throw Error(
      "this hl was built without CUDA (HL_CUDA=OFF), so it cannot run the Multisensory network on a GPU: use the "
      "CPU, or rebuild with -DHL_CUDA=ON where the CUDA toolkit and cuDNN are installed");
}

// Unreachable: no object can be made without CUDA.
bool MultisensoryCuda::cam_model() const { return true; }
int64_t MultisensoryCuda::width_divisor() const { return 1; }
bool MultisensoryCuda::f16() const { return true; }
MultisensoryResult MultisensoryCuda::run(const float*, int64_t, int64_t, int64_t, const float*, int64_t) const {
  throw Error("MultisensoryCuda: this hl was built without CUDA");
}

}  // namespace hl
