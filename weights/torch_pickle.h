// The pickle subset that torch.save writes for a state dict, read by an allowlist stack
// machine (never a general pickle VM: nothing read is ever resolved to code).
//
// Opcodes (protocol 2): PROTO STOP MARK EMPTY_DICT EMPTY_LIST EMPTY_TUPLE TUPLE TUPLE1
// TUPLE2 TUPLE3 BINPUT LONG_BINPUT BINGET LONG_BINGET BININT BININT1 BININT2 LONG1
// BINFLOAT BINUNICODE SHORT_BINSTRING BINSTRING NONE NEWTRUE NEWFALSE GLOBAL REDUCE BUILD
// NEWOBJ SETITEM SETITEMS APPEND APPENDS BINPERSID. Any other opcode is an error naming it.
//
// GLOBAL yields an inert (module, name) token and is allowed only for the names a state
// dict uses: collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
// _rebuild_tensor / _rebuild_parameter (the only REDUCE targets), and the storage classes
// torch[.cuda].{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage, which are
// dtype tags inside persistent ids. REDUCE on OrderedDict takes no arguments (Python 3)
// or one list of [key, value] pairs (Python 2). BUILD on an OrderedDict (its _metadata)
// is ignored.
// A persistent id ('storage', storage class, key, location, numel[, None]) becomes a
// Storage value (one per key); _rebuild_* turns (storage, offset, size, stride, ...) into
// a Tensor value after checking every element it addresses lies inside the storage's
// declared numel. Whether the storage itself lies inside the file is the caller's check.
//
// Memory: values, stack entries, marks and memo entries are capped (Limits), strings are
// checked against the bytes that remain, and every value lives in one arena owned by
// Pickle (so a list that contains itself is not a leak). Errors are hl::FormatError(path,
// "<where>: <problem> at byte N").
//
// Tested by tests/weights/test_torch_hostile.cpp (opcode by opcode, hostile pickles) and,
// through read_torch_file, by tests/weights/test_torch_file.cpp (files torch.save wrote).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hl::torch_pickle {

// The storage classes a persistent id may name, i.e. the element type of the storage.
enum class StorageType : uint8_t { Float, Half, BFloat16, Double, Long, Int, Short, Char, Byte, Bool };
std::string_view storage_type_name(StorageType t);  // "Float", "BFloat16", ...
size_t storage_element_size(StorageType t);         // bytes per element

enum class Kind : uint8_t { None, Bool, Int, BigInt, Float, String, Tuple, List, Dict, Global, Storage, Tensor };
std::string_view kind_name(Kind k);  // "None", "int", "str", "tuple", ...

struct Value {
  Kind kind = Kind::None;
  bool ordered = false;                     // Dict: an OrderedDict
  StorageType storage_type = StorageType::Float;  // Storage
  int64_t integer = 0;  // Bool (0/1), Int; Storage: numel; Tensor: storage offset (elements)
  double real = 0;      // Float
  std::string text;     // String (UTF-8); BigInt: two's complement, little-endian; Global: module; Storage: key
  std::string text2;    // Global: name; Storage: location ("cpu", "cuda:0")
  std::vector<Value*> items;  // Tuple, List: elements; Dict: key0, value0, key1, value1, ...; Tensor: {storage}
  std::vector<int64_t> dims;  // Tensor: its sizes, then its strides (2 x ndim entries)

  size_t tensor_ndim() const { return dims.size() / 2; }
  const Value& tensor_storage() const { return *items[0]; }
  // Dict: the value under a string key, or nullptr.
  const Value* get(std::string_view key) const;
};

struct Limits {
  size_t max_values = size_t{1} << 20;  // every value made (a state dict of 1000 tensors makes ~20,000)
  size_t max_stack = size_t{1} << 20;   // stack entries plus marks
  size_t max_memo = size_t{1} << 20;    // memo entries
  size_t max_text = size_t{1} << 20;    // bytes of one string or GLOBAL line
};

// One unpickled object. Move-only: values point into the arena.
class Pickle {
 public:
  Pickle() = default;
  Pickle(Pickle&&) = default;
  Pickle& operator=(Pickle&&) = default;

  const Value& root() const { return *root_; }
  size_t end() const { return end_; }  // bytes consumed, including STOP
  // Every storage the persistent ids named, in order of first appearance (one per key).
  const std::vector<const Value*>& storages() const { return storages_; }

 private:
  friend class Unpickler;
  std::deque<Value> arena_;
  const Value* root_ = nullptr;
  size_t end_ = 0;
  std::vector<const Value*> storages_;
};

// Reads one pickle from the start of `bytes` up to its STOP (trailing bytes are left for
// the caller). `path` and `where` (e.g. "archive/data.pkl") name it in errors; byte
// positions in messages are `base_offset` + the position inside `bytes`.
Pickle unpickle(std::span<const uint8_t> bytes, const std::string& path, const std::string& where,
                size_t base_offset = 0, const Limits& limits = {});

// Short, Python-like text of a value for display ("90", "54.7", "resnet50",
// "[1, 2]", "tensor(Float, [3, 4])"); nested strings are quoted. Cut at max_chars, and
// nesting deeper than 8 is shown as "...", so a self-containing list prints finitely.
std::string to_text(const Value& v, size_t max_chars = 4096);

}  // namespace hl::torch_pickle
