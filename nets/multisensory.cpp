#include "nets/multisensory.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/parse_number.h"
#include "engine/safetensors.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/fractional_pool.h"
#include "kernels/cpu/multisensory_fused.h"
#include "kernels/cpu/pool3d.h"
#include "nets/multisensory_layers.h"

namespace hl {

namespace {

// Floats that a run overwrites before it reads them: grown without initialising (no
// zero-fill; the pages are touched once, by the first run) and kept between runs.
class Buffer {
 public:
  float* get(int64_t n) {
    if (n > capacity_) {
      data_.reset(new float[static_cast<size_t>(n)]);
      capacity_ = n;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<float[]> data_;
  int64_t capacity_ = 0;
};

// The four buffers one path of the network rotates through: a block reads its input from
// one and writes its first conv, its output and its shortcut conv to the three others.
struct BufferSet {
  std::array<Buffer, 4> buffers;
  // The first buffer that is none of `busy`.
  int other_than(std::initializer_list<int> busy) const {
    for (int i = 0; i < static_cast<int>(buffers.size()); ++i)
      if (std::find(busy.begin(), busy.end(), i) == busy.end()) return i;
    throw Error("multisensory: no free activation buffer");  // unreachable: at most 3 are busy
  }
};

}  // namespace

// Activations of one run: the sound path's, the video path's, the mean and the logit.
struct MultisensoryScratch {
  BufferSet sf, im;
  Buffer mean, logit;
};

// Scratches for run(): a call takes one (a new one when every one is in use by another
// call) and puts it back, so concurrent calls never share buffers.
class MultisensoryScratchPool {
 public:
  std::unique_ptr<MultisensoryScratch> take() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        std::unique_ptr<MultisensoryScratch> s = std::move(free_.back());
        free_.pop_back();
        return s;
      }
    }
    return std::make_unique<MultisensoryScratch>();
  }
  void give_back(std::unique_ptr<MultisensoryScratch> s) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(s));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<MultisensoryScratch>> free_;
};

namespace {

// The scratch of one call, back to the pool when the call ends (also by an exception).
class ScratchLease {
 public:
  explicit ScratchLease(MultisensoryScratchPool& pool) : pool_(pool), scratch_(pool.take()) {}
  ~ScratchLease() { pool_.give_back(std::move(scratch_)); }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  MultisensoryScratch& operator*() { return *scratch_; }

 private:
  MultisensoryScratchPool& pool_;
  std::unique_ptr<MultisensoryScratch> scratch_;
};

// One clip's activations, channels last: [d, h, w, c] (batch 1), in buffer `buf` of a
// BufferSet (-1: the caller's images, only read). The sound path is [1, n, 1, c]:
// TensorFlow's [B, N, 1, C] with the time axis as height.
struct Act {
  int64_t d = 0, h = 0, w = 0, c = 0;
  float* v = nullptr;
  int buf = -1;
  int64_t positions() const { return d * h * w; }
  int64_t size() const { return positions() * c; }
};

using Stride = MultisensoryStride;

class Forward {
 public:
  Forward(const std::string& path, BufferSet& set) : path_(path), set_(set) {}

  // Conv `l`, TensorFlow SAME padding, then ReLU when asked, into buffer `out`.
  Act conv(const Act& x, const MultisensoryConv& l, Stride s, bool relu, int out) const {
    if (l.c_in != x.c)
      throw FormatError(path_, l.name + ": " + std::to_string(l.c_in) + " input channels, the net has " +
                                   std::to_string(x.c));
    cpu::Conv3dShape cs;
    cs.batch = 1;
    cs.depth = x.d, cs.height = x.h, cs.width = x.w;
    cs.c_in = x.c, cs.c_out = l.c_out;
    cs.kd = l.kd, cs.kh = l.kh, cs.kw = l.kw;
    cs.sd = s[0], cs.sh = s[1], cs.sw = s[2];
    Act y{cs.pad_d().out, cs.pad_h().out, cs.pad_w().out, cs.c_out, nullptr, out};
    y.v = set_.buffers[out].get(y.size());
    cpu::conv3d_ndhwc_f32(cs, x.v, l.weight.data<float>(), l.bias.data<float>(), y.v);
    if (relu) cpu::relu_max_f32(y.v, y.size());
    return y;
  }

