#include "nets/mtcnn_backend.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "engine/error.h"
#include "nets/cnn_backend_cuda.h"
#include "nets/mtcnn_stages.h"

namespace hl {

// main: the conv (with ReLU when it is a PReLU layer's first half); linear and mix: a
// PReLU layer's conv without ReLU and the 1x1 conv [2c -> c] that mixes the two halves.
struct MtcnnOnBackend::Layer {
  std::unique_ptr<PreparedLayer> main, linear, mix;
  int64_t c_out = 0;
};

namespace {

using Layer = MtcnnOnBackend::Layer;

ConvLayer conv_spec(const std::string& name, const Tensor& weight, const Tensor& bias, int64_t k, int64_t c_in,
                    int64_t c_out, bool relu) {
  ConvLayer c;
  c.name = name;
  c.c_in = c_in, c.c_out = c_out, c.kernel = k;
  c.weight = weight;  // HWIO [k, k, c_in, c_out]
  c.bias = bias;
  c.relu = relu;
  return c;
}

// A conv followed by PReLU with slopes alpha [c_out] (see the header).
Layer prelu_layer(CnnBackend& b, const std::string& name, const Tensor& weight, const Tensor& bias, int64_t k,
                  int64_t c_in, int64_t c_out, const Tensor& alpha) {
  Layer l;
  l.c_out = c_out;
  l.main = b.prepare(conv_spec(name, weight, bias, k, c_in, c_out, true));
  l.linear = b.prepare(conv_spec(name + " (without ReLU)", weight, bias, k, c_in, c_out, false));
  // Input channels [0, c): relu(y), weight 1 - a; [c, 2c): y, weight a.
  Tensor mix = Tensor::zeros({1, 1, 2 * c_out, c_out}, DType::F32);
  float* m = mix.data<float>();
  const float* a = alpha.data<float>();
  for (int64_t o = 0; o < c_out; ++o) {
    m[o * c_out + o] = 1.0f - a[o];
    m[(c_out + o) * c_out + o] = a[o];
  }
  l.mix = b.prepare(conv_spec(name + " prelu", mix, Tensor::zeros({c_out}, DType::F32), 1, 2 * c_out, c_out, false));
  return l;
}

Layer plain_layer(CnnBackend& b, const std::string& name, const Tensor& weight, const Tensor& bias, int64_t k,
                  int64_t c_in, int64_t c_out) {
  Layer l;
  l.c_out = c_out;
  l.main = b.prepare(conv_spec(name, weight, bias, k, c_in, c_out, false));
  return l;
}

// Dense layers side by side as one 1x1 conv: weight [in, sum of outs], bias likewise.
template <typename Dense>
Layer heads_layer(CnnBackend& b, const std::string& name, const std::vector<const Dense*>& parts) {
  const int64_t in = parts[0]->in;
  int64_t out = 0;
  for (const Dense* d : parts) out += d->out;
  Tensor w = Tensor::empty({1, 1, in, out}, DType::F32), bias = Tensor::empty({out}, DType::F32);
  int64_t at = 0;
  for (const Dense* d : parts) {
    const float* dw = d->weight.template data<float>();  // [in, d.out]
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < d->out; ++o) w.data<float>()[i * out + at + o] = dw[i * d->out + o];
    std::memcpy(bias.data<float>() + at, d->bias.template data<float>(), static_cast<size_t>(d->out) * sizeof(float));
    at += d->out;
  }
  return plain_layer(b, name, w, bias, 1, in, out);
}

// R-Net and O-Net batches are rounded up to a power of two (at least 16): the CUDA
// backend plans each conv once per input shape (cuDNN's algorithm search), so a handful
// of batch sizes serve a whole video. The padding rows are zeros, and ignored.
int64_t batch_bucket(int64_t n) {
  int64_t b = 16;
  while (b < n) b *= 2;
  return b;
}

}  // namespace

