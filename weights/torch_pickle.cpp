// The allowlist unpickler of torch_pickle.h. Python's own semantics where they matter:
// MARK starts a new stack frame that ordinary pops cannot reach below; SETITEM(S) on an
// existing key replaces its value and keeps its place; True and 1 are the same dict key.
#include "weights/torch_pickle.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "engine/error.h"

namespace hl::torch_pickle {

static_assert(std::endian::native == std::endian::little, "the PyTorch reader assumes a little-endian host");

namespace {

struct StorageClass {
  std::string_view name;  // without the "Storage" suffix
  StorageType type;
  size_t element_size;
};

constexpr StorageClass kStorageClasses[] = {
    {"Float", StorageType::Float, 4}, {"Half", StorageType::Half, 2},   {"BFloat16", StorageType::BFloat16, 2},
    {"Double", StorageType::Double, 8}, {"Long", StorageType::Long, 8}, {"Int", StorageType::Int, 4},
    {"Short", StorageType::Short, 2}, {"Char", StorageType::Char, 1},   {"Byte", StorageType::Byte, 1},
    {"Bool", StorageType::Bool, 1},
};

const StorageClass* find_storage_class(std::string_view module, std::string_view name) {
  if (module != "torch" && module != "torch.cuda") return nullptr;
  constexpr std::string_view suffix = "Storage";
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) return nullptr;
  name.remove_suffix(suffix.size());
  for (const auto& c : kStorageClasses)
    if (c.name == name) return &c;
  return nullptr;
}

enum class Callable { None, OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter };

Callable find_callable(std::string_view module, std::string_view name) {
  if (module == "collections" && name == "OrderedDict") return Callable::OrderedDict;
  if (module == "torch._utils" && name == "_rebuild_tensor_v2") return Callable::RebuildTensorV2;
  if (module == "torch._utils" && name == "_rebuild_tensor") return Callable::RebuildTensor;
  if (module == "torch._utils" && name == "_rebuild_parameter") return Callable::RebuildParameter;
  return Callable::None;
}

// Every pickle opcode's name, so that a refused one is named in the message.
std::string opcode_name(uint8_t op) {
  struct Entry {
    uint8_t op;
    const char* name;
  };
  static constexpr Entry kNames[] = {
      {'(', "MARK"}, {'.', "STOP"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'F', "FLOAT"}, {'I', "INT"},
      {'J', "BININT"}, {'K', "BININT1"}, {'L', "LONG"}, {'M', "BININT2"}, {'N', "NONE"}, {'P', "PERSID"},
      {'Q', "BINPERSID"}, {'R', "REDUCE"}, {'S', "STRING"}, {'T', "BINSTRING"}, {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"}, {'X', "BINUNICODE"}, {'a', "APPEND"}, {'b', "BUILD"}, {'c', "GLOBAL"}, {'d', "DICT"},
      {'}', "EMPTY_DICT"}, {'e', "APPENDS"}, {'g', "GET"}, {'h', "BINGET"}, {'i', "INST"}, {'j', "LONG_BINGET"},
      {'l', "LIST"}, {']', "EMPTY_LIST"}, {'o', "OBJ"}, {'p', "PUT"}, {'q', "BINPUT"}, {'r', "LONG_BINPUT"},
      {'s', "SETITEM"}, {'t', "TUPLE"}, {')', "EMPTY_TUPLE"}, {'u', "SETITEMS"}, {'G', "BINFLOAT"},
      {0x80, "PROTO"}, {0x81, "NEWOBJ"}, {0x82, "EXT1"}, {0x83, "EXT2"}, {0x84, "EXT4"}, {0x85, "TUPLE1"},
      {0x86, "TUPLE2"}, {0x87, "TUPLE3"}, {0x88, "NEWTRUE"}, {0x89, "NEWFALSE"}, {0x8a, "LONG1"},
      {0x8b, "LONG4"}, {'B', "BINBYTES"}, {'C', "SHORT_BINBYTES"}, {0x8c, "SHORT_BINUNICODE"},
      {0x8d, "BINUNICODE8"}, {0x8e, "BINBYTES8"}, {0x8f, "EMPTY_SET"}, {0x90, "ADDITEMS"}, {0x91, "FROZENSET"},
      {0x92, "NEWOBJ_EX"}, {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"}, {0x95, "FRAME"}, {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"},
  };
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", op);
  for (const auto& e : kNames)
    if (e.op == op) return std::string(e.name) + " (" + hex + ")";
  return std::string("unknown opcode ") + hex;
}

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

// Python's repr of a float: shortest round-trip digits, scientific below 1e-4 and from 1e16.
std::string float_text(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);  // "-5.47e+01"
  const size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  if (exp < -4 || exp >= 16) return sci;
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  std::string out = negative ? "-" : "";
  if (exp < 0) return out + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  const size_t int_digits = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_digits) return out + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

// Decimal text of a little-endian two's complement integer of any length.
std::string big_int_text(const std::string& le) {
  std::vector<uint8_t> mag(le.begin(), le.end());
  const bool negative = !mag.empty() && (mag.back() & 0x80);
  if (negative) {  // magnitude = ~x + 1
    unsigned carry = 1;
    for (auto& b : mag) {
      const unsigned v = static_cast<uint8_t>(~b) + carry;
      b = static_cast<uint8_t>(v);
      carry = v >> 8;
    }
  }
  std::string digits;
  while (!mag.empty()) {
    unsigned rem = 0;
    for (size_t i = mag.size(); i-- > 0;) {
      const unsigned cur = (rem << 8) | mag[i];
      mag[i] = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
    }
    digits += static_cast<char>('0' + rem);
    while (!mag.empty() && mag.back() == 0) mag.pop_back();
  }
  if (digits.empty()) digits = "0";
  return (negative ? "-" : "") + std::string(digits.rbegin(), digits.rend());
}

}  // namespace