  Act max_pool(const Act& x, Stride k, Stride s, bool same, int out) const {
    const cpu::Pool3dShape ps{1, x.d, x.h, x.w, x.c, k[0], k[1], k[2], s[0], s[1], s[2], same};
    Act y{ps.pad_d().out, ps.pad_h().out, ps.pad_w().out, x.c, nullptr, out};
    y.v = set_.buffers[out].get(y.size());
    cpu::maxpool3d_ndhwc_f32(ps, x.v, y.v);
    return y;
  }

  // The folded BatchNorm `bn` must have y's channels.
  void check_bn(const MultisensoryBn& bn, const Act& y) const {
    if (bn.c != y.c)
      throw FormatError(path_, bn.name + ": " + std::to_string(bn.c) + " channels, the net has " + std::to_string(y.c));
  }

  // block2 / block3 of shift_net.py: the shortcut is the input (stride 1, same width), a
  // strided 1x1 max-pool (i.e. every s-th element, read in place; same width) or a 1x1
  // conv + BN; then one pass adds it, applies the BatchNorm and the ReLU.
  Act block(const Act& x, const MultisensoryBlock& b) const {
    const Stride s = b.stride;
    const bool strided = s != Stride{1, 1, 1};
    const int t1 = set_.other_than({x.buf}), out = set_.other_than({x.buf, t1});
    cpu::StridedShortcut sc{x.v, x.d, x.h, x.w, x.c, 1, 1, 1};
    if (strided && x.c == b.filters) {
      // A 1x1x1 SAME max-pool with stride s has no padding ((out - 1) s + 1 <= in): its
      // output is x[o s], its size ceil(in / s).
      sc.sd = s[0], sc.sh = s[1], sc.sw = s[2];
    } else if (strided || x.c != b.filters) {
      if (!b.shortcut)
        throw FormatError(path_, "has no tensor " + b.scope + "_short.weight (not a Multisensory weight file?)");
      const Act y = conv(x, *b.shortcut, s, false, set_.other_than({x.buf, t1, out}));
      sc = {y.v, y.d, y.h, y.w, y.c, 1, 1, 1};
    }
    const Act y1 = conv(x, b.conv1, s, true, t1);
    const Act y = conv(y1, b.conv2, {1, 1, 1}, false, out);
    // The shortcut must have y's shape: it is read element for element (the two come from
    // the same layer sizes unless the file's shapes disagree with its hl.width_divisor).
    auto strided_size = [](int64_t in, int64_t st) { return (in + st - 1) / st; };
    if (sc.c != y.c || strided_size(sc.d, sc.sd) != y.d || strided_size(sc.h, sc.sh) != y.h ||
        strided_size(sc.w, sc.sw) != y.w)
      throw FormatError(path_, b.scope + ": the shortcut has " + std::to_string(sc.c) + " channels, the block " +
                                   std::to_string(y.c) + " (hl.width_divisor does not match the tensors?)");
    check_bn(b.bn, y);
    cpu::add_bn_relu_f32(y.v, y.d, y.h, y.w, y.c, sc, b.bn.scale.data<float>(), b.bn.shift.data<float>());
    return y;
  }

 private:
  const std::string& path_;
  BufferSet& set_;
};

}  // namespace

