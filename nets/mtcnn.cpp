#include "nets/mtcnn.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <utility>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_fused.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/pool2d.h"
#include "nets/cnn_weights.h"
#include "nets/mtcnn_boxes.h"
#include "nets/mtcnn_stages.h"

namespace hl {

namespace {

using mtcnn::Box;

// std::allocator without the zero fill of resize(): every buffer below is written in
// full before it is read, and clearing a 720p pyramid level's activations cost ~10 %.
template <typename T>
struct UninitialisedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitialisedAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Buffer = std::vector<float, UninitialisedAllocator<float>>;

// Activations: f32 NHWC [n, h, w, c].
struct Act {
  int64_t n = 0, h = 0, w = 0, c = 0;
  Buffer v;
};

// Takes tensors by name with exact shapes; finish() reports the ones nobody took.
class Taker {
 public:
  explicit Taker(const NamedTensors& tensors) {
    for (const auto& [name, t] : tensors)
      if (!by_name_.emplace(name, t).second) throw Error("mtcnn weights: " + name + " is given twice");
  }
  Tensor take(const std::string& name, const std::vector<int64_t>& shape) {
    const auto it = by_name_.find(name);
    if (it == by_name_.end()) throw Error("mtcnn weights: " + name + " is missing");
    used_.insert(name);
    if (it->second.shape() != Shape(shape) || it->second.dtype() != DType::F32)
      throw Error("mtcnn weights: " + name + " is " + std::string(dtype_name(it->second.dtype())) + " " +
                  it->second.shape().str() + ", expected F32 " + Shape(shape).str());
    return it->second.to(Device::cpu());
  }
  Mtcnn::Conv conv(const std::string& name, int64_t c_in, int64_t c_out, int64_t k) {
    return {c_in, c_out, k, take(name + ".weight", {k, k, c_in, c_out}), take(name + ".bias", {c_out})};
  }
  Mtcnn::Dense dense(const std::string& name, int64_t in, int64_t out) {
    return {in, out, take(name + ".weight", {in, out}), take(name + ".bias", {out})};
  }
  void finish() const {
    for (const auto& [name, t] : by_name_)
      if (!used_.count(name)) throw Error("mtcnn weights: unexpected tensor " + name);
  }

