// The plumbing every trainable network shares (HighlightModel, Vasnet and the networks
// to come), in one place:
//   - ParameterSet: the ordered registry of a network's named parameters, each a leaf
//     ag::Variable that requires a gradient, initialised from a seed at an offset fixed by
//     its name (parameter_init_offset), and saved to / loaded from a model file
//     (safetensors: every parameter by name, the configuration in the metadata);
//   - MetadataReader (numbers by engine/parse_number.h): reading a configuration back from that
//     metadata, with errors that name the file and the key. Floats are written with
//     hl::float_text (engine/float_text.h), the shortest text that reads back exactly.
// Tests: tests/model/test_parameter_set.cpp; through the models, tests/model/test_highlight_model*.cpp
// and tests/model/test_vasnet*.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/autograd/variable.h"
#include "engine/parse_number.h"
#include "engine/tensor.h"

namespace hl {

class SafetensorsFile;

struct NamedParameter {
  std::string name;     // e.g. "googlenet.dense.kernel", "bilstm.forward.recurrent_kernel"
  ag::Variable value;   // a leaf that requires a gradient
};

// Where a parameter's initial values start in the seed's Philox stream: the 64-bit
// FNV-1a hash of its name (hl::fnv1a64), rounded down to a multiple of 2^32 words. Every
// parameter draws far fewer than 2^32 words, so two ranges overlap only if two names of a
// network share the hash's top 32 bits; and a value depends on (seed, name, shape) alone,
// not on which other parameters the network has (the affect encoder of an affect-only
// model starts as that of the all-feature model).
uint64_t parameter_init_offset(std::string_view name);

// A parameter's initial value of `shape`, drawn from the words [offset, ...) of seed's
// Philox stream (engine/optim/init.h).
using Initialiser = std::function<Tensor(const Shape& shape, uint64_t seed, uint64_t offset)>;

namespace initialiser {
Initialiser zeros();
Initialiser constant(float value);
// Glorot uniform with Keras fans ([..., in, out]), each value then times gain (1: as drawn).
Initialiser glorot_uniform(float gain = 1.0f);
// [rows, cols] with orthonormal rows or columns (recurrent kernels).
Initialiser orthogonal();
// An LSTM bias [4h] in gate order i, f, g, o: zeros, the forget block 1 when unit_forget_bias.
Initialiser lstm_bias(bool unit_forget_bias);
}  // namespace initialiser

class ParameterSet {
 public:
  // `owner` names the network in errors ("VASNet", "highlight model (affect,faces)").
  // With a seed, add() initialises every parameter from it; without one (a network about
  // to be read from a file by load()), every parameter starts at zero.
  ParameterSet(std::string owner, std::optional<uint64_t> seed);
  // Parameters are shared Variables: a copy would silently share them.
  ParameterSet(const ParameterSet&) = delete;
  ParameterSet& operator=(const ParameterSet&) = delete;
  ParameterSet(ParameterSet&&) = default;
  ParameterSet& operator=(ParameterSet&&) = default;

  // Appends a parameter of `shape` made by `init` from (seed, parameter_init_offset(name)),
  // or zeros without a seed. Throws hl::Error for an empty name or one already in the set.
  ag::Variable add(const std::string& name, const Shape& shape, const Initialiser& init);

  // In the order add() was called.
  const std::vector<NamedParameter>& named_parameters() const { return params_; }
  std::vector<ag::Variable> parameters() const;
  int64_t parameter_count() const;  // elements, over every parameter
  // Throws hl::Error "<owner> has no parameter '<name>'" for an unknown name.
  const ag::Variable& parameter(const std::string& name) const;

  // Writes every parameter (in order, F32), then `other_tensors` (e.g. input
  // normalisation statistics), with `metadata` (the configuration) plus `extra` to
  // `path`, atomically. An `extra` key that is also a configuration key is an error
  // ("... is part of the <configuration> configuration").
  void save(const std::string& path, std::map<std::string, std::string> metadata,
            const std::map<std::string, std::string>& extra, const std::string& configuration,
            const std::vector<std::pair<std::string, Tensor>>& other_tensors = {}) const;
  // Copies every parameter from `file` (opened from `path`), checking that each is
  // present, F32 and of the parameter's shape, and that the file holds nothing else but
  // the tensors named in `other_tensors` (read by the caller). `missing(name)` and
  // `unexpected(name)` word those two errors for a network's files; every error starts
  // with `path`.
  void load(const SafetensorsFile& file, const std::string& path,
            const std::function<std::string(const std::string&)>& missing,
            const std::function<std::string(const std::string&)>& unexpected,
            const std::vector<std::string>& other_tensors = {});

 private:
  std::string owner_;
  std::optional<uint64_t> seed_;
  std::vector<NamedParameter> params_;
};


// Reads a configuration from a model file's metadata. Errors name the file (`source`) and
// the key, for the network `what` ("model", "VASNet"):
//   "<source>: the <what> metadata has no '<key>'"
//   "<source>: <what> metadata '<key>' is '<text>', not a number" (or "not true or false")
class MetadataReader {
 public:
  // Keeps a reference to `metadata`, which must outlive the reader.
  MetadataReader(const std::map<std::string, std::string>& metadata, std::string source, std::string what);

  bool has(const std::string& key) const { return metadata_.count(key) != 0; }
  const std::string& required(const std::string& key) const;
  std::optional<std::string> optional(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  float real(const std::string& key) const;
  bool boolean(const std::string& key) const;  // "true" or "false"

 private:
  [[noreturn]] void malformed(const std::string& key, const std::string& expected) const;

  const std::map<std::string, std::string>& metadata_;
  std::string source_, what_;
};

}  // namespace hl
