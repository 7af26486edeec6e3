// CPU inference of the visual feature networks (nets/googlenet.h, nets/resnet50.h):
// images per second for a batch of B 224 x 224 images (B = 8 is the extraction batch),
// BatchNorm folded, random weights of the real shapes (values do not change the work;
// they are scaled so that activations stay near 1 and never go denormal).
// Peer: bench/peers/cnn_peer.py (torchvision's models in eval mode under no_grad, the
// same names). Threads: as many as OPENBLAS_NUM_THREADS says, for our products (split over
// the engine's pool, kernels/cpu/gemm.cpp; OpenBLAS itself runs on one thread). The label names OpenBLAS's kernels: on a CPU newer than
// the library they are the generic ones unless OPENBLAS_CORETYPE is set
// (kernels/cpu/blas_check.h), while PyTorch's oneDNN finds AVX-512 by itself.
// The images/s counter divides by the calling thread's CPU time (Google Benchmark's
// rule for rates), which is the wall time of an idle machine's 1-thread run; compare.py
// compares real times.
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>

#include "engine/tensor.h"
#include "kernels/cpu/blas_check.h"
#include "kernels/cpu/random.h"
#include "nets/googlenet.h"
#include "nets/resnet50.h"
#include "weights/googlenet_map.h"
#include "weights/resnet50_map.h"

namespace {

using hl::NamedTensors;
using hl::Tensor;

Tensor normal(const hl::Shape& shape, uint64_t seed, float std) {
  Tensor t = Tensor::empty(shape, hl::DType::F32);
  hl::cpu::normal_f32(seed, 0, t.data<float>(), t.numel(), 0.0f, std);
  return t;
}

Tensor filled(int64_t n, float value) {
  return Tensor::from_vector({n}, std::vector<float>(static_cast<size_t>(n), value));
}

// A torchvision conv + BatchNorm pair: He-initialised weight, BatchNorm the identity.
void conv_bn(NamedTensors& sd, const std::string& conv_key, const std::string& bn, int64_t c_in, int64_t c_out,
             int64_t k, uint64_t& seed) {
  sd.emplace_back(conv_key, normal({c_out, c_in, k, k}, seed++, std::sqrt(2.0f / static_cast<float>(c_in * k * k))));
  sd.emplace_back(bn + ".weight", filled(c_out, 1.0f));
  sd.emplace_back(bn + ".bias", filled(c_out, 0.0f));
  sd.emplace_back(bn + ".running_mean", filled(c_out, 0.0f));
  sd.emplace_back(bn + ".running_var", filled(c_out, 1.0f));
}

void linear(NamedTensors& sd, int64_t in, int64_t out, uint64_t& seed) {
  sd.emplace_back("fc.weight", normal({out, in}, seed++, 1.0f / std::sqrt(static_cast<float>(in))));
  sd.emplace_back("fc.bias", filled(out, 0.0f));
}

NamedTensors googlenet_state_dict() {
  NamedTensors sd;
  uint64_t seed = 1;
  const auto basic = [&](const std::string& p, int64_t c_in, int64_t c_out, int64_t k) {
    conv_bn(sd, p + ".conv.weight", p + ".bn", c_in, c_out, k, seed);
  };
  basic("conv1", 3, 64, 7);
  basic("conv2", 64, 64, 1);
  basic("conv3", 64, 192, 3);
  for (const hl::InceptionWidths& b : hl::kGoogLeNetInception) {
    const std::string p = b.name;
    basic(p + ".branch1", b.in, b.ch1x1, 1);
    basic(p + ".branch2.0", b.in, b.ch3x3red, 1);
    basic(p + ".branch2.1", b.ch3x3red, b.ch3x3, 3);
    basic(p + ".branch3.0", b.in, b.ch5x5red, 1);
    basic(p + ".branch3.1", b.ch5x5red, b.ch5x5, 3);
    basic(p + ".branch4.1", b.in, b.pool_proj, 1);
  }
  linear(sd, 1024, 1000, seed);
  return sd;
}

NamedTensors resnet50_state_dict() {
  NamedTensors sd;
  uint64_t seed = 100;
  conv_bn(sd, "conv1.weight", "bn1", 3, 64, 7, seed);
  int64_t in = 64;
  for (size_t s = 0; s < hl::kResNet50Blocks.size(); ++s)
    for (int64_t b = 0; b < hl::kResNet50Blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      const int64_t w = hl::kResNet50Widths[s];
      conv_bn(sd, p + ".conv1.weight", p + ".bn1", in, w, 1, seed);
      conv_bn(sd, p + ".conv2.weight", p + ".bn2", w, w, 3, seed);
      conv_bn(sd, p + ".conv3.weight", p + ".bn3", w, 4 * w, 1, seed);
      if (b == 0) conv_bn(sd, p + ".downsample.0.weight", p + ".downsample.1", in, 4 * w, 1, seed);
      in = 4 * w;
    }
  linear(sd, 2048, 365, seed);
  return sd;
}

template <typename Net>
void run(benchmark::State& state, Net& net) {
  const int64_t batch = state.range(0);
  const Tensor x = normal({batch, 224, 224, 3}, 7, 1.0f);
  net.forward(x);  // plans the buffers
  for (auto _ : state) {
    const hl::CnnOutput out = net.forward(x);
    benchmark::DoNotOptimize(out.logits.raw());
  }
  state.SetLabel("OpenBLAS " + hl::cpu::blas_core_name());
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(batch) * static_cast<double>(state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

void BM_cnn_googlenet(benchmark::State& state) {
  static hl::GoogLeNet net = hl::GoogLeNet::from_tensors(hl::convert_googlenet(googlenet_state_dict()).tensors);
  run(state, net);
}
BENCHMARK(BM_cnn_googlenet)->Arg(8)->Unit(benchmark::kMillisecond);

void BM_cnn_resnet50(benchmark::State& state) {
  static hl::ResNet50 net = hl::ResNet50::from_tensors(hl::convert_resnet50(resnet50_state_dict()).tensors);
  run(state, net);
}
BENCHMARK(BM_cnn_resnet50)->Arg(8)->Unit(benchmark::kMillisecond);

}  // namespace