MultisensoryCpu MultisensoryCpu::load(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto net = meta.find("hl.net");
  if (net == meta.end() || (net->second != "multisensory-cam" && net->second != "multisensory-shift"))
    throw FormatError(path, "not a Multisensory weight file (hl.net is not multisensory-cam or -shift; make one "
                            "with hl-convert multisensory-cam)");
  MultisensoryCpu m;
  m.path_ = path;
  m.cam_model_ = net->second == "multisensory-cam";
  auto d = meta.find("hl.width_divisor");
  const std::optional<int64_t> divisor = d == meta.end() ? std::optional<int64_t>(1) : parse_integer(d->second);
  if (!divisor || *divisor < 1 || *divisor > 64 || 64 % *divisor != 0)
    throw FormatError(path, "hl.width_divisor " + d->second + " is not a power of two up to 64");
  m.divisor_ = *divisor;
  std::map<std::string, Tensor> tensors;
  for (const std::string& name : file.names()) {
    // get() refuses a dtype hl tensors cannot hold (f64, ...) with a plain hl::Error; this
    // function promises a FormatError naming the file (found by fuzz_multisensory_load).
    try {
      tensors.emplace(name, file.get(name).clone());
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(path, "tensor '" + name + "': " + e.what());
    }
  }
  m.layers_ = std::make_shared<const MultisensoryLayers>(
      resolve_multisensory_layers(tensors, path, m.divisor_, m.cam_model_));
  m.scratch_ = std::make_shared<MultisensoryScratchPool>();
  // Every channel count the forward pass relies on, checked now rather than in the middle
  // of a video: a silent 125-frame 8 x 8 clip (32 video steps) with the full 87,588
  // samples through the whole net (~0.1 s at full width).
  const std::vector<float> images(125 * 8 * 8 * 3, 0.0f), samples(87588 * 2, 0.0f);
  try {
    m.run(images.data(), 125, 8, 8, samples.data(), 87588);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(path, std::string("is not a usable Multisensory network: ") + e.what());
  }
  return m;
}

MultisensoryResult MultisensoryCpu::run(const float* images, int64_t frames, int64_t height, int64_t width,
                                        const float* samples, int64_t n_samples) const {
  MultisensoryResult r;
  run_into(images, frames, height, width, samples, n_samples, r);
  return r;
}

