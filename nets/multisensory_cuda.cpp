// MultisensoryCuda (nets/multisensory_cuda.h): nets/multisensory.cpp's forward pass, layer
// for layer, on the GPU. Compiled in CUDA builds only; nets/no_cuda/ has the stand-in.
// Tests: tests/cuda/test_cuda_multisensory.cpp against MultisensoryCpu.
#include "nets/multisensory_cuda.h"

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/cuda_backend.h"
#include "engine/error.h"
#include "engine/log.h"
#include "engine/safetensors.h"
#include "kernels/common/half.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cpu/fractional_pool.h"
#include "kernels/cuda/cast.h"
#include "kernels/cuda/cudnn_conv3d.h"
#include "kernels/cuda/handles.h"
#include "kernels/cuda/multisensory_ops.h"

namespace hl {

namespace {

// A conv's weight as cuDNN reads it, [c_out, kd, kh, kw, c_in] in the activation type,
// and its bias in f32.
struct DeviceConv {
  int64_t kd = 1, kh = 1, kw = 1, c_in = 0, c_out = 0;
  Tensor weight, bias;
};

using Stride = std::array<int64_t, 3>;

}  // namespace

struct MultisensoryCuda::Impl {
  std::string path;
  bool cam_model = true;
  int64_t divisor = 1;
  int device = 0;
  bool f16 = true;
  std::map<std::string, DeviceConv> convs;  // by scope: "sf.conv1_1", "im.conv2_1_short", ...
  std::map<std::string, Tensor> vectors;    // f32 on the device: "<scope>.scale", "<scope>.shift"
  Tensor logits_weight_host, logits_bias_host;  // joint.logits on the host, for the logit
  Tensor logits_weight;                         // joint.logits [C] f32 on the device, for the CAM
  // Per layer and input shape: its cuDNN plan. The scratch (padded inputs, workspaces).
  mutable std::map<std::string, std::unique_ptr<cuda::CudnnConv3d>> plans;
  mutable Tensor scratch;

  DType dtype() const { return f16 ? DType::F16 : DType::F32; }
  cuda::CnnDType kernel_dtype() const { return f16 ? cuda::CnnDType::F16 : cuda::CnnDType::F32; }

  Tensor upload(const std::vector<float>& values, DType t) const {
    Tensor d = Tensor::empty(Shape({static_cast<int64_t>(values.size())}), t, Device::cuda(device));
    if (t == DType::F16) {
      std::vector<uint16_t> halves(values.size());
      for (size_t i = 0; i < values.size(); ++i) halves[i] = f32_to_f16_bits(values[i]);
      cuda_backend::copy(d.raw(), d.device(), halves.data(), Device::cpu(), halves.size() * 2);
    } else {
      cuda_backend::copy(d.raw(), d.device(), values.data(), Device::cpu(), values.size() * 4);
    }
    return d;
  }

  const DeviceConv& conv(const std::string& name) const {
    auto it = convs.find(name);
    if (it == convs.end()) throw FormatError(path, "has no tensor " + name + ".weight (not a Multisensory weight file?)");
    return it->second;
  }
  const float* vector(const std::string& name) const {
    auto it = vectors.find(name);
    if (it == vectors.end()) throw FormatError(path, "has no tensor " + name + " (not a Multisensory weight file?)");
    return it->second.data<float>();
  }
};

namespace {

// One clip's activations on the device, channels last: [d, h, w, c]; the sound path is
// [1, n, 1, c] (TensorFlow's [B, N, 1, C] with time as height), as nets/multisensory.cpp.
struct Act {
  int64_t d = 0, h = 0, w = 0, c = 0;
  Tensor v;
  int64_t positions() const { return d * h * w; }
};

class Forward {
 public:
  explicit Forward(const MultisensoryCuda::Impl& m)
      : m_(m), stream_(static_cast<cudaStream_t>(cuda_backend::current_stream(m.device))),
        handle_(cuda::cudnn_handle(stream_)) {}

  cudaStream_t stream() const { return stream_; }

