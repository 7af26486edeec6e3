#include "nets/googlenet.h"

#include "engine/error.h"
#include "nets/cnn_weights.h"
#include "weights/googlenet_map.h"

namespace hl {

namespace {

const MaxPoolSpec kStemPool{3, 2, 0, true};     // maxpool1, maxpool2, maxpool3
const MaxPoolSpec kPool4{2, 2, 0, true};        // before inception5a
const MaxPoolSpec kBranchPool{3, 1, 1, true};   // branch4 of every block

}  // namespace

GoogLeNet GoogLeNet::load(const std::string& safetensors_path) {
  return load(safetensors_path, make_cpu_cnn_backend());
}

GoogLeNet GoogLeNet::load(const std::string& safetensors_path, std::unique_ptr<CnnBackend> backend) {
  return load_cnn_weight_file<GoogLeNet>(safetensors_path, "googlenet", [&](const auto& tensors) {
    return from_tensors(tensors, std::move(backend));
  });
}

GoogLeNet GoogLeNet::from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  return from_tensors(tensors, make_cpu_cnn_backend());
}

GoogLeNet GoogLeNet::from_tensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                  std::unique_ptr<CnnBackend> backend) {
  GoogLeNet net(std::move(backend));
  CnnWeights w("googlenet", tensors);
  CnnRunner& r = net.runner_;
  const double eps = kGoogLeNetBatchNormEps;
  net.conv1_ = r.prepare(w.conv("conv1", 3, 64, 7, 2, 3, eps));
  net.conv2_ = r.prepare(w.conv("conv2", 64, 64, 1, 1, 0, eps));
  net.conv3_ = r.prepare(w.conv("conv3", 64, 192, 3, 1, 1, eps));
  for (const InceptionWidths& b : kGoogLeNetInception) {
    const std::string p = b.name;
    Inception block;
    block.out = b.out();
    block.branch1 = r.prepare(w.conv(p + ".branch1", b.in, b.ch1x1, 1, 1, 0, eps));
    block.branch2_reduce = r.prepare(w.conv(p + ".branch2.0", b.in, b.ch3x3red, 1, 1, 0, eps));
    block.branch2 = r.prepare(w.conv(p + ".branch2.1", b.ch3x3red, b.ch3x3, 3, 1, 1, eps));
    block.branch3_reduce = r.prepare(w.conv(p + ".branch3.0", b.in, b.ch5x5red, 1, 1, 0, eps));
    block.branch3 = r.prepare(w.conv(p + ".branch3.1", b.ch5x5red, b.ch5x5, 3, 1, 1, eps));
    block.branch4 = r.prepare(w.conv(p + ".branch4.1", b.in, b.pool_proj, 1, 1, 0, eps));
    net.blocks_.push_back(std::move(block));
  }
  net.fc_ = r.prepare(w.linear("fc", kGoogLeNetEmbedding));
  w.finish();
  return net;
}

Tensor GoogLeNet::inception(const Inception& b, const Tensor& x) {
  Tensor y = runner_.take({x.size(0), x.size(1), x.size(2), b.out});  // [N, H, W, out]
  int64_t offset = 0;
  runner_.conv_into(b.branch1, x, y, offset);
  offset += b.branch1.spec.c_out;
  runner_.conv_into(b.branch2, runner_.conv(b.branch2_reduce, x), y, offset);
  offset += b.branch2.spec.c_out;
  runner_.conv_into(b.branch3, runner_.conv(b.branch3_reduce, x), y, offset);
  offset += b.branch3.spec.c_out;
  runner_.conv_into(b.branch4, runner_.maxpool(kBranchPool, x, b.branch4.spec.name), y, offset);
  return y;
}

namespace {
// The stem's pooling layers' names for messages, made once: a literal would become a new
// std::string (too long for the small-string buffer) on every frame.
const std::string kMaxpool1Name = "googlenet maxpool1", kMaxpool2Name = "googlenet maxpool2",
                  kMaxpool3Name = "googlenet maxpool3", kMaxpool4Name = "googlenet maxpool4";
}  // namespace

Tensor GoogLeNet::trunk(const Tensor& x) {
  // transform_input: torchvision multiplies and adds Python floats, i.e. in f32.
  static const std::vector<float> scale = {static_cast<float>(0.229 / 0.5), static_cast<float>(0.224 / 0.5),
                                           static_cast<float>(0.225 / 0.5)};
  static const std::vector<float> shift = {static_cast<float>((0.485 - 0.5) / 0.5),
                                           static_cast<float>((0.456 - 0.5) / 0.5),
                                           static_cast<float>((0.406 - 0.5) / 0.5)};
  Tensor a = runner_.begin(x, 3, "googlenet");
  runner_.backend().channel_affine(a, a, scale, shift);
  a = runner_.conv(conv1_, a);
  a = runner_.maxpool(kStemPool, a, kMaxpool1Name);
  a = runner_.conv(conv2_, a);
  a = runner_.conv(conv3_, a);
  a = runner_.maxpool(kStemPool, a, kMaxpool2Name);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    a = inception(blocks_[i], a);
    if (i == 1) a = runner_.maxpool(kStemPool, a, kMaxpool3Name);
    if (i == 6) a = runner_.maxpool(kPool4, a, kMaxpool4Name);
  }
  return a;
}

CnnOutput GoogLeNet::forward(const Tensor& x) { return runner_.finish(trunk(x), fc_); }

void GoogLeNet::embed(const Tensor& x, float* embedding) { runner_.finish_embedding(trunk(x), fc_, embedding); }

}  // namespace hl
