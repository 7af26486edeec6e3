// Reads the layers of a converted CNN weight file (weights/googlenet_map.h,
// weights/resnet50_map.h write them) by name, checking every tensor's dtype and shape,
// and reports tensors that no layer took.
//
// A conv layer L is L.weight [k, k, c_in, c_out] with either L.bias [c_out] (folded
// BatchNorm) or L.bn.{weight, bias, running_mean, running_var} [c_out] (unfolded); a
// linear layer L is L.weight [in, out] and L.bias [out]. All f32.
//
// Tests: tests/nets/test_googlenet_golden.cpp, test_resnet50_golden.cpp (both forms;
// a missing, unexpected or misshapen tensor).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "nets/cnn_backend.h"

namespace hl {

class CnnWeights {
 public:
  // `net` names the network in messages. Throws hl::Error for a name given twice.
  CnnWeights(std::string net, const std::vector<std::pair<std::string, Tensor>>& tensors);

  // Throws hl::Error naming the tensor for a missing one, a wrong shape or dtype, or a
  // layer with both forms of BatchNorm.
  ConvLayer conv(const std::string& name, int64_t c_in, int64_t c_out, int64_t kernel, int64_t stride, int64_t pad,
                 double bn_eps, bool relu = true);
  // out is taken from the weight.
  LinearLayer linear(const std::string& name, int64_t in);
  // Throws hl::Error listing the tensors nothing took.
  void finish() const;

 private:
  Tensor take(const std::string& name, const std::vector<int64_t>& shape);  // -1 matches any size

  std::string net_;
  std::map<std::string, Tensor> by_name_;
  std::set<std::string> used_;
};

// Every tensor of a converted weight file, after checking that the file says it holds
// `net`'s weights (files without "hl.net" are taken on trust: the names decide).
// Throws hl::FormatError naming the file.
std::vector<std::pair<std::string, Tensor>> read_cnn_weight_file(const SafetensorsFile& file, const std::string& net);

// Opens `path`, reads it and builds the net with build(tensors); an hl::Error from the
// build becomes an hl::FormatError naming the file.
template <typename Net, typename Build>
Net load_cnn_weight_file(const std::string& path, const std::string& net, Build&& build) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto tensors = read_cnn_weight_file(file, net);
  try {
    return build(tensors);
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(path, e.what());
  }
}

}  // namespace hl