  Act alloc(int64_t d, int64_t h, int64_t w, int64_t c) const {
    return Act{d, h, w, c, Tensor::empty(Shape({d * h * w * c}), m_.dtype(), Device::cuda(m_.device))};
  }

  // Conv `name` with TF SAME padding and its bias, then: ReLU when `relu`; or, for a
  // block's second conv, + residual, then the BatchNorm `bn` (scale, shift) and ReLU.
  Act conv(const Act& x, const std::string& name, Stride s, bool relu, const Act* residual = nullptr,
           const std::string& bn = "") const {
    const DeviceConv& c = m_.conv(name);
    if (c.c_in != x.c)
      throw FormatError(m_.path, name + ": " + std::to_string(c.c_in) + " input channels, the net has " +
                                     std::to_string(x.c));
    cpu::Conv3dShape cs;
    cs.batch = 1, cs.depth = x.d, cs.height = x.h, cs.width = x.w, cs.c_in = x.c, cs.c_out = c.c_out;
    cs.kd = c.kd, cs.kh = c.kh, cs.kw = c.kw, cs.sd = s[0], cs.sh = s[1], cs.sw = s[2];
    const std::string key = name + " " + std::to_string(x.d) + "x" + std::to_string(x.h) + "x" + std::to_string(x.w);
    auto& plan = m_.plans[key];
    const bool fresh = !plan;
    if (fresh) {
      plan = std::make_unique<cuda::CudnnConv3d>(
          m_.f16 ? cuda::ConvPrecision::F16 : cuda::ConvPrecision::F32Exact, cs, name);
    }
    Act y = alloc(cs.pad_d().out, cs.pad_h().out, cs.pad_w().out, c.c_out);
    if (residual && (residual->d != y.d || residual->h != y.h || residual->w != y.w || residual->c != y.c))
      throw Error("multisensory: " + name + "'s output and its shortcut differ in shape");
    cuda::CudnnConv3dArgs a;
    a.x = x.v.raw(), a.w = c.weight.raw(), a.y = y.v.raw(), a.bias = c.bias.data<float>();
    a.residual = residual ? residual->v.raw() : nullptr;
    if (!bn.empty()) a.scale = m_.vector(bn + ".scale"), a.shift = m_.vector(bn + ".shift");
    a.relu = relu || !bn.empty();
    plan->run(handle_, a, [this](size_t bytes) { return grow(bytes); }, stream_);
    if (fresh) {
      HL_LOG(Debug) << "multisensory cuda " << key << ": " << plan->describe();
    }
    return y;
  }

  Act max_pool(const Act& x, Stride k, Stride s, bool same) const {
    const cpu::Pool3dShape ps{1, x.d, x.h, x.w, x.c, k[0], k[1], k[2], s[0], s[1], s[2], same};
    Act y = alloc(ps.pad_d().out, ps.pad_h().out, ps.pad_w().out, x.c);
    cuda::maxpool3d_ndhwc(m_.kernel_dtype(), ps, x.v.raw(), y.v.raw(), stream_);
    return y;
  }

  // block2 / block3 of shift_net.py, as Forward::block in nets/multisensory.cpp.
  Act block(const Act& x, int64_t nf, const std::string& scope, Stride s) const {
    const bool strided = s != Stride{1, 1, 1};
    Act short_cut = x;  // shares x's memory: nothing writes it
    if (strided && x.c == nf) {
      short_cut = max_pool(x, {1, 1, 1}, s, true);
    } else if (strided || x.c != nf) {
      short_cut = conv(x, scope + "_short", s, false);
    }
    const Act y = conv(x, scope + "_1", s, true);
    return conv(y, scope + "_2", {1, 1, 1}, false, &short_cut, scope + "_bn");
  }

  int64_t wd(int64_t n) const { return n / m_.divisor; }