std::string_view storage_type_name(StorageType t) {
  for (const auto& c : kStorageClasses)
    if (c.type == t) return c.name;
  return "?";
}

size_t storage_element_size(StorageType t) {
  for (const auto& c : kStorageClasses)
    if (c.type == t) return c.element_size;
  return 0;
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::BigInt: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

const Value* Value::get(std::string_view key) const {
  if (kind != Kind::Dict) return nullptr;
  for (size_t i = 0; i + 1 < items.size(); i += 2)
    if (items[i]->kind == Kind::String && items[i]->text == key) return items[i + 1];
  return nullptr;
}

// The stack machine. One instance per pickle; everything it makes goes into the arena of
// the Pickle it returns.
class Unpickler {
 public:
  Unpickler(std::span<const uint8_t> bytes, const std::string& path, const std::string& where, size_t base,
            const Limits& limits)
      : in_(bytes), path_(path), where_(where), base_(base), limits_(limits) {}

  Pickle run();

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw FormatError(path_, where_ + ": " + problem + " (opcode at byte " + std::to_string(base_ + op_pos_) + ")");
  }

  // --- input
  const uint8_t* take(size_t n) {
    if (n > in_.size() - pos_) fail("truncated: " + opcode_name(op_) + " needs " + std::to_string(n) +
                                    " more bytes but " + std::to_string(in_.size() - pos_) + " remain");
    const uint8_t* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint32_t u32() {
    const uint8_t* p = take(4);
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
           (static_cast<uint32_t>(p[3]) << 24);
  }
  std::string text(size_t n) {
    if (n > limits_.max_text) fail("a string of " + std::to_string(n) + " bytes exceeds the limit");
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string line() {  // a GLOBAL operand, up to '\n'
    const size_t limit = std::min(in_.size() - pos_, limits_.max_text);
    const void* nl = std::memchr(in_.data() + pos_, '\n', limit);
    if (!nl) fail("GLOBAL operand without a newline");
    const size_t n = static_cast<const uint8_t*>(nl) - (in_.data() + pos_);
    std::string s = text(n);
    ++pos_;
    return s;
  }

  // --- values
  Value* make(Kind kind) {
    if (out_.arena_.size() >= limits_.max_values)
      fail("more than " + std::to_string(limits_.max_values) + " values: not a state dict");
    Value& v = out_.arena_.emplace_back();
    v.kind = kind;
    return &v;
  }
  Value* make_int(int64_t i) {
    Value* v = make(Kind::Int);
    v->integer = i;
    return v;
  }

  // --- stack (a MARK hides what lies below it from ordinary pops)
  size_t frame_base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Value* v) {
    if (stack_.size() + marks_.size() >= limits_.max_stack)
      fail("pickle stack deeper than " + std::to_string(limits_.max_stack));
    stack_.push_back(v);
  }
  Value* pop() {
    if (stack_.size() <= frame_base()) fail(opcode_name(op_) + " on an empty stack");
    Value* v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value* top() {
    if (stack_.size() <= frame_base()) fail(opcode_name(op_) + " on an empty stack");
    return stack_.back();
  }
  std::vector<Value*> pop_to_mark() {
    if (marks_.empty()) fail(opcode_name(op_) + " without a MARK");
    const size_t base = marks_.back();
    marks_.pop_back();
    std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return items;
  }

  // --- containers
  Value* make_tuple(std::vector<Value*> items) {
    Value* t = make(Kind::Tuple);
    t->items = std::move(items);
    return t;
  }
  void set_item(Value* dict, Value* key, Value* value);
  void append(Value* list, Value* item) {
    if (list->kind != Kind::List) fail(opcode_name(op_) + " on a " + std::string(kind_name(list->kind)) + ", not a list");
    list->items.push_back(item);
  }

  // --- the allowlisted globals and their calls
  Value* global(const std::string& module, const std::string& name);
  Value* call(Value* callable, Value* args, bool newobj);
  Value* rebuild_tensor(const std::vector<Value*>& a, bool v2);
  Value* persistent_load(Value* pid);
  int64_t as_int(const Value* v, const char* what) {
    if (v->kind != Kind::Int) fail(std::string(what) + " is a " + std::string(kind_name(v->kind)) + ", not an int");
    return v->integer;
  }

  std::span<const uint8_t> in_;
  const std::string& path_;
  const std::string& where_;
  size_t base_;
  Limits limits_;
  size_t pos_ = 0, op_pos_ = 0;
  uint8_t op_ = 0;
  Pickle out_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Value*> memo_;
  // Per dict: key signature -> position of the key in items (a hostile pickle must not
  // make SETITEMS quadratic).
  std::unordered_map<const Value*, std::unordered_map<std::string, size_t>> dict_index_;
  std::unordered_map<std::string, Value*> storages_by_key_;
};

void Unpickler::set_item(Value* dict, Value* key, Value* value) {
  if (dict->kind != Kind::Dict) fail(opcode_name(op_) + " on a " + std::string(kind_name(dict->kind)) + ", not a dict");
  std::string sig;
  switch (key->kind) {
    case Kind::None: sig = "N"; break;
    case Kind::Bool:
    case Kind::Int: sig = "I" + std::to_string(key->integer); break;  // True == 1 as a key
    case Kind::BigInt: sig = "B" + key->text; break;
    case Kind::String: sig = "S" + key->text; break;
    default: fail("a dict key of type " + std::string(kind_name(key->kind)) + " is not supported");
  }
  auto& index = dict_index_[dict];
  const auto [it, inserted] = index.emplace(std::move(sig), dict->items.size());
  if (inserted) {
    dict->items.push_back(key);
    dict->items.push_back(value);
  } else {
    dict->items[it->second + 1] = value;
  }
}

Value* Unpickler::global(const std::string& module, const std::string& name) {
  const bool storage = find_storage_class(module, name) != nullptr;
  if (!storage && find_callable(module, name) == Callable::None)
    fail("GLOBAL '" + module + "." + name +
         "' is not allowed: a state dict uses only collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
         "_rebuild_tensor, _rebuild_parameter and torch storage classes");
  Value* g = make(Kind::Global);
  g->text = module;
  g->text2 = name;
  return g;
}

Value* Unpickler::call(Value* callable, Value* args, bool newobj) {
  const std::string opname = newobj ? "NEWOBJ" : "REDUCE";
  if (callable->kind != Kind::Global) fail(opname + " on a " + std::string(kind_name(callable->kind)));
  const std::string full = callable->text + "." + callable->text2;
  if (args->kind != Kind::Tuple) fail(opname + " on " + full + " with arguments that are not a tuple");
  const Callable c = find_callable(callable->text, callable->text2);
  if (c == Callable::None || (newobj && c != Callable::OrderedDict))
    fail(opname + " on " + full + " is not allowed (only on collections.OrderedDict and torch._utils._rebuild_*)");
  const auto& a = args->items;
  switch (c) {
    case Callable::OrderedDict: {
      // OrderedDict() (Python 3) or OrderedDict([[key, value], ...]) (Python 2's pickles).
      if (a.size() > 1 || (a.size() == 1 && a[0]->kind != Kind::List && a[0]->kind != Kind::Tuple))
        fail(opname + " on collections.OrderedDict with arguments other than a list of pairs");
      Value* d = make(Kind::Dict);
      d->ordered = true;
      if (a.size() == 1) {
        for (const Value* pair : a[0]->items) {
          if ((pair->kind != Kind::List && pair->kind != Kind::Tuple) || pair->items.size() != 2)
            fail("collections.OrderedDict built from an item that is not a (key, value) pair");
          set_item(d, pair->items[0], pair->items[1]);
        }
      }
      return d;
    }
    case Callable::RebuildTensorV2:
      if (a.size() != 6 && a.size() != 7)
        fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(a.size()));
      if (a[4]->kind != Kind::Bool) fail("_rebuild_tensor_v2: requires_grad is not a bool");
      if (a[5]->kind != Kind::Dict) fail("_rebuild_tensor_v2: backward_hooks is not a dict");
      if (a.size() == 7 && a[6]->kind != Kind::None && a[6]->kind != Kind::Dict)
        fail("_rebuild_tensor_v2: metadata is not None or a dict");
      return rebuild_tensor(a, true);
    case Callable::RebuildTensor:
      if (a.size() != 4) fail("_rebuild_tensor takes 4 arguments, got " + std::to_string(a.size()));
      return rebuild_tensor(a, false);
    case Callable::RebuildParameter:
      if (a.size() != 3) fail("_rebuild_parameter takes 3 arguments, got " + std::to_string(a.size()));
      if (a[0]->kind != Kind::Tensor) fail("_rebuild_parameter on a " + std::string(kind_name(a[0]->kind)));
      if (a[1]->kind != Kind::Bool) fail("_rebuild_parameter: requires_grad is not a bool");
      if (a[2]->kind != Kind::Dict) fail("_rebuild_parameter: backward_hooks is not a dict");
      return a[0];
    case Callable::None: break;
  }
  fail(opname + " on " + full);
}

// (storage, storage_offset, size, stride, ...) -> a Tensor value, after checking that the
// elements it addresses, offset + sum((size_k - 1) * stride_k), lie inside the storage.
Value* Unpickler::rebuild_tensor(const std::vector<Value*>& a, bool v2) {
  const std::string fn = v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor";
  const Value* storage = a[0];
  if (storage->kind != Kind::Storage) fail(fn + ": the first argument is a " + std::string(kind_name(storage->kind)) + ", not a storage");
  const int64_t offset = as_int(a[1], "storage_offset");
  if (a[2]->kind != Kind::Tuple || a[3]->kind != Kind::Tuple) fail(fn + ": size and stride must be tuples");
  const auto& size = a[2]->items;
  const auto& stride = a[3]->items;
  if (size.size() != stride.size())
    fail(fn + ": size has " + std::to_string(size.size()) + " dimensions but stride " + std::to_string(stride.size()));
  if (size.size() > 64) fail(fn + ": " + std::to_string(size.size()) + " dimensions");
  if (offset < 0) fail(fn + ": negative storage offset " + std::to_string(offset));
  Value* t = make(Kind::Tensor);
  t->items = {a[0]};
  t->integer = offset;
  int64_t numel = 1, last = offset;
  bool overflow = false;
  for (size_t k = 0; k < size.size(); ++k) {
    const int64_t n = as_int(size[k], "a tensor size"), s = as_int(stride[k], "a tensor stride");
    if (n < 0) fail(fn + ": negative size " + std::to_string(n));
    if (s < 0) fail(fn + ": negative stride " + std::to_string(s) + " (not supported)");
    t->dims.push_back(n);
    int64_t step = 0;
    overflow |= __builtin_mul_overflow(numel, n, &numel);
    if (n > 0) overflow |= __builtin_mul_overflow(n - 1, s, &step) || __builtin_add_overflow(last, step, &last);
  }
  for (const Value* s : stride) t->dims.push_back(s->integer);
  const int64_t storage_numel = storage->integer;
  if (overflow) fail(fn + ": size and stride overflow 64-bit arithmetic");
  if (numel > 0 ? last >= storage_numel : offset > storage_numel)
    fail(fn + ": the tensor addresses element " + std::to_string(numel > 0 ? last : offset) + " of storage '" +
         storage->text + "', which has " + std::to_string(storage_numel) + " elements");
  return t;
}

// ('storage', storage class, key, location, numel[, view_metadata None]) -> the storage
// with that key (one value per key, so that tensors sharing a storage share it here too).
Value* Unpickler::persistent_load(Value* pid) {
  if (pid->kind != Kind::Tuple) fail("persistent id is a " + std::string(kind_name(pid->kind)) + ", not a tuple");
  const auto& p = pid->items;
  if (p.size() != 5 && p.size() != 6)
    fail("persistent id has " + std::to_string(p.size()) + " entries, not ('storage', type, key, location, numel[, None])");
  if (p[0]->kind != Kind::String || p[0]->text != "storage") fail("persistent id does not start with 'storage'");
  if (p[1]->kind != Kind::Global) fail("persistent id: the storage type is not a storage class");
  const StorageClass* cls = find_storage_class(p[1]->text, p[1]->text2);
  if (!cls) fail("persistent id: '" + p[1]->text + "." + p[1]->text2 + "' is not a storage class");
  if (p[2]->kind != Kind::String || p[3]->kind != Kind::String)
    fail("persistent id: the storage key and location must be strings");
  const int64_t numel = as_int(p[4], "the storage's element count");
  if (numel < 0) fail("persistent id: negative element count " + std::to_string(numel));
  if (p.size() == 6 && p[5]->kind != Kind::None)
    fail("persistent id: storage views (view_metadata, PyTorch < 0.4) are not supported");
  const std::string& key = p[2]->text;
  if (auto it = storages_by_key_.find(key); it != storages_by_key_.end()) {
    Value* s = it->second;
    if (s->storage_type != cls->type || s->integer != numel)
      fail("storage '" + key + "' is named twice with different types or sizes");
    return s;
  }
  Value* s = make(Kind::Storage);
  s->storage_type = cls->type;
  s->integer = numel;
  s->text = key;
  s->text2 = p[3]->text;
  storages_by_key_.emplace(key, s);
  out_.storages_.push_back(s);
  return s;
}

Pickle Unpickler::run() {
  while (true) {
    op_pos_ = pos_;
    if (pos_ >= in_.size()) fail("truncated: the pickle ends without STOP");
    op_ = in_[pos_++];
    switch (op_) {
      case 0x80: {  // PROTO
        const uint8_t proto = *take(1);
        if (proto > 5) fail("pickle protocol " + std::to_string(proto) + " is unknown");
        break;
      }
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1)
          fail("STOP with " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) +
               " marks on the stack (expected one value)");
        out_.root_ = stack_.back();
        out_.end_ = pos_;
        return std::move(out_);
      }
      case '(':  // MARK
        if (stack_.size() + marks_.size() >= limits_.max_stack)
          fail("pickle stack deeper than " + std::to_string(limits_.max_stack));
        marks_.push_back(stack_.size());
        break;
      case '}': push(make(Kind::Dict)); break;
      case ']': push(make(Kind::List)); break;
      case ')': push(make_tuple({})); break;
      case 't': push(make_tuple(pop_to_mark())); break;
      case 0x85: {
        Value* a = pop();
        push(make_tuple({a}));
        break;
      }
      case 0x86: {
        Value* b = pop();
        Value* a = pop();
        push(make_tuple({a, b}));
        break;
      }
      case 0x87: {
        Value* c = pop();
        Value* b = pop();
        Value* a = pop();
        push(make_tuple({a, b, c}));
        break;
      }
      case 'q':
      case 'r': {  // BINPUT, LONG_BINPUT
        const uint32_t i = op_ == 'q' ? *take(1) : u32();
        Value* v = top();
        if (!memo_.count(i) && memo_.size() >= limits_.max_memo)
          fail("more than " + std::to_string(limits_.max_memo) + " memo entries");
        memo_[i] = v;
        break;
      }
      case 'h':
      case 'j': {  // BINGET, LONG_BINGET
        const uint32_t i = op_ == 'h' ? *take(1) : u32();
        const auto it = memo_.find(i);
        if (it == memo_.end()) fail("memo entry " + std::to_string(i) + " was never stored");
        push(it->second);
        break;
      }
      case 'J': push(make_int(static_cast<int32_t>(u32()))); break;
      case 'K': push(make_int(*take(1))); break;
      case 'M': {
        const uint8_t* p = take(2);
        push(make_int(p[0] | (p[1] << 8)));
        break;
      }
      case 0x8a: {  // LONG1: n bytes of little-endian two's complement
        const uint8_t n = *take(1);
        const uint8_t* p = take(n);
        // Drop redundant sign bytes; what fits in 64 bits is an Int, the rest a BigInt.
        size_t len = n;
        while (len > 1 && ((p[len - 1] == 0 && !(p[len - 2] & 0x80)) || (p[len - 1] == 0xFF && (p[len - 2] & 0x80)))) --len;
        if (len <= 8) {
          uint64_t u = (len > 0 && (p[len - 1] & 0x80)) ? ~uint64_t{0} : 0;
          for (size_t i = 0; i < len; ++i) u = (u & ~(uint64_t{0xFF} << (8 * i))) | (uint64_t{p[i]} << (8 * i));
          push(make_int(static_cast<int64_t>(u)));
        } else {
          Value* v = make(Kind::BigInt);
          v->text.assign(reinterpret_cast<const char*>(p), len);
          push(v);
        }
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const uint8_t* p = take(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | p[i];
        Value* v = make(Kind::Float);
        v->real = std::bit_cast<double>(u);
        push(v);
        break;
      }
      case 'X': {  // BINUNICODE: UTF-8
        const uint32_t n = u32();
        Value* v = make(Kind::String);
        v->text = text(n);
        push(v);
        break;
      }
      case 'U':
      case 'T': {  // SHORT_BINSTRING, BINSTRING: Python 2 str, read as latin-1
        const int64_t n = op_ == 'U' ? int64_t{*take(1)} : int64_t{static_cast<int32_t>(u32())};
        if (n < 0) fail("BINSTRING with negative length " + std::to_string(n));
        Value* v = make(Kind::String);
        v->text = latin1_to_utf8(text(static_cast<size_t>(n)));
        push(v);
        break;
      }
      case 'N': push(make(Kind::None)); break;
      case 0x88:
      case 0x89: {
        Value* v = make(Kind::Bool);
        v->integer = op_ == 0x88;
        push(v);
        break;
      }
      case 'c': {
        const std::string module = line();
        const std::string name = line();
        push(global(module, name));
        break;
      }
      case 'R':
      case 0x81: {  // REDUCE, NEWOBJ
        Value* args = pop();
        Value* callable = pop();
        push(call(callable, args, op_ == 0x81));
        break;
      }
      case 'b': {  // BUILD: only an OrderedDict's state (its _metadata), which we ignore
        pop();
        Value* target = top();
        if (target->kind != Kind::Dict || !target->ordered)
          fail("BUILD on a " + std::string(kind_name(target->kind)) + " (only on an OrderedDict)");
        break;
      }
      case 's': {
        Value* value = pop();
        Value* key = pop();
        set_item(top(), key, value);
        break;
      }
      case 'u': {
        std::vector<Value*> items = pop_to_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of values");
        Value* dict = top();
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case 'a': {
        Value* item = pop();
        append(top(), item);
        break;
      }
      case 'e': {
        std::vector<Value*> items = pop_to_mark();
        Value* list = top();
        for (Value* item : items) append(list, item);
        break;
      }
      case 'Q': push(persistent_load(pop())); break;
      default: fail("pickle opcode " + opcode_name(op_) + " is not allowed in a state dict");
    }
  }
}

