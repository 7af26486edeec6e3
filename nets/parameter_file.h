// Model files: a model's named parameters as a safetensors file with its configuration
// in the metadata. Shared by every trainable model (HighlightModel, Vasnet).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd/variable.h"
#include "engine/tensor.h"

namespace hl {

class SafetensorsFile;

struct NamedParameter {
  std::string name;     // e.g. "googlenet.dense.kernel", "bilstm.forward.recurrent_kernel"
  ag::Variable value;   // a leaf that requires a gradient
};

// Writes every parameter, `other_tensors` (e.g. input normalisation statistics) and
// `metadata` plus `extra` (whose keys must not collide with the configuration's: `what`
// names the model in that error) to `path`, atomically.
void save_parameter_file(const std::string& path, const std::vector<NamedParameter>& params,
                         std::map<std::string, std::string> metadata, const std::map<std::string, std::string>& extra,
                         const std::string& what, const std::vector<std::pair<std::string, Tensor>>& other_tensors = {});

// Copies every parameter from `file` (opened from `path`), checking that each is
// present, F32 and of the parameter's shape, and that the file holds nothing else but
// the tensors named in `other_tensors` (read by the caller). `missing(name)` and
// `unexpected(name)` word the errors for a model's files.
void load_parameter_file(const SafetensorsFile& file, const std::string& path, std::vector<NamedParameter>& params,
                         const std::function<std::string(const std::string&)>& missing,
                         const std::function<std::string(const std::string&)>& unexpected,
                         const std::vector<std::string>& other_tensors = {});

}  // namespace hl
