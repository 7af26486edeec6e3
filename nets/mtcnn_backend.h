// MTCNN with its three nets on a CnnBackend (nets/cnn_backend.h): the CUDA backend for
// `--device cuda` (make_cuda_mtcnn), or the CPU backend (make_cpu_backend_mtcnn: the
// same code path checked on machines without a GPU). The detections are those of
// Mtcnn::detect (nets/mtcnn.h): the same pyramid, crops and box logic on the host
// (nets/mtcnn_stages.h); only the nets run on the backend.
//
// How the nets map onto the backend's ops (convolution with bias, residual and ReLU;
// max pool with ceil_mode):
//   - the dense layers are convolutions over the whole map (R-Net's dense4 is a 3x3 conv
//     on the 3x3x64 map, O-Net's dense5 a 3x3 conv on 3x3x128: the weight [in, out] is
//     already HWIO in that order), the heads one 1x1 conv (R-Net: 2 logits + 4
//     regression values; O-Net: + 10 landmarks);
//   - PReLU, which the backends have no op for: the layer runs twice into the two halves
//     of a [.., 2c] map, once with ReLU, once without, and a 1x1 conv mixes them:
//     prelu(y) = (1 - a) relu(y) + a y. Exact for y <= 0 (one product); for y > 0 one
//     or two roundings (~1e-7 relative in f32; f16 rounds a and 1 - a, ~1e-3).
// P-Net's pyramid levels are queued back to back and read back after the last one (one
// wait for the device per frame and stage).
//
// Tests: tests/nets/test_mtcnn_backend.cpp (the CPU backend against facenet-pytorch, as
// tests/nets/test_mtcnn_golden.cpp), tests/cuda/test_cuda_mtcnn.cpp (CUDA against
// Mtcnn::detect, label gpu).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "nets/cnn_backend.h"
#include "nets/mtcnn.h"

namespace hl {

class MtcnnOnBackend {
 public:
  // Prepares the nets of `weights` on `backend` (uploads them once).
  MtcnnOnBackend(const Mtcnn& weights, std::unique_ptr<CnnBackend> backend);
  ~MtcnnOnBackend();
  MtcnnOnBackend(const MtcnnOnBackend&) = delete;
  MtcnnOnBackend& operator=(const MtcnnOnBackend&) = delete;

  // As Mtcnn::detect: rgb u8 [h, w, 3] on the host; faces by descending probability.
  std::vector<DetectedFace> detect(const uint8_t* rgb, int64_t h, int64_t w, MtcnnStageCounts* counts = nullptr);
  const CnnBackend& backend() const { return *backend_; }

  struct Layer;  // a prepared conv, and for a PReLU layer its second half and mix

 private:
  Tensor activation(const Shape& shape);
  Tensor run(const Layer& layer, const Tensor& x);
  Tensor pool(const Tensor& x, int64_t kernel, int64_t stride);
  Tensor upload(const std::vector<float>& host, const Shape& shape);

  MtcnnOptions options_;
  std::unique_ptr<CnnBackend> backend_;
  std::vector<Layer> pnet_, rnet_, onet_;  // in order; the last of each: the heads
  std::vector<Tensor> frame_buffers_, host_buffers_;  // the current frame's, released at its end
};

struct MtcnnCudaOptions {
  int device = 0;
  // f32 by default: MTCNN's nets are small (the time goes to launches and the host), and
  // f16 moves candidates near the 0.6 / 0.7 thresholds across them.
  bool f16 = false;
};
// The nets on the CUDA backend (nets/cnn_backend_cuda.h); throws hl::Error when this hl
// was built without CUDA or no device is visible.
std::unique_ptr<MtcnnOnBackend> make_cuda_mtcnn(const Mtcnn& weights, const MtcnnCudaOptions& options = {});
// The nets on the CPU backend (tests; slower than Mtcnn::detect's own kernels).
std::unique_ptr<MtcnnOnBackend> make_cpu_backend_mtcnn(const Mtcnn& weights);

}  // namespace hl
