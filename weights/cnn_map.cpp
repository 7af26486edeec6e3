#include "weights/cnn_map.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace hl {

namespace {

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + (shape[i] < 0 ? "*" : std::to_string(shape[i]));
  return s + "]";
}

bool shape_matches(const Shape& got, const std::vector<int64_t>& want) {
  if (got.ndim() != static_cast<int>(want.size())) return false;
  for (int i = 0; i < got.ndim(); ++i)
    if (want[i] >= 0 && got[i] != want[i]) return false;
  return true;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "what: a, b, c" with at most 20 entries, then a count of the rest.
void list_problems(std::string& message, const char* what, const std::vector<std::string>& items,
                   const char* separator) {
  if (items.empty()) return;
  const size_t shown = std::min<size_t>(items.size(), 20);
  message += std::string("\n  ") + what + " (" + std::to_string(items.size()) + "): ";
  for (size_t i = 0; i < shown; ++i) message += (i ? separator : "") + items[i];
  if (shown < items.size()) message += separator + std::string("... and ") + std::to_string(items.size() - shown) + " more";
}

}  // namespace

StateDictConverter::StateDictConverter(std::string net, const NamedTensors& state_dict, bool fold_batchnorm)
    : net_(std::move(net)), fold_(fold_batchnorm) {
  for (const auto& [raw_key, tensor] : state_dict) {
    const std::string key = raw_key.rfind("module.", 0) == 0 ? raw_key.substr(7) : raw_key;
    if (!by_key_.emplace(key, tensor).second) duplicates_.push_back(raw_key);
  }
}

Tensor StateDictConverter::take(const std::string& key, const std::vector<int64_t>& shape) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    missing_.push_back(key);
    return {};
  }
  used_.insert(key);
  const Tensor& t = it->second;
  if (!shape_matches(t.shape(), shape)) {
    shapes_.push_back(key + " is " + t.shape().str() + ", expected " + shape_str(shape));
    return {};
  }
  if (!dtype_is_float(t.dtype())) {
    dtypes_.push_back(key + " is " + std::string(dtype_name(t.dtype())) + ", expected F32, F16 or BF16");
    return {};
  }
  return t.to(Device::cpu()).cast(DType::F32);
}

void StateDictConverter::conv_bn(const std::string& conv_key, const std::string& bn_prefix, const std::string& name,
                                 int64_t c_in, int64_t c_out, int64_t kernel, double eps) {
  const Tensor w = take(conv_key, {c_out, c_in, kernel, kernel});
  const Tensor gamma = take(bn_prefix + ".weight", {c_out}), beta = take(bn_prefix + ".bias", {c_out});
  const Tensor mean = take(bn_prefix + ".running_mean", {c_out}), var = take(bn_prefix + ".running_var", {c_out});
  if (!w.defined() || !gamma.defined() || !beta.defined() || !mean.defined() || !var.defined()) return;

  // a[o] = gamma / sqrt(var + eps) when folding, 1 otherwise.
  std::vector<double> a(static_cast<size_t>(c_out), 1.0);
  const float *g = gamma.data<float>(), *b = beta.data<float>(), *m = mean.data<float>(), *v = var.data<float>();
  if (fold_)
    for (int64_t o = 0; o < c_out; ++o) a[o] = static_cast<double>(g[o]) / std::sqrt(static_cast<double>(v[o]) + eps);

  // OIHW [c_out, c_in, k, k] -> HWIO [k, k, c_in, c_out]
  Tensor hwio = Tensor::empty({kernel, kernel, c_in, c_out}, DType::F32);
  const float* src = w.data<float>();
  float* dst = hwio.data<float>();
  for (int64_t o = 0; o < c_out; ++o)
    for (int64_t c = 0; c < c_in; ++c)
      for (int64_t p = 0; p < kernel; ++p)
        for (int64_t q = 0; q < kernel; ++q)
          dst[((p * kernel + q) * c_in + c) * c_out + o] =
              static_cast<float>(src[((o * c_in + c) * kernel + p) * kernel + q] * a[o]);
  result_.tensors.emplace_back(name + ".weight", hwio);
  if (fold_) {
    Tensor bias = Tensor::empty({c_out}, DType::F32);
    for (int64_t o = 0; o < c_out; ++o)
      bias.data<float>()[o] = static_cast<float>(static_cast<double>(b[o]) - static_cast<double>(m[o]) * a[o]);
    result_.tensors.emplace_back(name + ".bias", bias);
  } else {
    result_.tensors.emplace_back(name + ".bn.weight", gamma.clone());
    result_.tensors.emplace_back(name + ".bn.bias", beta.clone());
    result_.tensors.emplace_back(name + ".bn.running_mean", mean.clone());
    result_.tensors.emplace_back(name + ".bn.running_var", var.clone());
  }
}

int64_t StateDictConverter::linear(const std::string& prefix, const std::string& name, int64_t in) {
  const Tensor w = take(prefix + ".weight", {-1, in});
  const int64_t out = w.defined() ? w.size(0) : -1;
  if (out == 0) shapes_.push_back(prefix + ".weight is " + w.shape().str() + ", expected at least one output");
  const Tensor b = take(prefix + ".bias", {out > 0 ? out : -1});
  if (!w.defined() || !b.defined() || out <= 0) return 0;
  Tensor wt = Tensor::empty({in, out}, DType::F32);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) wt.data<float>()[i * out + o] = w.data<float>()[o * in + i];
  result_.tensors.emplace_back(name + ".weight", wt);
  result_.tensors.emplace_back(name + ".bias", b.clone());
  return out;
}

void StateDictConverter::ignore_prefix(const std::string& prefix) { ignore_prefixes_.push_back(prefix); }

ConvertResult StateDictConverter::finish(std::map<std::string, std::string> metadata) {
  std::vector<std::string> unexpected;
  for (const auto& [key, tensor] : by_key_) {
    if (used_.count(key)) continue;
    bool ignored = ends_with(key, ".num_batches_tracked");
    for (const std::string& p : ignore_prefixes_) ignored = ignored || key.rfind(p, 0) == 0;
    if (ignored)
      result_.ignored.push_back(key);
    else
      unexpected.push_back(key);
  }
  if (!missing_.empty() || !unexpected.empty() || !shapes_.empty() || !dtypes_.empty() || !duplicates_.empty()) {
    std::string message = "the " + net_ + " state dict does not match torchvision's " + net_ + ":";
    list_problems(message, "missing keys", missing_, ", ");
    list_problems(message, "unexpected keys", unexpected, ", ");
    list_problems(message, "wrong shapes", shapes_, "; ");
    list_problems(message, "wrong dtypes", dtypes_, "; ");
    list_problems(message, "keys given twice (with and without 'module.')", duplicates_, ", ");
    throw Error(message);
  }
  metadata["hl.batchnorm"] = fold_ ? "folded" : "unfolded";
  result_.metadata = std::move(metadata);
  return std::move(result_);
}

}  // namespace hl