MtcnnOnBackend::MtcnnOnBackend(const Mtcnn& m, std::unique_ptr<CnnBackend> backend)
    : options_(m.options_), backend_(std::move(backend)) {
  if (!backend_) throw Error("mtcnn: no backend");
  CnnBackend& b = *backend_;
  auto conv = [&](const std::string& name, const Mtcnn::Conv& c, const Tensor& alpha) {
    return prelu_layer(b, name, c.weight, c.bias, c.k, c.c_in, c.c_out, alpha);
  };
  // A dense layer over a [k, k, c] map as a k x k conv: its [k * k * c, out] weight is
  // HWIO already (the converter orders its rows as our NHWC flattening).
  auto dense = [&](const std::string& name, const Mtcnn::Dense& d, int64_t k, const Tensor& alpha) {
    const int64_t c = d.in / (k * k);
    return prelu_layer(b, name, d.weight.reshape({k, k, c, d.out}), d.bias, k, c, d.out, alpha);
  };
  pnet_.push_back(conv("pnet.conv1", m.p_conv1_, m.p_prelu_[0]));
  pnet_.push_back(conv("pnet.conv2", m.p_conv2_, m.p_prelu_[1]));
  pnet_.push_back(conv("pnet.conv3", m.p_conv3_, m.p_prelu_[2]));
  {
    // The two 1x1 heads [32, 2] and [32, 4] as one [32, 6].
    const Mtcnn::Conv* parts[2] = {&m.p_conv4_1_, &m.p_conv4_2_};
    Tensor w = Tensor::empty({1, 1, 32, 6}, DType::F32), bias = Tensor::empty({6}, DType::F32);
    int64_t at = 0;
    for (const Mtcnn::Conv* c : parts) {
      for (int64_t i = 0; i < 32; ++i)
        for (int64_t o = 0; o < c->c_out; ++o) w.data<float>()[i * 6 + at + o] = c->weight.data<float>()[i * c->c_out + o];
      for (int64_t o = 0; o < c->c_out; ++o) bias.data<float>()[at + o] = c->bias.data<float>()[o];
      at += c->c_out;
    }
    pnet_.push_back(plain_layer(b, "pnet.heads", w, bias, 1, 32, 6));
  }
  rnet_.push_back(conv("rnet.conv1", m.r_conv1_, m.r_prelu_[0]));
  rnet_.push_back(conv("rnet.conv2", m.r_conv2_, m.r_prelu_[1]));
  rnet_.push_back(conv("rnet.conv3", m.r_conv3_, m.r_prelu_[2]));
  rnet_.push_back(dense("rnet.dense4", m.r_dense4_, 3, m.r_prelu_[3]));
  rnet_.push_back(heads_layer<Mtcnn::Dense>(b, "rnet.heads", {&m.r_dense5_1_, &m.r_dense5_2_}));
  onet_.push_back(conv("onet.conv1", m.o_conv1_, m.o_prelu_[0]));
  onet_.push_back(conv("onet.conv2", m.o_conv2_, m.o_prelu_[1]));
  onet_.push_back(conv("onet.conv3", m.o_conv3_, m.o_prelu_[2]));
  onet_.push_back(conv("onet.conv4", m.o_conv4_, m.o_prelu_[3]));
  onet_.push_back(dense("onet.dense5", m.o_dense5_, 3, m.o_prelu_[4]));
  onet_.push_back(heads_layer<Mtcnn::Dense>(b, "onet.heads", {&m.o_dense6_1_, &m.o_dense6_2_, &m.o_dense6_3_}));
}

MtcnnOnBackend::~MtcnnOnBackend() = default;

Tensor MtcnnOnBackend::activation(const Shape& shape) {
  const DType dt = backend_->activation_dtype();
  Tensor t(backend_->allocate(static_cast<size_t>(shape.numel()) * dtype_size(dt)), 0, shape, dt);
  frame_buffers_.push_back(t);
  return t;
}

Tensor MtcnnOnBackend::run(const Layer& layer, const Tensor& x) {
  const ConvLayer& spec = static_cast<const PreparedConv&>(*layer.main).spec;
  const Shape out = conv_output_shape(spec, x.shape());
  Tensor y = activation(out);
  if (!layer.linear) {
    backend_->conv2d(*layer.main, x, y);
    return y;
  }
  Tensor halves = activation(Shape{out[0], out[1], out[2], 2 * layer.c_out});
  backend_->conv2d(*layer.main, x, halves, 0);
  backend_->conv2d(*layer.linear, x, halves, layer.c_out);
  backend_->conv2d(*layer.mix, halves, y);
  return y;
}

Tensor MtcnnOnBackend::pool(const Tensor& x, int64_t kernel, int64_t stride) {
  MaxPoolSpec p;
  p.kernel = kernel, p.stride = stride, p.pad = 0, p.ceil_mode = true;
  Tensor y = activation(maxpool_output_shape(p, x.shape(), "mtcnn maxpool"));
  backend_->maxpool2d(p, x, y);
  return y;
}

Tensor MtcnnOnBackend::upload(const std::vector<float>& host, const Shape& shape) {
  Tensor h = Tensor::empty(shape, DType::F32);
  std::memset(h.raw(), 0, h.nbytes());
  std::memcpy(h.raw(), host.data(), std::min(h.nbytes(), host.size() * sizeof(float)));
  host_buffers_.push_back(h);  // alive until the frame's work is done
  Tensor d = activation(shape);
  backend_->upload(h, d);
  return d;
}

