// make_cuda_cnn_backend (nets/cnn_backend_cuda.h) in a build without CUDA: says so.
#include "engine/error.h"
#include "nets/cnn_backend_cuda.h"

namespace hl {

std::unique_ptr<CnnBackend> make_cuda_cnn_backend(const CudaCnnOptions&) {
  throw Error(
      "this hl was built without CUDA (HL_CUDA=OFF), so it has no CUDA backend for the CNNs: use the CPU backend, "
      "or rebuild with -DHL_CUDA=ON where the CUDA toolkit and cuDNN are installed");
}

}  // namespace hl
