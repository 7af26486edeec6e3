#include "weights/multisensory_map.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "engine/error.h"

namespace hl {

namespace {

enum class Kind {
  ConvBn,   // <scope>/weights + <scope>/BatchNorm/{beta, moving_mean, moving_variance}
  ConvBias, // <scope>/weights + <scope>/biases
  BlockBn,  // <scope>/{beta, moving_mean, moving_variance}
};

struct Layer {
  Kind kind;
  std::string scope;            // the publisher's slim scope
  std::vector<int64_t> kernel;  // TF layout; for BlockBn: [channels]
};

// make_net, block2 and block3 of src/shift_net.py, in order, widths divided by `d`.
std::vector<Layer> multisensory_layers(int64_t d) {
  auto w = [d](int64_t n) { return n / d; };
  std::vector<Layer> l;
  // Audio: 2-D convs over [N, 1]; every block has stride 4, so its shortcut is a 1x1
  // conv (+BN) when the width changes and a max-pool (no weights) when it does not.
  auto block2 = [&](const std::string& s, int64_t c_in, int64_t nf) {
    if (c_in != nf) l.push_back({Kind::ConvBn, s + "_short", {1, 1, c_in, nf}});
    l.push_back({Kind::ConvBn, s + "_1", {15, 1, c_in, nf}});
    l.push_back({Kind::ConvBias, s + "_2", {15, 1, nf, nf}});
    l.push_back({Kind::BlockBn, s + "_bn", {nf}});
  };
  // Video: the shortcut is a 1x1x1 conv (+BN) exactly when the width changes (identity
  // or a strided pool3d otherwise).
  auto block3 = [&](const std::string& s, int64_t c_in, int64_t nf) {
    if (c_in != nf) l.push_back({Kind::ConvBn, s + "_short", {1, 1, 1, c_in, nf}});
    l.push_back({Kind::ConvBn, s + "_1", {3, 3, 3, c_in, nf}});
    l.push_back({Kind::ConvBias, s + "_2", {3, 3, 3, nf, nf}});
    l.push_back({Kind::BlockBn, s + "_bn", {nf}});
  };
  l.push_back({Kind::ConvBn, "sf/conv1_1", {65, 1, 2, w(64)}});
  block2("sf/conv2_1", w(64), w(128));
  block2("sf/conv3_1", w(128), w(128));
  block2("sf/conv4_1", w(128), w(256));
  l.push_back({Kind::ConvBn, "im/conv1", {5, 7, 7, 3, w(64)}});
  block3("im/conv2_1", w(64), w(64));
  block3("im/conv2_2", w(64), w(64));
  // merge(): the pooled sound [32, 1, 256] through conv5_1 [3, 1], tiled and concatenated
  // after the image channels: 64 + 128 channels into merge1.
  l.push_back({Kind::ConvBn, "sf/conv5_1", {3, 1, w(256), w(128)}});
  l.push_back({Kind::ConvBn, "im/merge1", {1, 1, 1, w(64) + w(128), w(512)}});
  l.push_back({Kind::ConvBias, "im/merge2", {1, 1, 1, w(512), w(128)}});
  l.push_back({Kind::BlockBn, "im/merge_block_bn", {w(128)}});
  block3("im/conv3_1", w(128), w(128));
  block3("im/conv3_2", w(128), w(128));
  block3("im/conv4_1", w(128), w(256));
  block3("im/conv4_2", w(256), w(256));
  block3("im/conv5_1", w(256), w(512));
  block3("im/conv5_2", w(512), w(512));
  l.push_back({Kind::ConvBias, "joint/logits", {1, 1, 1, w(512), 1}});
  return l;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string our_name(const std::string& scope) {
  std::string s = scope;
  std::replace(s.begin(), s.end(), '/', '.');
  return s;
}

class Converter {
 public:
  explicit Converter(const TfCheckpoint& ckpt) : ckpt_(ckpt) {}

  // The variable `key` as f32 if present with `shape` and stored as f32; records the
  // problem and returns an undefined tensor otherwise.
  Tensor take(const std::string& key, const std::vector<int64_t>& shape) {
    const TfTensorInfo* info = ckpt_.find(key);
    if (!info) {
      missing_.push_back(key + " " + shape_text(shape));
      return {};
    }
    used_.insert(key);
    bool ok = true;
    if (info->shape != shape) {
      problems_.push_back(key + " has shape " + shape_text(info->shape) + ", expected " + shape_text(shape));
      ok = false;
    }
    if (info->dtype != 1) {  // DT_FLOAT
      problems_.push_back(key + " is " + info->dtype_name + ", expected F32");
      ok = false;
    }
    return ok ? ckpt_.read_f32(key) : Tensor{};
  }

  // a = gamma / sqrt(moving_variance + eps) and beta - moving_mean * a for the BatchNorm
  // variables under `prefix` ("<scope>/BatchNorm/" or "<scope>/"); false if unusable.
  bool batchnorm(const std::string& prefix, int64_t c, std::vector<double>& a, std::vector<double>& shift) {
    bn_prefixes_.push_back(prefix);
    const Tensor beta = take(prefix + "beta", {c});
    const Tensor mean = take(prefix + "moving_mean", {c});
    const Tensor var = take(prefix + "moving_variance", {c});
    Tensor gamma;  // only when trained with scale=True; the publisher's nets have none
    if (ckpt_.find(prefix + "gamma")) gamma = take(prefix + "gamma", {c});
    if (!beta.defined() || !mean.defined() || !var.defined()) return false;
    if (ckpt_.find(prefix + "gamma") && !gamma.defined()) return false;
    a.assign(static_cast<size_t>(c), 0.0);
    shift.assign(static_cast<size_t>(c), 0.0);
    for (int64_t o = 0; o < c; ++o) {
      const double v = var.data<float>()[o];
      if (!(v + kMultisensoryBatchNormEpsilon > 0.0) || !std::isfinite(v)) {
        problems_.push_back(prefix + "moving_variance[" + std::to_string(o) + "] = " + std::to_string(v) +
                            " (must be finite and above -0.001)");
        return false;
      }
      const double g = gamma.defined() ? gamma.data<float>()[o] : 1.0;
      a[o] = g / std::sqrt(v + kMultisensoryBatchNormEpsilon);
      shift[o] = static_cast<double>(beta.data<float>()[o]) - static_cast<double>(mean.data<float>()[o]) * a[o];
    }
    return true;
  }

  void layer(const Layer& l) {
    const std::string name = our_name(l.scope);
    const int64_t c = l.kernel.back();
    std::vector<double> a, shift;
    if (l.kind == Kind::BlockBn) {
      if (!batchnorm(l.scope + "/", c, a, shift)) return;
      add(name + ".scale", to_tensor(a));
      add(name + ".shift", to_tensor(shift));
      return;
    }
    Tensor weight = take(l.scope + "/weights", l.kernel);
    if (l.kind == Kind::ConvBias) {
      Tensor bias = take(l.scope + "/biases", {c});
      if (weight.defined() && bias.defined()) {
        add(name + ".weight", weight);
        add(name + ".bias", bias);
      }
      return;
    }
    if (!batchnorm(l.scope + "/BatchNorm/", c, a, shift) || !weight.defined()) return;
    // Fold: the output channel is the last (fastest) axis of the TF kernel.
    float* p = weight.data<float>();
    for (int64_t i = 0; i < weight.numel(); ++i) p[i] = static_cast<float>(p[i] * a[static_cast<size_t>(i % c)]);
    add(name + ".weight", weight);
    add(name + ".bias", to_tensor(shift));
  }

  ConvertResult finish(MultisensoryNet net, int64_t divisor) {
    for (const TfTensorInfo& t : ckpt_.tensors()) {
      if (used_.count(t.name)) continue;
      if (ignorable(t.name)) {
        result_.ignored.push_back(t.name);
      } else {
        unexpected_.push_back(t.name + " " + shape_text(t.shape));
      }
    }
    if (!missing_.empty() || !unexpected_.empty() || !problems_.empty()) {
      std::string message = "not the Multisensory network (width 1/" + std::to_string(divisor) + "):";
      auto list = [&message](const char* what, const std::vector<std::string>& items) {
        if (items.empty()) return;
        message += std::string("\n  ") + what + " (" + std::to_string(items.size()) + "):";
        for (const std::string& s : items) message += "\n    " + s;
      };
      list("missing", missing_);
      list("unexpected", unexpected_);
      list("wrong shape or dtype", problems_);
      throw Error(message);
    }
    result_.metadata = {{"hl.net", net == MultisensoryNet::Cam ? "multisensory-cam" : "multisensory-shift"},
                        {"hl.format_version", "1"},
                        {"hl.batchnorm", "folded"},
                        {"hl.width_divisor", std::to_string(divisor)}};
    return std::move(result_);
  }

 private:
  void add(const std::string& name, Tensor t) { result_.tensors.emplace_back(name, std::move(t)); }

  static Tensor to_tensor(const std::vector<double>& v) {
    std::vector<float> f(v.begin(), v.end());
    return Tensor::from_vector(Shape({static_cast<int64_t>(f.size())}), f);
  }

  bool ignorable(const std::string& key) const {
    if (key == "global_step" || key == "beta1_power" || key == "beta2_power") return true;
    for (const char* slot : {"/Momentum", "/Adam", "/Adam_1"})
      if (ends_with(key, slot)) return true;
    // Batch renormalisation's training statistics, only under a BatchNorm we read.
    for (const std::string& prefix : bn_prefixes_) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = key.substr(prefix.size());
      for (const char* stat :
           {"renorm_mean", "renorm_stddev", "renorm_mean_weight", "renorm_stddev_weight", "moving_stddev"})
        if (rest == stat) return true;
    }
    return false;
  }

  const TfCheckpoint& ckpt_;
  std::set<std::string> used_;
  std::vector<std::string> bn_prefixes_;
  std::vector<std::string> missing_, unexpected_, problems_;
  ConvertResult result_;
};

// The width divisor from im/conv1/weights [5, 7, 7, 3, 64 / d].
int64_t width_divisor(const TfCheckpoint& ckpt) {
  const TfTensorInfo* conv1 = ckpt.find("im/conv1/weights");
  if (!conv1) throw Error("no im/conv1/weights: not a Multisensory checkpoint");
  const std::vector<int64_t>& s = conv1->shape;
  if (s.size() == 5 && s[0] == 5 && s[1] == 7 && s[2] == 7 && s[3] == 3 && s[4] > 0 && s[4] <= 64 &&
      64 % s[4] == 0)
    return 64 / s[4];
  throw Error("im/conv1/weights has shape " + shape_text(s) +
              ", expected [5, 7, 7, 3, 64] (or 64 divided by a power of two for a width-reduced net)");
}

}  // namespace

ConvertResult convert_multisensory(const TfCheckpoint& checkpoint, MultisensoryNet net) {
  const int64_t divisor = width_divisor(checkpoint);
  Converter c(checkpoint);
  for (const Layer& l : multisensory_layers(divisor)) c.layer(l);
  return c.finish(net, divisor);
}

}  // namespace hl
