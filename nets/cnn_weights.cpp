#include "nets/cnn_weights.h"

#include "engine/error.h"

namespace hl {

CnnWeights::CnnWeights(std::string net, const std::vector<std::pair<std::string, Tensor>>& tensors)
    : net_(std::move(net)) {
  for (const auto& [name, tensor] : tensors)
    if (!by_name_.emplace(name, tensor).second) throw Error(net_ + " weights: the tensor " + name + " is given twice");
}

Tensor CnnWeights::take(const std::string& name, const std::vector<int64_t>& shape) {
  const auto it = by_name_.find(name);
  if (it == by_name_.end())
    throw Error(net_ + " weights: missing the tensor " + name + " (convert the weights with hl-convert)");
  const Tensor& t = it->second;
  bool ok = t.ndim() == static_cast<int>(shape.size());
  for (int i = 0; ok && i < t.ndim(); ++i) ok = shape[i] < 0 || t.size(i) == shape[i];
  if (!ok) {
    std::string want = "[";
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + (shape[i] < 0 ? "*" : std::to_string(shape[i]));
    throw Error(net_ + " weights: " + name + " is " + t.shape().str() + ", expected " + want + "]");
  }
  if (t.dtype() != DType::F32 || t.device() != Device::cpu())
    throw Error(net_ + " weights: " + name + " is " + t.str() + ", expected f32 on the CPU");
  used_.insert(name);
  return t;
}

ConvLayer CnnWeights::conv(const std::string& name, int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride,
                           int64_t pad, double bn_eps, bool relu) {
  ConvLayer l;
  l.name = name;
  l.c_in = c_in, l.c_out = c_out, l.kernel = kernel, l.stride = stride, l.pad = pad;
  l.relu = relu;
  l.weight = take(name + ".weight", {kernel, kernel, c_in, c_out});
  const bool folded = by_name_.count(name + ".bias") != 0, unfolded = by_name_.count(name + ".bn.weight") != 0;
  if (folded && unfolded)
    throw Error(net_ + " weights: " + name + " has both a folded bias and BatchNorm parameters");
  if (!folded && !unfolded)
    throw Error(net_ + " weights: missing the tensor " + name + ".bias (or, with BatchNorm unfolded, " + name +
                ".bn.weight, .bn.bias, .bn.running_mean and .bn.running_var)");
  if (folded) {
    l.bias = take(name + ".bias", {c_out});
  } else {
    l.bn_weight = take(name + ".bn.weight", {c_out});
    l.bn_bias = take(name + ".bn.bias", {c_out});
    l.bn_mean = take(name + ".bn.running_mean", {c_out});
    l.bn_var = take(name + ".bn.running_var", {c_out});
    l.bn_eps = static_cast<float>(bn_eps);
  }
  return l;
}

LinearLayer CnnWeights::linear(const std::string& name, int64_t in) {
  LinearLayer l;
  l.name = name;
  l.weight = take(name + ".weight", {in, -1});
  if (l.weight.size(1) < 1) throw Error(net_ + " weights: " + name + ".weight has no outputs");
  l.bias = take(name + ".bias", {l.weight.size(1)});
  return l;
}

std::vector<std::pair<std::string, Tensor>> read_cnn_weight_file(const SafetensorsFile& file, const std::string& net) {
  const auto it = file.metadata().find("hl.net");
  if (it != file.metadata().end() && it->second != net)
    throw FormatError(file.path(), "holds " + it->second + " weights, not " + net);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : file.names()) tensors.emplace_back(name, file.get(name));
  return tensors;
}

void CnnWeights::finish() const {
  std::string unused;
  size_t count = 0;
  for (const auto& [name, tensor] : by_name_)
    if (!used_.count(name) && ++count <= 20) unused += (unused.empty() ? "" : ", ") + name;
  if (count > 20) unused += ", ... and " + std::to_string(count - 20) + " more";
  if (count) throw Error(net_ + " weights: unexpected tensors (" + std::to_string(count) + "): " + unused);
}

}  // namespace hl
