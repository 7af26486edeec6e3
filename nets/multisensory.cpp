#include "nets/multisensory.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/parse_number.h"
#include "engine/safetensors.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/fractional_pool.h"
#include "kernels/cpu/pool3d.h"

namespace hl {

namespace {

// One clip's activations, channels last: [d, h, w, c] (batch 1). The sound path is
// [1, n, 1, c]: TensorFlow's [B, N, 1, C] with the time axis as height.
struct Act {
  int64_t d = 0, h = 0, w = 0, c = 0;
  std::vector<float> v;
  int64_t positions() const { return d * h * w; }
};

using Stride = std::array<int64_t, 3>;

class Forward {
 public:
  Forward(const std::map<std::string, Tensor>& t, const std::string& path, int64_t divisor)
      : t_(t), path_(path), divisor_(divisor) {}

  const Tensor& get(const std::string& name) const {
    auto it = t_.find(name);
    if (it == t_.end()) throw FormatError(path_, "has no tensor " + name + " (not a Multisensory weight file?)");
    if (it->second.dtype() != DType::F32) throw FormatError(path_, name + " is not f32");
    return it->second;
  }

  // Conv `name` (.weight [kd, kh, kw, in, out] or, along time, [k, 1, in, out]; .bias),
  // TensorFlow SAME padding, then ReLU when asked.
  Act conv(const Act& x, const std::string& name, Stride s, bool relu) const {
    const Tensor& w = get(name + ".weight");
    const Tensor& b = get(name + ".bias");
    const std::vector<int64_t> k = w.shape().vec();
    cpu::Conv3dShape cs;
    cs.batch = 1;
    cs.depth = x.d;
    cs.height = x.h;
    cs.width = x.w;
    cs.c_in = x.c;
    if (k.size() == 5) {
      cs.kd = k[0], cs.kh = k[1], cs.kw = k[2];
    } else if (k.size() == 4) {
      cs.kd = 1, cs.kh = k[0], cs.kw = k[1];
    } else {
      throw FormatError(path_, name + ".weight is not a conv kernel");
    }
    if (k.size() == 4 && k[1] != 1) throw FormatError(path_, name + ".weight is not a kernel along time [k, 1, in, out]");
    if (k[k.size() - 2] != x.c || b.numel() != k.back())
      throw FormatError(path_, name + ": " + std::to_string(k[k.size() - 2]) + " input channels, the net has " +
                                   std::to_string(x.c));
    cs.c_out = k.back();
    cs.sd = s[0], cs.sh = s[1], cs.sw = s[2];
    Act y{cs.pad_d().out, cs.pad_h().out, cs.pad_w().out, cs.c_out, {}};
    y.v.resize(static_cast<size_t>(y.positions() * y.c));
    cpu::conv3d_ndhwc_f32(cs, x.v.data(), w.data<float>(), b.data<float>(), y.v.data());
    if (relu)
      for (float& f : y.v) f = std::max(f, 0.0f);
    return y;
  }

  // A block's stand-alone BatchNorm (folded to scale, shift) and ReLU, in place.
  void bn_relu(Act& x, const std::string& name) const {
    const Tensor& scale_t = get(name + ".scale");
    const Tensor& shift_t = get(name + ".shift");
    if (scale_t.numel() != x.c || shift_t.numel() != x.c)
      throw FormatError(path_, name + ": " + std::to_string(scale_t.numel()) + " channels, the net has " +
                                   std::to_string(x.c));
    const float* scale = scale_t.data<float>();
    const float* shift = shift_t.data<float>();
    for (int64_t p = 0; p < x.positions(); ++p)
      for (int64_t c = 0; c < x.c; ++c) {
        float& f = x.v[p * x.c + c];
        f = std::max(f * scale[c] + shift[c], 0.0f);
      }
  }