std::vector<DetectedFace> MtcnnOnBackend::detect(const uint8_t* rgb, int64_t h, int64_t w, MtcnnStageCounts* counts) {
  if (counts) *counts = {};
  if (h < 1 || w < 1) return {};
  // Every buffer of the frame lives until the end: dropping a device buffer waits for the
  // backend's stream, which would serialise the levels.
  struct Release {
    MtcnnOnBackend* self;
    ~Release() {
      self->frame_buffers_.clear();
      self->host_buffers_.clear();
    }
  } release{this};
  const mtcnn::IntegralImage integral(rgb, h, w);
  mtcnn::StageScratch stage;

  // Stage 1: every level queued, then read back.
  std::vector<double> scales;
  mtcnn::pyramid_scales(h, w, options_, scales);
  std::vector<Tensor> heads;
  for (const double s : scales) {
    const int64_t lh = mtcnn::level_size(h, s), lw = mtcnn::level_size(w, s);
    std::vector<float> x(static_cast<size_t>(lh * lw * 3));
    mtcnn::area_resize_normalise(integral, 0, 0, h, w, lh, lw, x.data());
    Tensor a = upload(x, Shape{1, lh, lw, 3});
    a = run(pnet_[0], a);
    a = pool(a, 2, 2);
    a = run(pnet_[1], a);
    a = run(pnet_[2], a);
    heads.push_back(run(pnet_[3], a));  // [1, oh, ow, 6]
  }
  std::vector<mtcnn::Box> boxes;
  for (size_t i = 0; i < scales.size(); ++i) {
    const Tensor out = backend_->download(heads[i]);
    const float* d = out.data<float>();
    mtcnn::add_level_candidates({d, 6}, {d + 2, 6}, out.size(1), out.size(2), scales[i], options_.thresholds[0],
                                boxes, stage);
  }
  mtcnn::finish_pnet(boxes, stage);
  if (counts) counts->pnet = static_cast<int64_t>(boxes.size());
  if (boxes.empty()) return {};

  // Stage 2: R-Net on 24x24 crops.
  {
    std::vector<float> x(boxes.size() * 24 * 24 * 3);
    const int64_t n = mtcnn::crops(integral, boxes, 24, x.data(), stage);
    if (n == 0) return {};
    x.resize(static_cast<size_t>(n * 24 * 24 * 3));
    Tensor a = upload(x, Shape{batch_bucket(n), 24, 24, 3});
    a = run(rnet_[0], a);
    a = pool(a, 3, 2);
    a = run(rnet_[1], a);
    a = pool(a, 3, 2);
    a = run(rnet_[2], a);
    a = run(rnet_[3], a);  // [N, 1, 1, 128]
    const Tensor out = backend_->download(run(rnet_[4], a));  // [N, 1, 1, 6]
    const float* d = out.data<float>();
    mtcnn::refine_rnet({d, 6}, {d + 2, 6}, boxes, options_.thresholds[1], stage);
  }
  if (counts) counts->rnet = static_cast<int64_t>(boxes.size());
  if (boxes.empty()) return {};

  // Stage 3: O-Net on 48x48 crops.
  std::vector<float> x(boxes.size() * 48 * 48 * 3);
  const int64_t n = mtcnn::crops(integral, boxes, 48, x.data(), stage);
  if (n == 0) return {};
  x.resize(static_cast<size_t>(n * 48 * 48 * 3));
  Tensor a = upload(x, Shape{batch_bucket(n), 48, 48, 3});
  a = run(onet_[0], a);
  a = pool(a, 3, 2);
  a = run(onet_[1], a);
  a = pool(a, 3, 2);
  a = run(onet_[2], a);
  a = pool(a, 2, 2);
  a = run(onet_[3], a);
  a = run(onet_[4], a);  // [N, 1, 1, 256]
  const Tensor out = backend_->download(run(onet_[5], a));  // [N, 1, 1, 16]
  const float* d = out.data<float>();
  std::vector<DetectedFace> result;
  mtcnn::finish_onet({d, 16}, {d + 2, 16}, {d + 6, 16}, boxes, options_.thresholds[2], stage, result);
  if (counts) counts->onet = static_cast<int64_t>(result.size());
  return result;
}

std::unique_ptr<MtcnnOnBackend> make_cuda_mtcnn(const Mtcnn& weights, const MtcnnCudaOptions& options) {
  CudaCnnOptions o;
  o.device = options.device;
  o.f16 = options.f16;
  return std::make_unique<MtcnnOnBackend>(weights, make_cuda_cnn_backend(o));
}

std::unique_ptr<MtcnnOnBackend> make_cpu_backend_mtcnn(const Mtcnn& weights) {
  return std::make_unique<MtcnnOnBackend>(weights, make_cpu_cnn_backend());
}

}  // namespace hl
