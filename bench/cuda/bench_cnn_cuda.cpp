// Whole-network inference throughput of the CUDA CNN backend (nets/cnn_backend_cuda.h):
// GoogLeNet and ResNet50 at batch 256, 224x224, f16 (and f32 for reference), random
// weights (speed does not depend on their values). bench/peers/torch_cnn_cuda.py runs
// the same nets in PyTorch under the same names, so bench/compare.py prints ratios.
//
// What is timed: one forward() call, which takes the f32 batch from host memory and
// returns the embeddings and logits on the host, i.e. the upload, every layer and the
// download. forward() returns only after the backend's stream has drained, so the wall
// time around it is the device time plus launch overheads; the backend's stream is
// private, which rules out CUDA events around the call. BM_cuda_cnn_upload times the
// upload alone, so that the compute share can be read off. Counters: images/s, the
// achieved TFLOP/s (GoogLeNet 3.0 and ResNet50 8.2 GFLOP per 224x224 image,
// specs/nets.md) and its fraction of the H100/H200 dense f16 tensor-core peak
// (989 TFLOP/s). The first forward (cuDNN's algorithm search, buffer planning) runs
// before the timing. Without a device every benchmark is skipped with a message.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/device.h"
#include "engine/tensor.h"
#include "nets/cnn_backend_cuda.h"
#include "nets/googlenet.h"
#include "nets/resnet50.h"
#include "weights/googlenet_map.h"
#include "weights/resnet50_map.h"

namespace {

using hl::Tensor;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

constexpr double kPeakF16Flops = 989e12;
constexpr int64_t kImage = 224;

Tensor uniform(const hl::Shape& shape, float bound, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-bound, bound);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (float& x : v) x = u(rng);
  return Tensor::from_vector(shape, v);
}

// Folded convs (weight and bias), He-uniform, with our names (nets/cnn_weights.h).
struct Weights {
  NamedTensors tensors;
  std::mt19937 rng{1};
  void conv(const std::string& name, int64_t c_in, int64_t c_out, int64_t k) {
    tensors.emplace_back(name + ".weight", uniform({k, k, c_in, c_out}, std::sqrt(6.0f / (k * k * c_in)), rng));
    tensors.emplace_back(name + ".bias", uniform({c_out}, 0.1f, rng));
  }
  void linear(int64_t in, int64_t out) {
    tensors.emplace_back("fc.weight", uniform({in, out}, std::sqrt(3.0f / in), rng));
    tensors.emplace_back("fc.bias", uniform({out}, 0.1f, rng));
  }
};

NamedTensors googlenet_weights() {
  Weights w;
  w.conv("conv1", 3, 64, 7);
  w.conv("conv2", 64, 64, 1);
  w.conv("conv3", 64, 192, 3);
  for (const hl::InceptionWidths& b : hl::kGoogLeNetInception) {
    const std::string p = b.name;
    w.conv(p + ".branch1", b.in, b.ch1x1, 1);
    w.conv(p + ".branch2.0", b.in, b.ch3x3red, 1);
    w.conv(p + ".branch2.1", b.ch3x3red, b.ch3x3, 3);
    w.conv(p + ".branch3.0", b.in, b.ch5x5red, 1);
    w.conv(p + ".branch3.1", b.ch5x5red, b.ch5x5, 3);
    w.conv(p + ".branch4.1", b.in, b.pool_proj, 1);
  }
  w.linear(hl::kGoogLeNetEmbedding, 1000);
  return std::move(w.tensors);
}

NamedTensors resnet50_weights() {
  Weights w;
  w.conv("conv1", 3, 64, 7);
  int64_t in = 64;
  for (size_t s = 0; s < hl::kResNet50Blocks.size(); ++s) {
    const int64_t width = hl::kResNet50Widths[s], out = width * hl::kResNet50Expansion;
    for (int64_t b = 0; b < hl::kResNet50Blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      w.conv(p + ".conv1", in, width, 1);
      w.conv(p + ".conv2", width, width, 3);
      w.conv(p + ".conv3", width, out, 1);
      if (b == 0) w.conv(p + ".downsample", in, out, 1);
      in = out;
    }
  }
  w.linear(hl::kResNet50Embedding, 365);
  return std::move(w.tensors);
}

bool need_device(benchmark::State& state) {
  if (hl::cuda_available()) return true;
  state.SkipWithError("no CUDA device visible");
  return false;
}

Tensor input_batch(int64_t batch) {
  std::mt19937 rng(7);
  return uniform({batch, kImage, kImage, 3}, 2.0f, rng);
}

template <typename Net>
void run_net(benchmark::State& state, const NamedTensors& weights, double gflop_per_image, bool f16) {
  if (!need_device(state)) return;
  const int64_t batch = state.range(0);
  Net net = Net::from_tensors(weights, hl::make_cuda_cnn_backend({0, f16}));
  const Tensor x = input_batch(batch);
  net.forward(x);  // plans buffers and chooses the cuDNN algorithms
  double total = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(net.forward(x));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(s);
    total += s;
  }
  if (total <= 0) return;
  const double images_per_s = static_cast<double>(batch * state.iterations()) / total;
  state.counters["images/s"] = images_per_s;
  state.counters["TFLOP/s"] = images_per_s * gflop_per_image * 1e-3;
  state.counters["peak_fraction"] = images_per_s * gflop_per_image * 1e9 / kPeakF16Flops;
}

void BM_cuda_cnn_googlenet_f16(benchmark::State& state) {
  run_net<hl::GoogLeNet>(state, googlenet_weights(), 3.0, true);
}
BENCHMARK(BM_cuda_cnn_googlenet_f16)->Arg(256)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_cuda_cnn_resnet50_f16(benchmark::State& state) {
  run_net<hl::ResNet50>(state, resnet50_weights(), 8.2, true);
}
BENCHMARK(BM_cuda_cnn_resnet50_f16)->Arg(256)->UseManualTime()->Unit(benchmark::kMillisecond);

// The exact mode, for scale: f32 without TF32 runs on the CUDA cores, not the tensor cores.
void BM_cuda_cnn_resnet50_f32(benchmark::State& state) {
  run_net<hl::ResNet50>(state, resnet50_weights(), 8.2, false);
}
BENCHMARK(BM_cuda_cnn_resnet50_f32)->Arg(64)->UseManualTime()->Unit(benchmark::kMillisecond);

// The f32 batch from pageable host memory to f16 activations, waited for.
void BM_cuda_cnn_upload_f16(benchmark::State& state) {
  if (!need_device(state)) return;
  const int64_t batch = state.range(0);
  auto backend = hl::make_cuda_cnn_backend({0, true});
  const Tensor x = input_batch(batch);
  Tensor a(backend->allocate(static_cast<size_t>(x.numel()) * 2), 0, x.shape(), hl::DType::F16);
  backend->upload(x, a);
  backend->download(a.narrow(0, 1));
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    backend->upload(x, a);
    backend->download(a.narrow(0, 1));  // waits for the stream
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(x.nbytes()));
}
BENCHMARK(BM_cuda_cnn_upload_f16)->Arg(256)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
