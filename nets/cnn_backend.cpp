// Output shapes of the CNN ops (nets/cnn_backend.h), by the CPU kernels' own shape rules
// so that every backend sizes its outputs as the specification does, and the argument
// checks of CnnBackend's front, shared by every backend.
#include "nets/cnn_backend.h"

#include <cstring>

#include "engine/error.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/pool2d.h"

namespace hl {

Shape conv_output_shape(const ConvLayer& layer, const Shape& x) {
  if (x.ndim() != 4 || x[3] != layer.c_in)
    throw Error(layer.name + ": expected an input [N, H, W, " + std::to_string(layer.c_in) + "], got " + x.str());
  cpu::Conv2dShape s;
  s.batch = x[0], s.height = x[1], s.width = x[2], s.c_in = layer.c_in, s.c_out = layer.c_out;
  s.kh = s.kw = layer.kernel;
  s.stride_h = s.stride_w = layer.stride;
  s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = layer.pad;
  s.validate(layer.name.c_str());
  return Shape{x[0], s.out_height(), s.out_width(), layer.c_out};
}

Shape maxpool_output_shape(const MaxPoolSpec& pool, const Shape& x, const std::string& name) {
  if (x.ndim() != 4) throw Error(name + ": expected an input [N, H, W, C], got " + x.str());
  cpu::Pool2dShape s;
  s.batch = x[0], s.height = x[1], s.width = x[2], s.channels = x[3];
  s.kh = s.kw = pool.kernel;
  s.stride_h = s.stride_w = pool.stride;
  s.pad_h = s.pad_w = pool.pad;
  s.ceil_mode = pool.ceil_mode;
  s.validate(name.c_str());
  return Shape{x[0], s.out_height(), s.out_width(), x[3]};
}

namespace {

// y holds the output at channel_offset, the residual has the output's shape. Returns the
// output shape [N, OH, OW, c_out]; throws hl::Error naming the layer.
Shape check_conv_call(const ConvLayer& l, const Tensor& x, const Tensor& y, int64_t channel_offset,
                      const Tensor* residual) {
  const Shape out = conv_output_shape(l, x.shape());
  if (y.ndim() != 4 || y.size(0) != out[0] || y.size(1) != out[1] || y.size(2) != out[2] || channel_offset < 0 ||
      channel_offset + l.c_out > y.size(3))
    throw Error(l.name + ": output " + y.shape().str() + " cannot hold " + out.str() + " at channel " +
                std::to_string(channel_offset));
  if (residual && !(residual->shape() == out))
    throw Error(l.name + ": residual " + residual->shape().str() + ", expected " + out.str());
  return out;
}

// y has the output shape (hl::Error otherwise); the kernels' description of the pooling.
cpu::Pool2dShape check_maxpool_call(const MaxPoolSpec& pool, const Tensor& x, const Tensor& y) {
  const Shape out = maxpool_output_shape(pool, x.shape(), "maxpool2d");
  if (!(y.shape() == out)) throw Error("maxpool2d: output " + y.shape().str() + ", expected " + out.str());
  cpu::Pool2dShape s;
  s.batch = x.size(0), s.height = x.size(1), s.width = x.size(2), s.channels = x.size(3);
  s.kh = s.kw = pool.kernel;
  s.stride_h = s.stride_w = pool.stride;
  s.pad_h = s.pad_w = pool.pad;
  s.ceil_mode = pool.ceil_mode;
  return s;
}

}  // namespace

void CnnBackend::check_activation(const Tensor& t, const char* what, const std::string* layer) const {
  if (!t.defined() || t.dtype() != activation_dtype() || t.device() != device())
    throw Error((layer ? *layer + " " : std::string()) + what + " must be a " +
                std::string(dtype_name(activation_dtype())) + " tensor on " + device().str() + ", got " +
                (t.defined() ? t.str() : std::string("nothing")));
}

void CnnBackend::upload(const Tensor& x, Tensor& y) {
  // From the host, or a batch already on this device (preprocessed there, nets/preprocess.h).
  const bool from_here = x.defined() && (x.device().is_cpu() || x.device() == device());
  if (!x.defined() || x.dtype() != DType::F32 || !from_here)
    throw Error("upload: the input must be an f32 tensor on the CPU" +
                (device().is_cpu() ? std::string() : " or on " + device().str()) + ", got " +
                (x.defined() ? x.str() : std::string("nothing")));
  check_activation(y, "upload output");
  check_same_shape(x, y, "upload");
  run_upload(x, y);
}

void CnnBackend::channel_affine(const Tensor& x, Tensor& y, const std::vector<float>& scale,
                                const std::vector<float>& shift) {
  check_activation(x, "channel_affine input");
  check_activation(y, "channel_affine output");
  check_same_shape(x, y, "channel_affine");
  const int64_t C = x.ndim() > 0 ? x.size(-1) : 0;
  if (static_cast<int64_t>(scale.size()) != C || static_cast<int64_t>(shift.size()) != C)
    throw Error("channel_affine: " + std::to_string(scale.size()) + " scales for " + std::to_string(C) + " channels");
  run_channel_affine(x, y, scale, shift);
}

void CnnBackend::conv2d(const PreparedLayer& prepared, const Tensor& x, Tensor& y, int64_t channel_offset,
                        const Tensor* residual) {
  const auto& p = static_cast<const PreparedConv&>(prepared);
  const ConvLayer& l = p.spec;
  check_activation(x, "input", &l.name);
  check_activation(y, "output", &l.name);
  if (residual) check_activation(*residual, "residual", &l.name);
  (void)check_conv_call(l, x, y, channel_offset, residual);
  run_conv2d(p, x, y, channel_offset, residual);
}

void CnnBackend::maxpool2d(const MaxPoolSpec& pool, const Tensor& x, Tensor& y) {
  check_activation(x, "maxpool2d input");
  check_activation(y, "maxpool2d output");
  run_maxpool2d(check_maxpool_call(pool, x, y), x, y);
}

void CnnBackend::global_avgpool(const Tensor& x, Tensor& y) {
  check_activation(x, "global_avgpool input");
  check_activation(y, "global_avgpool output");
  if (x.ndim() != 4 || !(y.shape() == Shape{x.size(0), x.size(3)}))
    throw Error("global_avgpool: input " + x.shape().str() + ", output " + y.shape().str());
  run_global_avgpool(x, y);
}

void CnnBackend::linear(const PreparedLayer& prepared, const Tensor& x, Tensor& y) {
  const auto& l = static_cast<const PreparedLinear&>(prepared);
  check_activation(x, "input", &l.name);
  check_activation(y, "output", &l.name);
  if (x.ndim() != 2 || x.size(1) != l.in || !(y.shape() == Shape{x.size(0), l.out}))
    throw Error(l.name + ": input " + x.shape().str() + ", output " + y.shape().str() + " for a " +
                std::to_string(l.in) + " -> " + std::to_string(l.out) + " layer");
  run_linear(l, x, y);
}

Tensor CnnBackend::download(const Tensor& x) {
  check_activation(x, "download input");
  return run_download(x);
}

void CnnBackend::download_into(const Tensor& x, float* host) {
  check_activation(x, "download input");
  if (!host && x.numel() > 0) throw Error("download_into: no destination");
  run_download_into(x, host);
}

void CnnBackend::run_download_into(const Tensor& x, float* host) {
  const Tensor copy = run_download(x);  // f32 on the CPU, x's shape
  std::memcpy(host, copy.data<float>(), static_cast<size_t>(copy.numel()) * sizeof(float));
}

}  // namespace hl
