#include "nets/cnn_runner.h"

#include "engine/error.h"

namespace hl {

CnnRunner::CnnRunner(std::unique_ptr<CnnBackend> backend)
    : backend_(std::move(backend)), pool_(std::make_unique<ActivationPool>(*backend_)) {}

NetConv CnnRunner::prepare(ConvLayer layer) {
  NetConv c;
  c.prepared = backend_->prepare(layer);
  c.folded = layer.folded();
  layer.weight = layer.bias = layer.bn_weight = layer.bn_bias = layer.bn_mean = layer.bn_var = Tensor();
  c.spec = std::move(layer);
  return c;
}

NetLinear CnnRunner::prepare(const LinearLayer& layer) {
  return {layer.weight.size(0), layer.weight.size(1), backend_->prepare(layer)};
}

Tensor CnnRunner::begin(const Tensor& x, int64_t channels, const std::string& net) {
  if (!x.defined() || x.dtype() != DType::F32 || !(x.device().is_cpu() || x.device() == backend_->device()) ||
      x.ndim() != 4 || x.size(0) < 1 || x.size(3) != channels)
    throw Error(net + ": expected an f32 batch [N, H, W, " + std::to_string(channels) + "] with N >= 1 on the CPU or " +
                backend_->device().str() + ", got " + (x.defined() ? x.str() : std::string("nothing")));
  pool_->begin(x.shape());
  Tensor a = pool_->take(x.shape());
  backend_->upload(x, a);
  return a;
}

Tensor CnnRunner::conv(const NetConv& layer, const Tensor& x, const Tensor* residual) {
  Tensor y = pool_->take(conv_output_shape(layer.spec, x.shape()));
  backend_->conv2d(*layer.prepared, x, y, 0, residual);
  return y;
}

void CnnRunner::conv_into(const NetConv& layer, const Tensor& x, Tensor& y, int64_t channel_offset) {
  backend_->conv2d(*layer.prepared, x, y, channel_offset);
}

Tensor CnnRunner::maxpool(const MaxPoolSpec& pool, const Tensor& x, const std::string& name) {
  Tensor y = pool_->take(maxpool_output_shape(pool, x.shape(), name));
  backend_->maxpool2d(pool, x, y);
  return y;
}

void CnnRunner::finish_embedding(const Tensor& x, const NetLinear& fc, float* embedding) {
  Tensor pooled = pool_->take({x.size(0), x.size(3)});
  backend_->global_avgpool(x, pooled);
  Tensor logits = pool_->take({x.size(0), fc.out});  // as finish(): the plan is one for both
  backend_->linear(*fc.prepared, pooled, logits);
  backend_->download_into(pooled, embedding);
  pool_->finish();
}

CnnOutput CnnRunner::finish(const Tensor& x, const NetLinear& fc) {
  Tensor embedding = pool_->take({x.size(0), x.size(3)});
  backend_->global_avgpool(x, embedding);
  Tensor logits = pool_->take({x.size(0), fc.out});
  backend_->linear(*fc.prepared, embedding, logits);
  CnnOutput out{backend_->download(embedding), backend_->download(logits)};
  pool_->finish();
  return out;
}

}  // namespace hl