void MultisensoryCpu::run_into(const float* images, int64_t frames, int64_t height, int64_t width,
                               const float* samples, int64_t n_samples, MultisensoryResult& out) const {
  if (frames <= 0 || height <= 0 || width <= 0 || n_samples <= 0)
    throw Error("multisensory: the clip has no frames or no samples");
  const MultisensoryLayers& l = *layers_;
  ScratchLease lease(*scratch_);
  MultisensoryScratch& scratch = *lease;
  const Forward fs(path_, scratch.sf), fi(path_, scratch.im);

  // Sound: mu-law, [1, n, 1, 2].
  Act sf{1, n_samples, 1, 2, scratch.sf.buffers[0].get(n_samples * 2), 0};
  cpu::mu_law_compand_f32(samples, sf.v, n_samples * 2);
  sf = fs.conv(sf, l.sf_conv1_1, {1, 4, 1}, true, 1);
  sf = fs.max_pool(sf, {1, 4, 1}, {1, 4, 1}, false, 0);  // slim.max_pool2d [4, 1]: VALID
  for (const MultisensoryBlock& b : l.sf_blocks) sf = fs.block(sf, b);

  // Video: [frames, h, w, 3], read in place (conv reads its input only).
  Act im{frames, height, width, 3, const_cast<float*>(images), -1};
  // ReLU after the max-pool rather than before: the same values (max commutes with the
  // monotone ReLU; a NaN stays a NaN), on 4x fewer elements.
  im = fi.conv(im, l.im_conv1, {2, 2, 2}, false, 0);
  im = fi.max_pool(im, {1, 3, 3}, {1, 2, 2}, true, 1);
  cpu::relu_max_f32(im.v, im.size());
  for (const MultisensoryBlock& b : l.im_blocks_before_merge) im = fi.block(im, b);

  // merge(): the sound pooled to the video's steps, conv5_1, tiled over space.
  const std::vector<int64_t> bounds = cpu::multisensory_pool_boundaries(sf.h);
  const int64_t steps = static_cast<int64_t>(bounds.size()) - 1;
  if (steps != im.d)
    throw Error("multisensory: " + std::to_string(frames) + " frames give " + std::to_string(im.d) +
                " video steps but " + std::to_string(n_samples) + " samples give " + std::to_string(steps) +
                " sound steps (125 frames go with 87,588 samples, 63 with 44,144)");
  const int pooled_buf = scratch.sf.other_than({sf.buf});
  Act pooled{1, steps, 1, sf.c, scratch.sf.buffers[pooled_buf].get(steps * sf.c), pooled_buf};
  cpu::fractional_maxpool_rows_f32(1, sf.h, 1, sf.c, bounds, sf.v, pooled.v);
  sf = fs.conv(pooled, l.sf_conv5_1, {1, 1, 1}, true, scratch.sf.other_than({pooled_buf}));  // [1, steps, 1, cs]
  const int64_t ci = im.c, cs = sf.c, half = l.merge_half;
  if (ci < half || cs < half)
    throw FormatError(path_, "im.conv2_2 or sf.conv5_1 has fewer channels than hl.width_divisor implies");
  const int net_buf = scratch.im.other_than({im.buf});
  Act net{im.d, im.h, im.w, ci + cs, nullptr, net_buf};
  net.v = scratch.im.buffers[net_buf].get(net.size());
  const int64_t per_step = im.h * im.w;
  cpu::concat_tiled_f32(im.v, net.positions(), ci, sf.v, cs, per_step, net.v);  // [im channels, sound channels]
  net = fi.conv(net, l.merge1, {1, 1, 1}, true, scratch.im.other_than({im.buf, net_buf}));
  net = fi.conv(net, l.merge2, {1, 1, 1}, false, scratch.im.other_than({im.buf, net_buf, net.buf}));
  // The shortcut: the first 64 channels (of the video) and the last 64 (of the sound).
  if (net.c != 2 * half)
    throw FormatError(path_, "im.merge2: the shortcut has " + std::to_string(2 * half) + " channels, the block " +
                                 std::to_string(net.c) + " (hl.width_divisor does not match the tensors?)");
  fi.check_bn(l.merge_bn, net);
  cpu::merge_add_bn_relu_f32(net.v, net.positions(), half, im.v, ci, sf.v, cs, per_step,
                             l.merge_bn.scale.data<float>(), l.merge_bn.shift.data<float>());
  for (const MultisensoryBlock& b : l.im_blocks_after_merge) net = fi.block(net, b);

  // The CAM: joint/logits at every position, straight into `out`; the logit: joint/logits
  // of the mean.
  const MultisensoryConv& j = l.joint_logits;
  if (j.c_in != net.c)
    throw FormatError(path_, j.name + ": " + std::to_string(j.c_in) + " input channels, the net has " +
                                 std::to_string(net.c));
  out.steps = net.d;
  out.height = net.h;
  out.width = net.w;
  out.cam.resize(static_cast<size_t>(net.positions() * j.c_out));
  cpu::Conv3dShape cam_shape;
  cam_shape.batch = 1;
  cam_shape.depth = net.d, cam_shape.height = net.h, cam_shape.width = net.w;
  cam_shape.c_in = net.c, cam_shape.c_out = j.c_out;
  cpu::conv3d_ndhwc_f32(cam_shape, net.v, j.weight.data<float>(), j.bias.data<float>(), out.cam.data());
  Act mean{1, 1, 1, net.c, scratch.mean.get(net.c), -1};
  cpu::channel_mean_f32(net.v, net.positions(), net.c, mean.v);
  cpu::Conv3dShape logit_shape = cam_shape;
  logit_shape.depth = logit_shape.height = logit_shape.width = 1;
  float* logit = scratch.logit.get(j.c_out);
  cpu::conv3d_ndhwc_f32(logit_shape, mean.v, j.weight.data<float>(), j.bias.data<float>(), logit);
  out.logit = logit[0];
}

}  // namespace hl
