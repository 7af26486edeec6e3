// The common part of the converters from a torchvision CNN state dict (googlenet_map,
// resnet50_map) to our weight files: name mapping, shape and dtype checks, layout
// changes and BatchNorm folding.
//
// Our layouts: a conv weight is HWIO [k, k, c_in, c_out] (torchvision: OIHW
// [c_out, c_in, k, k]); a linear weight is [in, out] (torchvision: [out, in]); all f32.
// A conv followed by BatchNorm becomes, for our layer name L,
//   folded (fold_batchnorm = true):  L.weight = w * a[o], L.bias = beta - mean * a,
//                                    a = gamma / sqrt(running_var + eps) (in double);
//   unfolded:                        L.weight = w, L.bn.{weight, bias, running_mean,
//                                    running_var} as stored (the exact mode).
//
// Tests: tests/weights/test_cnn_maps.cpp (missing, unexpected, shape and dtype errors,
// the module. prefix, f16 input, folding against the formula), and the whole nets
// against torchvision (tests/nets/test_googlenet_golden.cpp, test_resnet50_golden.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace hl {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct ConvertResult {
  NamedTensors tensors;                         // our names and layouts, f32, in layer order
  std::map<std::string, std::string> metadata;  // hl.net, hl.batchnorm, hl.classes, hl.format_version
  std::vector<std::string> ignored;             // state-dict keys dropped on purpose (aux heads, num_batches_tracked)
};

// Collects a converter's outputs and problems; finish() throws them all at once, so one
// run shows everything that is wrong with a state dict.
class StateDictConverter {
 public:
  // `net` names the network in messages ("googlenet"). Strips a leading "module." (the
  // DataParallel prefix) from every key; keys that collide after stripping are an error.
  StateDictConverter(std::string net, const NamedTensors& state_dict, bool fold_batchnorm);

  // Conv weight `conv_key` [c_out, c_in, k, k] followed by the BatchNorm whose tensors
  // are `bn_prefix`.{weight, bias, running_mean, running_var} [c_out] (a
  // `bn_prefix`.num_batches_tracked is ignored) -> our layer `name`.
  void conv_bn(const std::string& conv_key, const std::string& bn_prefix, const std::string& name, int64_t c_in,
               int64_t c_out, int64_t kernel, double eps);
  // Linear `prefix`.weight [out, in] and `prefix`.bias [out] -> `name`.weight [in, out]
  // and `name`.bias. Returns out (taken from the weight; 0 when the weight is unusable).
  int64_t linear(const std::string& prefix, const std::string& name, int64_t in);
  // Keys that start with `prefix` are expected and dropped (GoogLeNet's aux1., aux2.).
  void ignore_prefix(const std::string& prefix);

  // Throws hl::Error listing every missing key, unexpected key, wrong shape and wrong
  // dtype; otherwise returns the tensors with `metadata` plus hl.batchnorm.
  ConvertResult finish(std::map<std::string, std::string> metadata);

 private:
  // The tensor at `key` as f32 on the CPU if it exists with `shape` (a -1 entry matches
  // any size); records the problem and returns an undefined tensor otherwise.
  Tensor take(const std::string& key, const std::vector<int64_t>& shape);

  std::string net_;
  bool fold_;
  std::map<std::string, Tensor> by_key_;  // stripped key -> tensor
  std::set<std::string> used_;
  std::vector<std::string> ignore_prefixes_;
  std::vector<std::string> missing_, shapes_, dtypes_, duplicates_;
  ConvertResult result_;
};

}  // namespace hl
