#include "nets/resnet50.h"

#include "nets/cnn_weights.h"
#include "weights/resnet50_map.h"

namespace hl {

ResNet50 ResNet50::load(const std::string& safetensors_path) { return load(safetensors_path, make_cpu_cnn_backend()); }

ResNet50 ResNet50::load(const std::string& safetensors_path, std::unique_ptr<CnnBackend> backend) {
  return load_cnn_weight_file<ResNet50>(safetensors_path, "resnet50", [&](const auto& tensors) {
    return from_tensors(tensors, std::move(backend));
  });
}

ResNet50 ResNet50::from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  return from_tensors(tensors, make_cpu_cnn_backend());
}

ResNet50 ResNet50::from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                std::unique_ptr<CnnBackend> backend) {
  ResNet50 net(std::move(backend));
  CnnWeights w("resnet50", tensors);
  CnnRunner& r = net.runner_;
  const double eps = kResNet50BatchNormEps;
  net.conv1_ = r.prepare(w.conv("conv1", 3, 64, 7, 2, 3, eps));
  int64_t in = 64;
  for (size_t s = 0; s < kResNet50Blocks.size(); ++s) {
    const int64_t width = kResNet50Widths[s], out = width * kResNet50Expansion;
    for (int64_t b = 0; b < kResNet50Blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      const int64_t stride = b == 0 ? kResNet50Strides[s] : 1;
      Bottleneck block;
      block.conv1 = r.prepare(w.conv(p + ".conv1", in, width, 1, 1, 0, eps));
      block.conv2 = r.prepare(w.conv(p + ".conv2", width, width, 3, stride, 1, eps));
      block.conv3 = r.prepare(w.conv(p + ".conv3", width, out, 1, 1, 0, eps));  // ReLU after the residual add
      if (b == 0) block.downsample = r.prepare(w.conv(p + ".downsample", in, out, 1, stride, 0, eps, /*relu=*/false));
      net.blocks_.push_back(std::move(block));
      in = out;
    }
  }
  net.fc_ = r.prepare(w.linear("fc", kResNet50Embedding));
  w.finish();
  return net;
}

Tensor ResNet50::bottleneck(const Bottleneck& b, const Tensor& x) {
  const Tensor t = runner_.conv(b.conv2, runner_.conv(b.conv1, x));
  const Tensor shortcut = b.downsample.prepared ? runner_.conv(b.downsample, x) : x;
  return runner_.conv(b.conv3, t, &shortcut);
}

namespace {
const MaxPoolSpec kStemPool{3, 2, 1, false};
// The names for messages, made once: "resnet50 maxpool" as a literal would become a new
// std::string (too long for the small-string buffer) on every frame.
const std::string kNetName = "resnet50", kMaxpoolName = "resnet50 maxpool";
}  // namespace

Tensor ResNet50::trunk(const Tensor& x) {
  Tensor a = runner_.begin(x, 3, kNetName);
  a = runner_.conv(conv1_, a);
  a = runner_.maxpool(kStemPool, a, kMaxpoolName);
  for (const Bottleneck& b : blocks_) a = bottleneck(b, a);
  return a;
}

CnnOutput ResNet50::forward(const Tensor& x) { return runner_.finish(trunk(x), fc_); }

void ResNet50::embed(const Tensor& x, float* embedding) { runner_.finish_embedding(trunk(x), fc_, embedding); }

}  // namespace hl
