// Output shapes of the CNN ops (nets/cnn_backend.h), by the CPU kernels' own shape rules
// so that every backend sizes its outputs as the specification does.
#include "nets/cnn_backend.h"

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

}  // namespace hl