  static Act max_pool(const Act& x, Stride k, Stride s, bool same) {
    cpu::Pool3dShape ps{1, x.d, x.h, x.w, x.c, k[0], k[1], k[2], s[0], s[1], s[2], same};
    Act y{ps.pad_d().out, ps.pad_h().out, ps.pad_w().out, x.c, {}};
    y.v.resize(static_cast<size_t>(y.positions() * y.c));
    cpu::maxpool3d_ndhwc_f32(ps, x.v.data(), y.v.data());
    return y;
  }

  // a += b; the two come from the same layer sizes unless the file's shapes disagree
  // with its hl.width_divisor.
  void add(Act& a, const Act& b, const std::string& scope) const {
    if (a.v.size() != b.v.size() || a.c != b.c)
      throw FormatError(path_, scope + ": the shortcut has " + std::to_string(b.c) + " channels, the block " +
                                   std::to_string(a.c) + " (hl.width_divisor does not match the tensors?)");
    for (size_t i = 0; i < a.v.size(); ++i) a.v[i] += b.v[i];
  }

  // block2 / block3 of shift_net.py: the shortcut is the input (stride 1, same width), a
  // strided 1x1 max-pool (i.e. every s-th element; same width) or a 1x1 conv + BN.
  Act block(const Act& x, int64_t nf, const std::string& scope, Stride s) const {
    const bool strided = s != Stride{1, 1, 1};
    Act short_cut = x;
    if (strided && x.c == nf) {
      short_cut = max_pool(x, {1, 1, 1}, s, true);
    } else if (strided || x.c != nf) {
      short_cut = conv(x, scope + "_short", s, false);
    }
    Act y = conv(x, scope + "_1", s, true);
    y = conv(y, scope + "_2", {1, 1, 1}, false);
    add(y, short_cut, scope);
    bn_relu(y, scope + "_bn");
    return y;
  }

  int64_t wd(int64_t n) const { return n / divisor_; }

 private:
  const std::map<std::string, Tensor>& t_;
  const std::string& path_;
  int64_t divisor_;
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
  for (const std::string& name : file.names()) {
    // get() refuses a dtype hl tensors cannot hold (f64, ...) with a plain hl::Error; this
    // function promises a FormatError naming the file (found by fuzz_multisensory_load).
    try {
      m.tensors_.emplace(name, file.get(name).clone());
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(path, "tensor '" + name + "': " + e.what());
    }
  }
  // Every tensor the forward pass reads, with its shape and dtype, checked now rather
  // than in the middle of a video: a silent 125-frame 8 x 8 clip (32 video steps) with the
  // full 87,588 samples through the whole net (~0.1 s at full width).
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
  if (frames <= 0 || height <= 0 || width <= 0 || n_samples <= 0)
    throw Error("multisensory: the clip has no frames or no samples");
  const Forward f(tensors_, path_, divisor_);

  // Sound: mu-law, [1, n, 1, 2].
  Act sf{1, n_samples, 1, 2, std::vector<float>(static_cast<size_t>(n_samples * 2))};
  cpu::mu_law_compand_f32(samples, sf.v.data(), n_samples * 2);
  sf = f.conv(sf, "sf.conv1_1", {1, 4, 1}, true);
  sf = Forward::max_pool(sf, {1, 4, 1}, {1, 4, 1}, false);  // slim.max_pool2d [4, 1]: VALID
  sf = f.block(sf, f.wd(128), "sf.conv2_1", {1, 4, 1});
  sf = f.block(sf, f.wd(128), "sf.conv3_1", {1, 4, 1});
  sf = f.block(sf, f.wd(256), "sf.conv4_1", {1, 4, 1});

  // Video: [frames, h, w, 3].
  Act im{frames, height, width, 3, std::vector<float>(images, images + frames * height * width * 3)};
  // ReLU after the max-pool rather than before: the same values (max commutes with the
  // monotone ReLU; a NaN stays a NaN), on 4x fewer elements.
  im = f.conv(im, "im.conv1", {2, 2, 2}, false);
  im = Forward::max_pool(im, {1, 3, 3}, {1, 2, 2}, true);
  for (float& v : im.v) v = std::max(v, 0.0f);
  im = f.block(im, f.wd(64), "im.conv2_1", {1, 1, 1});
  im = f.block(im, f.wd(64), "im.conv2_2", {2, 2, 2});

