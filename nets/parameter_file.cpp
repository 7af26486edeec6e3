#include "nets/parameter_file.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/safetensors.h"

namespace hl {
namespace {
std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}
}  // namespace

void save_parameter_file(const std::string& path, const std::vector<NamedParameter>& params,
                         std::map<std::string, std::string> metadata, const std::map<std::string, std::string>& extra,
                         const std::string& what, const std::vector<std::pair<std::string, Tensor>>& other_tensors) {
  for (const auto& [key, value] : extra)
    if (!metadata.emplace(key, value).second)
      throw Error("saving " + path + ": extra metadata key '" + key + "' is part of the " + what + " configuration");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const NamedParameter& p : params) tensors.emplace_back(p.name, p.value.value());
  tensors.insert(tensors.end(), other_tensors.begin(), other_tensors.end());
  write_safetensors(path, tensors, metadata);
}

void load_parameter_file(const SafetensorsFile& file, const std::string& path, std::vector<NamedParameter>& params,
                         const std::function<std::string(const std::string&)>& missing,
                         const std::function<std::string(const std::string&)>& unexpected,
                         const std::vector<std::string>& other_tensors) {
  for (NamedParameter& p : params) {
    if (!file.contains(p.name)) throw Error(path + ": " + missing(p.name));
    const SafetensorsTensorInfo& info = file.info(p.name);
    if (info.dtype->name != "F32" || info.shape != p.value.shape().vec())
      throw Error(path + ": tensor '" + p.name + "' is " + std::string(info.dtype->name) + dims_text(info.shape) +
                  "; expected F32" + p.value.shape().str());
    p.value.value_mut().copy_from(file.get(p.name));  // a copy: the mapping is read-only, training updates in place
  }
  if (file.tensors().size() != params.size() + other_tensors.size())
    for (const std::string& name : file.names())
      if (std::none_of(params.begin(), params.end(), [&](const NamedParameter& p) { return p.name == name; }) &&
          std::find(other_tensors.begin(), other_tensors.end(), name) == other_tensors.end())
        throw Error(path + ": " + unexpected(name));
}

}  // namespace hl
