// fer's mini-Xception (nets/mini_xception.h) on a CnnBackend (nets/cnn_backend.h): the
// CUDA backend for `--device cuda` (make_cuda_mini_xception), or the CPU backend
// (make_cpu_backend_mini_xception: the same code path, checked without a GPU), on a
// batch of 64x64 grey crops at once.
//
// How the graph maps onto the backend's ops (convolution with bias, residual and ReLU;
// max pool with ceil_mode; global average pool):
//   - conv: Keras "valid" / "same" padding as a symmetric pad (every conv of fer's model
//     pads symmetrically; an asymmetric one is an error naming the node);
//   - separable conv: the depthwise conv as a dense conv whose weight is zero off the
//     diagonal (the backends have no grouped conv; the crops are small), then the 1x1
//     pointwise conv with the folded BatchNorm's bias;
//   - ReLU: folded into the conv it follows when that conv feeds only the ReLU, else an
//     identity 1x1 conv with ReLU; add: an identity 1x1 conv with the other map as its
//     residual;
//   - max pool "same": the leading pad as the pool's pad, with ceil_mode where the
//     trailing pad is larger (Keras's padded cells are -inf, as PyTorch's);
//   - global average pool on the backend; the softmax over the 7 classes on the host, as
//     MiniXception::run computes it; the embedding: the backend's global average pool of
//     the embedding node.
//
// Tests: tests/nets/test_mini_xception_backend.cpp (the CPU backend against Keras's
// fixtures, as tests/nets/test_mini_xception.cpp), tests/cuda/test_cuda_mini_xception.cpp
// (CUDA against MiniXception::run, label gpu).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nets/cnn_backend.h"
#include "nets/mini_xception.h"

namespace hl {

class MiniXceptionOnBackend {
 public:
  // Prepares the graph's layers on `backend`; throws hl::Error naming a node the backend
  // cannot run.
  MiniXceptionOnBackend(const MiniXception& net, std::unique_ptr<CnnBackend> backend);
  ~MiniXceptionOnBackend();
  MiniXceptionOnBackend(const MiniXceptionOnBackend&) = delete;
  MiniXceptionOnBackend& operator=(const MiniXceptionOnBackend&) = delete;

  int64_t input_height() const { return in_h_; }
  int64_t input_width() const { return in_w_; }
  // Each crop: input_height() * input_width() values in [-1, 1] (as MiniXception::run).
  std::vector<AffectOutput> run(const std::vector<std::vector<float>>& crops);
  const CnnBackend& backend() const { return *backend_; }

  struct Step;

 private:
  std::unique_ptr<CnnBackend> backend_;
  std::vector<Step> steps_;
  std::string input_node_, embedding_node_, output_node_;
  int64_t in_h_ = 0, in_w_ = 0;
};

struct MiniXceptionCudaOptions {
  int device = 0;
  bool f16 = false;
};
// On the CUDA backend; throws hl::Error when this hl was built without CUDA or no
// device is visible.
std::unique_ptr<MiniXceptionOnBackend> make_cuda_mini_xception(const MiniXception& net,
                                                               const MiniXceptionCudaOptions& options = {});
// On the CPU backend (tests; MiniXception::run is the CPU path).
std::unique_ptr<MiniXceptionOnBackend> make_cpu_backend_mini_xception(const MiniXception& net);

}  // namespace hl