  // merge(): the sound pooled to the video's steps, conv5_1, tiled over space.
  const std::vector<int64_t> bounds = cpu::multisensory_pool_boundaries(sf.h);
  const int64_t steps = static_cast<int64_t>(bounds.size()) - 1;
  if (steps != im.d)
    throw Error("multisensory: " + std::to_string(frames) + " frames give " + std::to_string(im.d) +
                " video steps but " + std::to_string(n_samples) + " samples give " + std::to_string(steps) +
                " sound steps (125 frames go with 87,588 samples, 63 with 44,144)");
  Act pooled{1, steps, 1, sf.c, std::vector<float>(static_cast<size_t>(steps * sf.c))};
  cpu::fractional_maxpool_rows_f32(1, sf.h, 1, sf.c, bounds, sf.v.data(), pooled.v.data());
  sf = f.conv(pooled, "sf.conv5_1", {1, 1, 1}, true);  // [1, steps, 1, cs]
  const int64_t ci = im.c, cs = sf.c, half = f.wd(64);
  if (ci < half || cs < half)
    throw FormatError(path_, "im.conv2_2 or sf.conv5_1 has fewer channels than hl.width_divisor implies");
  Act net{im.d, im.h, im.w, ci + cs, {}};
  net.v.resize(static_cast<size_t>(net.positions() * net.c));
  Act short_cut{im.d, im.h, im.w, 2 * half, {}};
  short_cut.v.resize(static_cast<size_t>(short_cut.positions() * short_cut.c));
  for (int64_t p = 0; p < net.positions(); ++p) {
    const int64_t t = p / (im.h * im.w);
    float* dst = net.v.data() + p * net.c;
    std::copy_n(im.v.data() + p * ci, ci, dst);       // [im channels, sound channels]
    std::copy_n(sf.v.data() + t * cs, cs, dst + ci);
    float* s = short_cut.v.data() + p * short_cut.c;  // the first and the last 64 channels
    std::copy_n(dst, half, s);
    std::copy_n(dst + net.c - half, half, s + half);
  }
  net = f.conv(net, "im.merge1", {1, 1, 1}, true);
  net = f.conv(net, "im.merge2", {1, 1, 1}, false);
  f.add(net, short_cut, "im.merge2");
  f.bn_relu(net, "im.merge_block_bn");

  net = f.block(net, f.wd(128), "im.conv3_1", {1, 1, 1});
  net = f.block(net, f.wd(128), "im.conv3_2", {1, 1, 1});
  net = f.block(net, f.wd(256), "im.conv4_1", {2, 2, 2});
  net = f.block(net, f.wd(256), "im.conv4_2", {1, 1, 1});
  net = f.block(net, f.wd(512), "im.conv5_1", cam_model_ ? Stride{1, 1, 1} : Stride{1, 2, 2});
  net = f.block(net, f.wd(512), "im.conv5_2", {1, 1, 1});

  // The CAM: joint/logits at every position; the logit: joint/logits of the mean.
  const Act cam = f.conv(net, "joint.logits", {1, 1, 1}, false);
  Act mean{1, 1, 1, net.c, std::vector<float>(static_cast<size_t>(net.c), 0.0f)};
  std::vector<double> sum(static_cast<size_t>(net.c), 0.0);
  for (int64_t p = 0; p < net.positions(); ++p)
    for (int64_t c = 0; c < net.c; ++c) sum[c] += net.v[p * net.c + c];
  for (int64_t c = 0; c < net.c; ++c) mean.v[c] = static_cast<float>(sum[c] / static_cast<double>(net.positions()));
  const Act logit = f.conv(mean, "joint.logits", {1, 1, 1}, false);

  MultisensoryResult r;
  r.steps = cam.d;
  r.height = cam.h;
  r.width = cam.w;
  r.cam = cam.v;
  r.logit = logit.v[0];
  return r;
}

}  // namespace hl
