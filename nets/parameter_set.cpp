#include "nets/parameter_set.h"

#include <algorithm>
#include <charconv>

#include "engine/error.h"
#include "engine/fnv1a.h"
#include "engine/optim/init.h"
#include "engine/safetensors.h"

namespace hl {

namespace {

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

uint64_t parameter_init_offset(std::string_view name) { return fnv1a64(name) & ~0xFFFFFFFFull; }

namespace initialiser {

Initialiser zeros() {
  return [](const Shape& shape, uint64_t, uint64_t) { return Tensor::zeros(shape, DType::F32); };
}

Initialiser constant(float value) {
  return [value](const Shape& shape, uint64_t, uint64_t) {
    Tensor t = Tensor::empty(shape, DType::F32);
    std::fill(t.data<float>(), t.data<float>() + t.numel(), value);
    return t;
  };
}

Initialiser glorot_uniform(float gain) {
  // gain · U(-l, l) = U(-gain · l, gain · l): Xavier uniform with a gain (VASNet's sqrt(2)).
  return [gain](const Shape& shape, uint64_t seed, uint64_t offset) {
    Tensor t = optim::glorot_uniform(shape, seed, offset);
    if (gain != 1.0f) {
      float* p = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) p[i] *= gain;
    }
    return t;
  };
}

Initialiser orthogonal() {
  return [](const Shape& shape, uint64_t seed, uint64_t offset) {
    if (shape.ndim() != 2) throw Error("orthogonal initialiser: shape " + shape.str() + " is not [rows, cols]");
    return optim::orthogonal(shape[0], shape[1], seed, offset);
  };
}

Initialiser lstm_bias(bool unit_forget_bias) {
  return [unit_forget_bias](const Shape& shape, uint64_t, uint64_t) {
    if (shape.ndim() != 1 || shape[0] % 4 != 0)
      throw Error("LSTM bias initialiser: shape " + shape.str() + " is not [4h]");
    return optim::lstm_bias(shape[0] / 4, unit_forget_bias);
  };
}

}  // namespace initialiser

ParameterSet::ParameterSet(std::string owner, std::optional<uint64_t> seed)
    : owner_(std::move(owner)), seed_(seed) {}

ag::Variable ParameterSet::add(const std::string& name, const Shape& shape, const Initialiser& init) {
  if (name.empty()) throw Error(owner_ + ": a parameter needs a name");
  if (std::any_of(params_.begin(), params_.end(), [&](const NamedParameter& p) { return p.name == name; }))
    throw Error(owner_ + " already has a parameter '" + name + "'");
  Tensor value = seed_ ? init(shape, *seed_, parameter_init_offset(name)) : Tensor::zeros(shape, DType::F32);
  if (!(value.shape() == shape) || value.dtype() != DType::F32)
    throw Error(owner_ + ": the initialiser of '" + name + "' made " + value.str() + "; expected f32" + shape.str());
  ag::Variable v(std::move(value), true);
  params_.push_back({name, v});
  return v;
}

std::vector<ag::Variable> ParameterSet::parameters() const {
  std::vector<ag::Variable> out;
  for (const NamedParameter& p : params_) out.push_back(p.value);
  return out;
}

int64_t ParameterSet::parameter_count() const {
  int64_t n = 0;
  for (const NamedParameter& p : params_) n += p.value.value().numel();
  return n;
}

const ag::Variable& ParameterSet::parameter(const std::string& name) const {
  for (const NamedParameter& p : params_)
    if (p.name == name) return p.value;
  throw Error(owner_ + " has no parameter '" + name + "'");
}

void ParameterSet::save(const std::string& path, std::map<std::string, std::string> metadata,
                        const std::map<std::string, std::string>& extra, const std::string& configuration,
                        const std::vector<std::pair<std::string, Tensor>>& other_tensors) const {
  for (const auto& [key, value] : extra)
    if (!metadata.emplace(key, value).second)
      throw Error("saving " + path + ": extra metadata key '" + key + "' is part of the " + configuration +
                  " configuration");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const NamedParameter& p : params_) tensors.emplace_back(p.name, p.value.value());
  tensors.insert(tensors.end(), other_tensors.begin(), other_tensors.end());
  write_safetensors(path, tensors, metadata);
}

void ParameterSet::load(const SafetensorsFile& file, const std::string& path,
                        const std::function<std::string(const std::string&)>& missing,
                        const std::function<std::string(const std::string&)>& unexpected,
                        const std::vector<std::string>& other_tensors) {
  for (NamedParameter& p : params_) {
    if (!file.contains(p.name)) throw Error(path + ": " + missing(p.name));
    const SafetensorsTensorInfo& info = file.info(p.name);
    if (info.dtype->name != "F32" || info.shape != p.value.shape().vec())
      throw Error(path + ": tensor '" + p.name + "' is " + std::string(info.dtype->name) + dims_text(info.shape) +
                  "; expected F32" + p.value.shape().str());
    p.value.value_mut().copy_from(file.get(p.name));  // a copy: the mapping is read-only, training updates in place
  }
  if (file.tensors().size() != params_.size() + other_tensors.size())
    for (const std::string& name : file.names())
      if (std::none_of(params_.begin(), params_.end(), [&](const NamedParameter& p) { return p.name == name; }) &&
          std::find(other_tensors.begin(), other_tensors.end(), name) == other_tensors.end())
        throw Error(path + ": " + unexpected(name));
}



MetadataReader::MetadataReader(const std::map<std::string, std::string>& metadata, std::string source, std::string what)
    : metadata_(metadata), source_(std::move(source)), what_(std::move(what)) {}

const std::string& MetadataReader::required(const std::string& key) const {
  const auto it = metadata_.find(key);
  if (it == metadata_.end()) throw Error(source_ + ": the " + what_ + " metadata has no '" + key + "'");
  return it->second;
}

std::optional<std::string> MetadataReader::optional(const std::string& key) const {
  const auto it = metadata_.find(key);
  if (it == metadata_.end()) return std::nullopt;
  return it->second;
}

void MetadataReader::malformed(const std::string& key, const std::string& expected) const {
  throw Error(source_ + ": " + what_ + " metadata '" + key + "' is '" + metadata_.at(key) + "', " + expected);
}

int64_t MetadataReader::integer(const std::string& key) const {
  const std::optional<int64_t> v = parse_integer(required(key));
  if (!v) malformed(key, "not a number");
  return *v;
}

float MetadataReader::real(const std::string& key) const {
  const std::optional<float> v = parse_float(required(key));
  if (!v) malformed(key, "not a number");
  return *v;
}

bool MetadataReader::boolean(const std::string& key) const {
  const std::string& text = required(key);
  if (text != "true" && text != "false") malformed(key, "not true or false");
  return text == "true";
}

}  // namespace hl