 private:
  // The scratch, grown (never shrunk): every user is on stream_, in order, so one buffer
  // serves all layers; a replaced one goes back to the arena, which orders its reuse after
  // this thread's engine stream (the one we run on).
  void* grow(size_t bytes) const {
    if (m_.scratch.numel() < static_cast<int64_t>(bytes))
      m_.scratch = Tensor::empty(Shape({static_cast<int64_t>(bytes)}), DType::U8, Device::cuda(m_.device));
    return m_.scratch.raw();
  }

  const MultisensoryCuda::Impl& m_;
  cudaStream_t stream_;
  cudnnHandle_t handle_;
};

}  // namespace

MultisensoryCuda::MultisensoryCuda(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MultisensoryCuda::MultisensoryCuda(MultisensoryCuda&&) noexcept = default;
MultisensoryCuda& MultisensoryCuda::operator=(MultisensoryCuda&&) noexcept = default;
MultisensoryCuda::~MultisensoryCuda() = default;

bool MultisensoryCuda::cam_model() const { return impl_->cam_model; }
int64_t MultisensoryCuda::width_divisor() const { return impl_->divisor; }
bool MultisensoryCuda::f16() const { return impl_->f16; }

MultisensoryCuda MultisensoryCuda::load(const std::string& path, const MultisensoryCudaOptions& options) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  // The same checks and messages as MultisensoryCpu::load.
  const auto& meta = file.metadata();
  auto net = meta.find("hl.net");
  if (net == meta.end() || (net->second != "multisensory-cam" && net->second != "multisensory-shift"))
    throw FormatError(path, "not a Multisensory weight file (hl.net is not multisensory-cam or -shift; make one "
                            "with hl-convert multisensory-cam)");
  auto m = std::make_unique<Impl>();
  m->path = path;
  m->cam_model = net->second == "multisensory-cam";
  auto d = meta.find("hl.width_divisor");
  m->divisor = d == meta.end() ? 1 : std::stoll(d->second);
  if (m->divisor < 1 || m->divisor > 64 || 64 % m->divisor != 0)
    throw FormatError(path, "hl.width_divisor " + d->second + " is not a power of two up to 64");
  m->device = options.device;
  m->f16 = options.f16;
  cuda_backend::set_device(m->device);

  for (const std::string& name : file.names()) {
    const auto dot = name.rfind('.');
    const std::string scope = name.substr(0, dot), field = dot == std::string::npos ? "" : name.substr(dot + 1);
    if (field != "scale" && field != "shift" && field != "weight") continue;  // biases: with their weight
    const Tensor t = file.get(name).clone();
    if (t.dtype() != DType::F32) throw FormatError(path, name + " is not f32");
    const float* v = t.data<float>();
    if (field == "scale" || field == "shift") {
      m->vectors.emplace(name, m->upload(std::vector<float>(v, v + t.numel()), DType::F32));
    } else if (field == "weight") {
      // [kd, kh, kw, c_in, c_out], or along time [k, 1, c_in, c_out] (read with kd = 1).
      const std::vector<int64_t> k = t.shape().vec();
      if (k.size() != 5 && k.size() != 4) throw FormatError(path, name + " is not a conv kernel");
      DeviceConv c;
      if (k.size() == 5) c.kd = k[0], c.kh = k[1], c.kw = k[2];
      else c.kh = k[0], c.kw = k[1];
      c.c_in = k[k.size() - 2], c.c_out = k.back();
      const int64_t taps = c.kd * c.kh * c.kw;
      std::vector<float> kdhwc(static_cast<size_t>(t.numel()));  // [c_out, taps, c_in]
      for (int64_t p = 0; p < taps; ++p)
        for (int64_t i = 0; i < c.c_in; ++i)
          for (int64_t o = 0; o < c.c_out; ++o) kdhwc[(o * taps + p) * c.c_in + i] = v[(p * c.c_in + i) * c.c_out + o];
      c.weight = m->upload(kdhwc, m->dtype());
      if (!file.contains(scope + ".bias")) throw FormatError(path, "has no tensor " + scope + ".bias");
      const Tensor b = file.get(scope + ".bias");
      if (b.dtype() != DType::F32) throw FormatError(path, scope + ".bias is not f32");
      if (b.numel() != c.c_out) throw FormatError(path, scope + ".bias does not match " + name);
      const float* bv = b.data<float>();
      c.bias = m->upload(std::vector<float>(bv, bv + b.numel()), DType::F32);
      if (scope == "joint.logits") {
        if (c.c_out != 1 || taps != 1) throw FormatError(path, "joint.logits is not a 1x1x1 conv with one output");
        m->logits_weight_host = t;
        m->logits_bias_host = b.clone();
        m->logits_weight = m->upload(std::vector<float>(v, v + t.numel()), DType::F32);
      }
      m->convs.emplace(scope, std::move(c));
    }
  }
  if (!m->logits_weight_host.defined()) throw FormatError(path, "has no tensor joint.logits.weight");
  return MultisensoryCuda(std::move(m));
}

MultisensoryResult MultisensoryCuda::run(const float* images, int64_t frames, int64_t height, int64_t width,
                                         const float* samples, int64_t n_samples) const {
  if (frames <= 0 || height <= 0 || width <= 0 || n_samples <= 0)
    throw Error("multisensory: the clip has no frames or no samples");
  const Impl& m = *impl_;
  const Forward f(m);
  const cuda::CnnDType kt = m.kernel_dtype();
  const Device dev = Device::cuda(m.device);

  // The video steps and sound steps must agree before any work (the CPU's message).
  const int64_t video_steps = cpu::tf_padding(cpu::tf_padding(frames, 5, 2, true).out, 3, 2, true).out;
  const int64_t n = cpu::tf_padding(n_samples, 65, 4, true).out;  // conv1_1, then pool, 3 strided blocks
  const int64_t sound_rows = cpu::tf_padding(
      cpu::tf_padding(cpu::tf_padding(cpu::tf_padding(n, 4, 4, false).out, 1, 4, true).out, 1, 4, true).out, 1, 4,
      true).out;
  const std::vector<int64_t> bounds = cpu::multisensory_pool_boundaries(sound_rows);
  const int64_t steps = static_cast<int64_t>(bounds.size()) - 1;
  if (steps != video_steps)
    throw Error("multisensory: " + std::to_string(frames) + " frames give " + std::to_string(video_steps) +
                " video steps but " + std::to_string(n_samples) + " samples give " + std::to_string(steps) +
                " sound steps (125 frames go with 87,588 samples, 63 with 44,144)");

  // Sound: mu-law, [1, n, 1, 2].
  Tensor raw = Tensor::empty(Shape({n_samples * 2}), DType::F32, dev);
  cuda_backend::copy(raw.raw(), dev, samples, Device::cpu(), static_cast<size_t>(n_samples * 2) * 4);
  Act sf = f.alloc(1, n_samples, 1, 2);
  cuda::mu_law_compand(kt, raw.data<float>(), sf.v.raw(), n_samples * 2, f.stream());
  sf = f.conv(sf, "sf.conv1_1", {1, 4, 1}, true);
  sf = f.max_pool(sf, {1, 4, 1}, {1, 4, 1}, false);  // slim.max_pool2d [4, 1]: VALID
  sf = f.block(sf, f.wd(128), "sf.conv2_1", {1, 4, 1});
  sf = f.block(sf, f.wd(128), "sf.conv3_1", {1, 4, 1});
  sf = f.block(sf, f.wd(256), "sf.conv4_1", {1, 4, 1});

  // Video: [frames, h, w, 3].
  const int64_t pixels = frames * height * width * 3;
  Act im = f.alloc(frames, height, width, 3);
  if (m.f16) {
    Tensor staged = Tensor::empty(Shape({pixels}), DType::F32, dev);
    cuda_backend::copy(staged.raw(), dev, images, Device::cpu(), static_cast<size_t>(pixels) * 4);
    cuda::f32_to_f16(staged.data<float>(), im.v.data<uint16_t>(), pixels, f.stream());
  } else {
    cuda_backend::copy(im.v.raw(), dev, images, Device::cpu(), static_cast<size_t>(pixels) * 4);
  }
  im = f.conv(im, "im.conv1", {2, 2, 2}, true);
  im = f.max_pool(im, {1, 3, 3}, {1, 2, 2}, true);
  im = f.block(im, f.wd(64), "im.conv2_1", {1, 1, 1});
  im = f.block(im, f.wd(64), "im.conv2_2", {2, 2, 2});

  // merge(): the sound pooled to the video's steps, conv5_1, tiled over space.
  if (sf.h != sound_rows || im.d != steps) throw Error("multisensory: internal step count mismatch");
  Act pooled = f.alloc(1, steps, 1, sf.c);
  cuda::fractional_maxpool_rows(kt, 1, sf.h, 1, sf.c, bounds, sf.v.raw(), pooled.v.raw(), f.stream());
  sf = f.conv(pooled, "sf.conv5_1", {1, 1, 1}, true);  // [1, steps, 1, cs]
  const int64_t half = f.wd(64);
  Act net = f.alloc(im.d, im.h, im.w, im.c + sf.c);
  Act short_cut = f.alloc(im.d, im.h, im.w, 2 * half);
  cuda::TileConcatArgs tc;
  tc.steps = im.d, tc.positions_per_step = im.h * im.w, tc.c_im = im.c, tc.c_sound = sf.c, tc.half = half;
  tc.im = im.v.raw(), tc.sound = sf.v.raw(), tc.net = net.v.raw(), tc.short_cut = short_cut.v.raw();
  cuda::tile_concat(kt, tc, f.stream());
  net = f.conv(net, "im.merge1", {1, 1, 1}, true);
  net = f.conv(net, "im.merge2", {1, 1, 1}, false, &short_cut, "im.merge_block_bn");

  net = f.block(net, f.wd(128), "im.conv3_1", {1, 1, 1});
  net = f.block(net, f.wd(128), "im.conv3_2", {1, 1, 1});
  net = f.block(net, f.wd(256), "im.conv4_1", {2, 2, 2});
  net = f.block(net, f.wd(256), "im.conv4_2", {1, 1, 1});
  net = f.block(net, f.wd(512), "im.conv5_1", m.cam_model ? Stride{1, 1, 1} : Stride{1, 2, 2});
  net = f.block(net, f.wd(512), "im.conv5_2", {1, 1, 1});

  // The CAM: joint/logits at every position (f32); the logit: joint/logits of the mean,
  // on the host with the CPU's own conv (one dot product).
  if (m.logits_weight.numel() != net.c) throw FormatError(m.path, "joint.logits does not match the last conv");
  const int64_t positions = net.positions();
  Tensor cam = Tensor::empty(Shape({positions}), DType::F32, dev);
  cuda::pointwise_logits(kt, net.v.raw(), m.logits_weight.data<float>(), m.logits_bias_host.data<float>()[0],
                         cam.data<float>(), positions, net.c, f.stream());
  Tensor mean = Tensor::empty(Shape({net.c}), DType::F32, dev);
  cuda::channel_mean(kt, net.v.raw(), mean.data<float>(), positions, net.c, f.stream());

  MultisensoryResult r;
  r.steps = net.d, r.height = net.h, r.width = net.w;
  r.cam.resize(static_cast<size_t>(positions));
  cuda_backend::copy(r.cam.data(), Device::cpu(), cam.raw(), dev, r.cam.size() * 4);
  std::vector<float> mean_host(static_cast<size_t>(net.c));
  cuda_backend::copy(mean_host.data(), Device::cpu(), mean.raw(), dev, mean_host.size() * 4);
  cpu::Conv3dShape ls;
  ls.batch = ls.depth = ls.height = ls.width = 1, ls.c_in = net.c, ls.c_out = 1;
  cpu::conv3d_ndhwc_f32(ls, mean_host.data(), m.logits_weight_host.data<float>(), m.logits_bias_host.data<float>(),
                        &r.logit);
  return r;
}

}  // namespace hl