 private:
  std::map<std::string, Tensor> by_name_;
  std::set<std::string> used_;
};

// The helpers below write into the caller's kept buffers (y, workspace): resize() on an
// UninitialisedAllocator vector keeps its capacity and fills nothing.
void conv(const Mtcnn::Conv& l, const Act& x, Act& y, Buffer& workspace) {
  cpu::Conv2dShape s;
  s.batch = x.n;
  s.height = x.h;
  s.width = x.w;
  s.c_in = l.c_in;
  s.c_out = l.c_out;
  s.kh = s.kw = l.k;
  s.validate("mtcnn conv");
  y.n = x.n, y.h = s.out_height(), y.w = s.out_width(), y.c = l.c_out;
  y.v.resize(static_cast<size_t>(y.n * y.h * y.w * y.c));
  // Blocked im2col + GEMM with the bias as the epilogue's shift (kernels/cpu/conv2d_fused.h).
  workspace.resize(cpu::conv2d_fused_workspace(s));
  cpu::ConvEpilogue e;
  e.shift = l.bias.data<float>();
  cpu::conv2d_fused_f32(s, x.v.data(), l.weight.data<float>(), y.v.data(), l.c_out, e, workspace.data());
}

// A P-Net layer through nets/mtcnn_conv.h (one image: x.n == 1).
void fast_conv(const mtcnn::PackedConv& c, const Act& x, Act& y) {
  y.n = 1, y.h = x.h - c.k + 1, y.w = x.w - c.k + 1, y.c = c.c_out;
  y.v.resize(static_cast<size_t>(y.h * y.w * y.c));
  mtcnn::conv_valid_prelu(c, x.v.data(), x.h, x.w, y.v.data());
}

// PyTorch's PReLU: x if x > 0, else a[c] x (v: [pixels, c]).
void prelu(Buffer& v, const Tensor& a) {
  const int64_t c = a.numel(), pixels = static_cast<int64_t>(v.size()) / c;
  const float* w = a.data<float>();
  for (int64_t p = 0; p < pixels; ++p) {
    float* row = v.data() + p * c;
    // max(x, 0) + a min(x, 0) is the same value (x + a * 0 = x; 0 + a x = a x, up to the
    // sign of a zero) without a branch: maxps / minps, which the compiler vectorises.
    for (int64_t k = 0; k < c; ++k) row[k] = std::max(row[k], 0.0f) + w[k] * std::min(row[k], 0.0f);
  }
}

void maxpool(const Act& x, int64_t k, int64_t stride, Act& y) {
  cpu::Pool2dShape s;
  s.batch = x.n;
  s.height = x.h;
  s.width = x.w;
  s.channels = x.c;
  s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride;
  s.ceil_mode = true;
  s.validate("mtcnn maxpool");
  y.n = x.n, y.h = s.out_height(), y.w = s.out_width(), y.c = x.c;
  y.v.resize(static_cast<size_t>(y.n * y.h * y.w * y.c));
  cpu::maxpool2d_f32(s, x.v.data(), y.v.data());
}

void dense(const Mtcnn::Dense& l, const float* x, int64_t rows, Buffer& y) {
  y.resize(static_cast<size_t>(rows * l.out));
  cpu::linear_forward<float>(x, l.weight.data<float>(), l.bias.data<float>(), y.data(), rows, l.in, l.out);
}

}  // namespace

// One detection's buffers: activations ping-pong between a and b.
struct MtcnnScratch::Buffers {
  mtcnn::IntegralImage integral;
  std::vector<double> scales;
  std::vector<Box> boxes;
  mtcnn::StageScratch stage;
  Act a, b, heads;
  Buffer workspace, hidden, logits, reg, points;
};

MtcnnScratch::MtcnnScratch() : b_(std::make_unique<Buffers>()) {}
MtcnnScratch::~MtcnnScratch() = default;
MtcnnScratch::MtcnnScratch(MtcnnScratch&&) noexcept = default;
MtcnnScratch& MtcnnScratch::operator=(MtcnnScratch&&) noexcept = default;

Mtcnn Mtcnn::from_tensors(const NamedTensors& tensors, const MtcnnOptions& options) {
  Taker t(tensors);
  Mtcnn m;
  m.options_ = options;
  m.p_conv1_ = t.conv("pnet.conv1", 3, 10, 3);
  m.p_conv2_ = t.conv("pnet.conv2", 10, 16, 3);
  m.p_conv3_ = t.conv("pnet.conv3", 16, 32, 3);
  m.p_conv4_1_ = t.conv("pnet.conv4_1", 32, 2, 1);
  m.p_conv4_2_ = t.conv("pnet.conv4_2", 32, 4, 1);
  const int64_t p_ch[3] = {10, 16, 32};
  for (int i = 0; i < 3; ++i) m.p_prelu_[i] = t.take("pnet.prelu" + std::to_string(i + 1) + ".weight", {p_ch[i]});
  const Mtcnn& cm = m;  // const access: the tensors may view a read-only mapped file
  const Conv* p_convs[3] = {&cm.p_conv1_, &cm.p_conv2_, &cm.p_conv3_};
  for (int i = 0; i < 3; ++i) {
    const Conv& c = *p_convs[i];
    m.p_fast_[i] = mtcnn::pack_conv(c.weight.data<float>(), c.bias.data<float>(), cm.p_prelu_[i].data<float>(), c.k,
                                    c.c_in, c.c_out);
  }
  {
    // [32, 2] and [32, 4] side by side: [32, 6]; outputs 0-1 the logits, 2-5 the regression.
    std::vector<float> w(32 * 6), b(6);
    for (int64_t i = 0; i < 32; ++i) {
      for (int o = 0; o < 2; ++o) w[i * 6 + o] = cm.p_conv4_1_.weight.data<float>()[i * 2 + o];
      for (int o = 0; o < 4; ++o) w[i * 6 + 2 + o] = cm.p_conv4_2_.weight.data<float>()[i * 4 + o];
    }
    for (int o = 0; o < 2; ++o) b[o] = cm.p_conv4_1_.bias.data<float>()[o];
    for (int o = 0; o < 4; ++o) b[2 + o] = cm.p_conv4_2_.bias.data<float>()[o];
    m.p_heads_ = mtcnn::pack_conv(w.data(), b.data(), nullptr, 1, 32, 6);
  }
  m.r_conv1_ = t.conv("rnet.conv1", 3, 28, 3);
  m.r_conv2_ = t.conv("rnet.conv2", 28, 48, 3);
  m.r_conv3_ = t.conv("rnet.conv3", 48, 64, 2);
  m.r_dense4_ = t.dense("rnet.dense4", 576, 128);
  m.r_dense5_1_ = t.dense("rnet.dense5_1", 128, 2);
  m.r_dense5_2_ = t.dense("rnet.dense5_2", 128, 4);
  const int64_t r_ch[4] = {28, 48, 64, 128};
  for (int i = 0; i < 4; ++i) m.r_prelu_[i] = t.take("rnet.prelu" + std::to_string(i + 1) + ".weight", {r_ch[i]});
  m.o_conv1_ = t.conv("onet.conv1", 3, 32, 3);
  m.o_conv2_ = t.conv("onet.conv2", 32, 64, 3);
  m.o_conv3_ = t.conv("onet.conv3", 64, 64, 3);
  m.o_conv4_ = t.conv("onet.conv4", 64, 128, 2);
  m.o_dense5_ = t.dense("onet.dense5", 1152, 256);
  m.o_dense6_1_ = t.dense("onet.dense6_1", 256, 2);
  m.o_dense6_2_ = t.dense("onet.dense6_2", 256, 4);
  m.o_dense6_3_ = t.dense("onet.dense6_3", 256, 10);
  const int64_t o_ch[5] = {32, 64, 64, 128, 256};
  for (int i = 0; i < 5; ++i) m.o_prelu_[i] = t.take("onet.prelu" + std::to_string(i + 1) + ".weight", {o_ch[i]});
  t.finish();
  if (!(options.min_face > 0) || !(options.factor > 0 && options.factor < 1))
    throw Error("mtcnn: the minimum face size must be positive and the pyramid factor in (0, 1)");
  return m;
}

Mtcnn Mtcnn::load(const std::string& path, const MtcnnOptions& options) {
  return load_cnn_weight_file<Mtcnn>(path, "mtcnn",
                                     [&](const NamedTensors& tensors) { return from_tensors(tensors, options); });
}

std::vector<DetectedFace> Mtcnn::detect(const uint8_t* rgb, int64_t h, int64_t w, MtcnnStageCounts* counts) const {
  MtcnnScratch scratch;
  std::vector<DetectedFace> faces;
  detect_into(rgb, h, w, scratch, faces, counts);
  return faces;
}

void Mtcnn::detect_into(const uint8_t* rgb, int64_t h, int64_t w, MtcnnScratch& scratch,
                        std::vector<DetectedFace>& faces, MtcnnStageCounts* counts) const {
  if (counts) *counts = {};
  faces.clear();
  if (h < 1 || w < 1) return;
  if (!scratch.b_) scratch.b_ = std::make_unique<MtcnnScratch::Buffers>();  // a moved-from scratch
  MtcnnScratch::Buffers& s = *scratch.b_;
  Act& a = s.a;
  Act& b = s.b;
  // Stage 1: P-Net per level, per-level NMS 0.5. The sums of the frame's pixels once,
  // for every level's and crop's area resampling.
  s.integral.assign(rgb, h, w);
  std::vector<Box>& boxes = s.boxes;
  boxes.clear();
  mtcnn::pyramid_scales(h, w, options_, s.scales);
  for (const double sc : s.scales) {
    const int64_t lh = mtcnn::level_size(h, sc), lw = mtcnn::level_size(w, sc);
    a.n = 1, a.h = lh, a.w = lw, a.c = 3;
    a.v.resize(static_cast<size_t>(lh * lw * 3));
    mtcnn::area_resize_normalise(s.integral, 0, 0, h, w, lh, lw, a.v.data(), s.stage.cols);
    fast_conv(p_fast_[0], a, b);  // conv1 + PReLU
    maxpool(b, 2, 2, a);
    fast_conv(p_fast_[1], a, b);  // conv2 + PReLU
    fast_conv(p_fast_[2], b, a);  // conv3 + PReLU
    fast_conv(p_heads_, a, s.heads);  // [1, h, w, 6]: 2 logits, 4 regression values
    mtcnn::add_level_candidates({s.heads.v.data(), 6}, {s.heads.v.data() + 2, 6}, s.heads.h, s.heads.w, sc,
                                options_.thresholds[0], boxes, s.stage);
  }
  mtcnn::finish_pnet(boxes, s.stage);
  if (counts) counts->pnet = static_cast<int64_t>(boxes.size());
  if (boxes.empty()) return;

  // Stage 2: R-Net on 24x24 crops.
  a.v.resize(boxes.size() * 24 * 24 * 3);
  a.n = mtcnn::crops(s.integral, boxes, 24, a.v.data(), s.stage);
  a.h = 24, a.w = 24, a.c = 3;
  if (a.n == 0) return;
  a.v.resize(static_cast<size_t>(a.n * 24 * 24 * 3));
  conv(r_conv1_, a, b, s.workspace);
  prelu(b.v, r_prelu_[0]);
  maxpool(b, 3, 2, a);
  conv(r_conv2_, a, b, s.workspace);
  prelu(b.v, r_prelu_[1]);
  maxpool(b, 3, 2, a);
  conv(r_conv3_, a, b, s.workspace);
  prelu(b.v, r_prelu_[2]);
  dense(r_dense4_, b.v.data(), b.n, s.hidden);  // [n, 128]
  prelu(s.hidden, r_prelu_[3]);
  dense(r_dense5_1_, s.hidden.data(), b.n, s.logits);
  dense(r_dense5_2_, s.hidden.data(), b.n, s.reg);
  mtcnn::refine_rnet({s.logits.data(), 2}, {s.reg.data(), 4}, boxes, options_.thresholds[1], s.stage);
  if (counts) counts->rnet = static_cast<int64_t>(boxes.size());
  if (boxes.empty()) return;

  // Stage 3: O-Net on 48x48 crops, landmarks, 'Min' NMS.
  a.v.resize(boxes.size() * 48 * 48 * 3);
  a.n = mtcnn::crops(s.integral, boxes, 48, a.v.data(), s.stage);
  a.h = 48, a.w = 48, a.c = 3;
  if (a.n == 0) return;
  a.v.resize(static_cast<size_t>(a.n * 48 * 48 * 3));
  conv(o_conv1_, a, b, s.workspace);
  prelu(b.v, o_prelu_[0]);
  maxpool(b, 3, 2, a);
  conv(o_conv2_, a, b, s.workspace);
  prelu(b.v, o_prelu_[1]);
  maxpool(b, 3, 2, a);
  conv(o_conv3_, a, b, s.workspace);
  prelu(b.v, o_prelu_[2]);
  maxpool(b, 2, 2, a);
  conv(o_conv4_, a, b, s.workspace);
  prelu(b.v, o_prelu_[3]);
  dense(o_dense5_, b.v.data(), b.n, s.hidden);  // [n, 256]
  prelu(s.hidden, o_prelu_[4]);
  dense(o_dense6_1_, s.hidden.data(), b.n, s.logits);
  dense(o_dense6_2_, s.hidden.data(), b.n, s.reg);
  dense(o_dense6_3_, s.hidden.data(), b.n, s.points);
  mtcnn::finish_onet({s.logits.data(), 2}, {s.reg.data(), 4}, {s.points.data(), 10}, boxes, options_.thresholds[2],
                     s.stage, faces);
  if (counts) counts->onet = static_cast<int64_t>(faces.size());
}

float most_confident_face_area(const std::vector<DetectedFace>& faces, int64_t h, int64_t w) {
  if (faces.empty() || h < 1 || w < 1) return 0.0f;
  const auto best = std::max_element(faces.begin(), faces.end(), [](const DetectedFace& a, const DetectedFace& b) {
    return a.probability < b.probability;
  });
  const double x1 = std::clamp<double>(best->x1, 0, w), x2 = std::clamp<double>(best->x2, 0, w);
  const double y1 = std::clamp<double>(best->y1, 0, h), y2 = std::clamp<double>(best->y2, 0, h);
  return static_cast<float>(std::max(0.0, x2 - x1) * std::max(0.0, y2 - y1) / (static_cast<double>(h) * w));
}

}  // namespace hl