Pickle unpickle(std::span<const uint8_t> bytes, const std::string& path, const std::string& where, size_t base_offset,
                const Limits& limits) {
  return Unpickler(bytes, path, where, base_offset, limits).run();
}

namespace {

void append_text(const Value& v, int depth, bool quote, size_t max_chars, std::string& out) {
  if (out.size() >= max_chars) return;
  if (depth > 8) {
    out += "...";
    return;
  }
  auto seq = [&](const char* open, const char* close, size_t step) {
    out += open;
    for (size_t i = 0; i < v.items.size() && out.size() < max_chars; i += step) {
      if (i) out += ", ";
      append_text(*v.items[i], depth + 1, true, max_chars, out);
      if (step == 2) {
        out += ": ";
        append_text(*v.items[i + 1], depth + 1, true, max_chars, out);
      }
    }
    if (v.kind == Kind::Tuple && v.items.size() == 1) out += ",";
    out += close;
  };
  switch (v.kind) {
    case Kind::None: out += "None"; break;
    case Kind::Bool: out += v.integer ? "True" : "False"; break;
    case Kind::Int: out += std::to_string(v.integer); break;
    case Kind::BigInt: out += big_int_text(v.text); break;
    case Kind::Float: out += float_text(v.real); break;
    case Kind::String: out += quote ? "'" + v.text + "'" : v.text; break;
    case Kind::Tuple: seq("(", ")", 1); break;
    case Kind::List: seq("[", "]", 1); break;
    case Kind::Dict: seq("{", "}", 2); break;
    case Kind::Global: out += v.text + "." + v.text2; break;
    case Kind::Storage:
      out += std::string(storage_type_name(v.storage_type)) + "Storage(" + std::to_string(v.integer) + ")";
      break;
    case Kind::Tensor: {
      out += "tensor(" + std::string(storage_type_name(v.tensor_storage().storage_type)) + ", [";
      for (size_t k = 0; k < v.tensor_ndim(); ++k) out += (k ? ", " : "") + std::to_string(v.dims[k]);
      out += "])";
      break;
    }
  }
}

}  // namespace

std::string to_text(const Value& v, size_t max_chars) {
  std::string out;
  append_text(v, 0, false, max_chars, out);
  if (out.size() > max_chars) {
    size_t cut = max_chars;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    out.resize(cut);
    out += "...";
  }
  return out;
}

}  // namespace hl::torch_pickle
