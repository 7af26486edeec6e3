// hl-inspect FILE...: what is inside weight and feature files. For each file: its
// format, metadata and every tensor with name, dtype, shape and min/max/mean, as an
// aligned table or (--json) one JSON object per file, one per line.
//
// Formats: safetensors (named so, or its ninth byte opens the JSON header) and PyTorch
// torch.save files (weights/torch_file.h: .pth/.pt/.tar/.bin, or zip/pickle magic),
// shown as "torch-zip" or "torch-legacy" with the checkpoint's non-tensor entries
// ("epoch", "arch", ...) as metadata and each tensor as the reader returns it (f64
// storages as F32, and so on). TensorFlow V2 checkpoints (weights/tf_checkpoint.h), given
// as the prefix or its .index file, are shown as "tf-checkpoint" with num_shards as
// metadata and each tensor with TensorFlow's stored dtype (F32, F64, I64, STRING, ...);
// every tensor's CRC-32C is checked as it is read for the statistics.
//
// Statistics are computed in long double (exact for every 64-bit integer, so min/max
// of I64/U64 tensors are printed exactly) over the finite values only; NaN and Inf are
// counted instead, so that one bad value does not hide what the rest look like.
// Bad files are reported as "hl-inspect: error: <file>: <problem>" and the other files
// are still inspected; the exit code is 1 when any file failed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "kernels/common/half.h"
#include "tools/cli_common.h"
#include "weights/tf_checkpoint.h"
#include "weights/torch_file.h"

namespace {

constexpr const char* kSupported =
    "safetensors (.safetensors), PyTorch torch.save files (.pth, .pt, .tar, .bin; zip or legacy format), "
    "TensorFlow V2 checkpoints (the prefix, or its .index file)";

// ---------------------------------------------------------------------------------
// Statistics

struct Stats {
  bool computable = false;  // false: a dtype we do not decode ("-" in the table)
  bool integral = false;    // print min/max as integers
  int64_t finite = 0, nan = 0, inf = 0;
  long double min = 0, max = 0, mean = 0;
};

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // the data need not be aligned
  return v;
}

// 8-bit float formats of the OCP spec: E4M3 (FN: no inf, S.1111.111 is NaN), E5M2
// (IEEE-like: the top byte of an f16) and E8M0 (scale: 2^(e-127), 0xFF is NaN).
float f8_e4m3_to_f32(uint8_t b) {
  const int sign = b >> 7, exp = (b >> 3) & 15, mant = b & 7;
  if (exp == 15 && mant == 7) return NAN;
  const float v = exp == 0 ? std::ldexp(mant / 8.0f, -6) : std::ldexp(1.0f + mant / 8.0f, exp - 7);
  return sign ? -v : v;
}
float f8_e5m2_to_f32(uint8_t b) { return hl::f16_bits_to_f32(static_cast<uint16_t>(b << 8)); }
float f8_e8m0_to_f32(uint8_t b) { return b == 0xFF ? NAN : std::ldexp(1.0f, b - 127); }

// One decoder per dtype name: element size in bytes and how to read one element.
struct Decoder {
  std::string_view name;
  size_t size;
  bool integral;
  long double (*read)(const uint8_t*);
};

const Decoder kDecoders[] = {
    {"F32", 4, false, [](const uint8_t* p) -> long double { return load<float>(p); }},
    {"F64", 8, false, [](const uint8_t* p) -> long double { return load<double>(p); }},
    {"F16", 2, false, [](const uint8_t* p) -> long double { return hl::f16_bits_to_f32(load<uint16_t>(p)); }},
    {"BF16", 2, false, [](const uint8_t* p) -> long double { return hl::bf16_bits_to_f32(load<uint16_t>(p)); }},
    {"F8_E4M3", 1, false, [](const uint8_t* p) -> long double { return f8_e4m3_to_f32(*p); }},
    {"F8_E5M2", 1, false, [](const uint8_t* p) -> long double { return f8_e5m2_to_f32(*p); }},
    {"F8_E8M0", 1, false, [](const uint8_t* p) -> long double { return f8_e8m0_to_f32(*p); }},
    {"BOOL", 1, true, [](const uint8_t* p) -> long double { return *p != 0; }},
    {"U8", 1, true, [](const uint8_t* p) -> long double { return *p; }},
    {"I8", 1, true, [](const uint8_t* p) -> long double { return load<int8_t>(p); }},
    {"I16", 2, true, [](const uint8_t* p) -> long double { return load<int16_t>(p); }},
    {"U16", 2, true, [](const uint8_t* p) -> long double { return load<uint16_t>(p); }},
    {"I32", 4, true, [](const uint8_t* p) -> long double { return load<int32_t>(p); }},
    {"U32", 4, true, [](const uint8_t* p) -> long double { return load<uint32_t>(p); }},
    {"I64", 8, true, [](const uint8_t* p) -> long double { return load<int64_t>(p); }},
    {"U64", 8, true, [](const uint8_t* p) -> long double { return load<uint64_t>(p); }},
};

Stats compute_stats(std::string_view dtype, std::span<const uint8_t> bytes) {
  Stats s;
  const Decoder* d = nullptr;
  for (const auto& candidate : kDecoders)
    if (candidate.name == dtype) d = &candidate;
  if (!d) return s;
  s.computable = true;
  s.integral = d->integral;
  // Neumaier summation: the mean of millions of f32 values stays accurate.
  long double sum = 0, comp = 0;
  for (size_t i = 0; i + d->size <= bytes.size(); i += d->size) {
    const long double v = d->read(bytes.data() + i);
    if (std::isnan(v)) {
      ++s.nan;
      continue;
    }
    if (std::isinf(v)) {
      ++s.inf;
      continue;
    }
    if (s.finite == 0 || v < s.min) s.min = v;
    if (s.finite == 0 || v > s.max) s.max = v;
    const long double t = sum + v;
    comp += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
    ++s.finite;
  }
  if (s.finite > 0) s.mean = (sum + comp) / static_cast<long double>(s.finite);
  return s;
}

std::string format_value(long double v, bool integral) {
  char buf[64];
  if (integral)
    std::snprintf(buf, sizeof buf, "%.0Lf", v);
  else
    std::snprintf(buf, sizeof buf, "%.6Lg", v);
  return buf;
}

nlohmann::json json_value(long double v, bool integral) {
  if (integral) {
    if (v < 0) return static_cast<int64_t>(v);
    return static_cast<uint64_t>(v);
  }
  return static_cast<double>(v);
}

// ---------------------------------------------------------------------------------
// What is shown of a file, whatever its format

struct TensorRow {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  Stats stats;
};

struct Inspected {
  std::string path;
  std::string format;  // "safetensors", "torch-zip", "torch-legacy", "tf-checkpoint"
  uint64_t file_size = 0;
  std::map<std::string, std::string> metadata;
  std::vector<TensorRow> tensors;  // in file order
};

// ---------------------------------------------------------------------------------
// Output

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Header text is any UTF-8: escape control characters so that it cannot move the cursor.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Display width of UTF-8 text: code points, not bytes (no wide-character tables).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void print_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right_aligned) {
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width(row[c]));
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - width(row[c]), ' ');
      const bool last = c + 1 == row.size();
      line += right_aligned[c] ? pad + row[c] : row[c] + (last ? "" : pad);
      if (!last) line += "  ";
    }
    std::printf("%s\n", line.c_str());
  }
}

void print_text(const Inspected& file) {
  const auto& tensors = file.tensors;
  std::printf("%s: %s, %zu tensor%s, %llu bytes\n", printable(file.path).c_str(), file.format.c_str(), tensors.size(),
              tensors.size() == 1 ? "" : "s", static_cast<unsigned long long>(file.file_size));
  if (!file.metadata.empty()) {
    std::printf("metadata:\n");
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : file.metadata) rows.push_back({"  " + printable(k), printable(v)});
    print_table(rows, {false, false});
  }
  if (tensors.empty()) return;
  bool any_nonfinite = false;
  for (const auto& t : tensors) any_nonfinite |= t.stats.nan > 0 || t.stats.inf > 0;
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"name", "dtype", "shape", "min", "max", "mean"});
  if (any_nonfinite) rows[0].insert(rows[0].end(), {"nan", "inf"});
  for (const auto& t : tensors) {
    const Stats& s = t.stats;
    std::vector<std::string> row = {printable(t.name), t.dtype, shape_text(t.shape)};
    if (s.computable && s.finite > 0) {
      row.push_back(format_value(s.min, s.integral));
      row.push_back(format_value(s.max, s.integral));
      row.push_back(format_value(s.mean, false));
    } else {
      row.insert(row.end(), {"-", "-", "-"});
    }
    if (any_nonfinite) {
      row.push_back(s.computable ? std::to_string(s.nan) : "-");
      row.push_back(s.computable ? std::to_string(s.inf) : "-");
    }
    rows.push_back(std::move(row));
  }
  std::vector<bool> right(rows[0].size(), true);
  right[0] = right[1] = right[2] = false;
  print_table(rows, right);
}

void print_json(const Inspected& file) {
  nlohmann::ordered_json out;
  out["file"] = file.path;
  out["format"] = file.format;
  out["metadata"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : file.metadata) out["metadata"][k] = v;
  out["tensors"] = nlohmann::ordered_json::array();
  for (const auto& t : file.tensors) {
    const Stats& s = t.stats;
    const bool have = s.computable && s.finite > 0;
    nlohmann::ordered_json j;
    j["name"] = t.name;
    j["dtype"] = t.dtype;
    j["shape"] = t.shape;
    j["min"] = have ? json_value(s.min, s.integral) : nlohmann::json();
    j["max"] = have ? json_value(s.max, s.integral) : nlohmann::json();
    j["mean"] = have ? nlohmann::json(static_cast<double>(s.mean)) : nlohmann::json();
    j["nan_count"] = s.computable ? nlohmann::json(s.nan) : nlohmann::json();
    j["inf_count"] = s.computable ? nlohmann::json(s.inf) : nlohmann::json();
    out["tensors"].push_back(std::move(j));
  }
  // A file path or a tensor name need not be valid UTF-8 in every file system; replace
  // bad bytes rather than fail.
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

// ---------------------------------------------------------------------------------
// Formats

// What a file that is not safetensors most likely is, from its first bytes.
std::optional<std::string> other_format(const uint8_t* head, size_t n) {
  auto starts = [&](const char* magic, size_t len) { return n >= len && std::memcmp(head, magic, len) == 0; };
  if (starts("PK", 2)) return "a zip archive";
  if (starts("\x80", 1)) return "a Python pickle of a protocol other than 2";
  if (starts("\x93NUMPY", 6)) return "a NumPy .npy file";
  if (starts("\x89HDF\r\n\x1a\n", 8)) return "an HDF5 file";
  return std::nullopt;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A file is read as safetensors when it is named so, or when its ninth byte opens the
// JSON header; then every problem is reported by the safetensors validator.
bool looks_like_safetensors(const std::string& path, const uint8_t* head, size_t n) {
  return has_suffix(path, ".safetensors") || (n >= 9 && head[8] == '{');
}

// Reads and checks one file completely before anything of it is printed.
Inspected inspect_file(const std::string& path) {
  // A directory opens and reads as nothing: say what it is, not "unknown file format".
  std::error_code dir_error;
  if (std::filesystem::is_directory(path, dir_error))
    throw hl::FormatError(path, "is a directory; give the files inside it (e.g. " +
                                    (std::filesystem::path(path) / "*.safetensors").string() + ")");
  // A TensorFlow checkpoint is named by its prefix, which is no file itself.
  if (hl::looks_like_tf_checkpoint(path)) {
    const hl::TfCheckpoint ckpt = hl::TfCheckpoint::open(path);
    Inspected out;
    out.path = path;
    out.format = "tf-checkpoint";
    out.file_size = ckpt.total_bytes();
    out.metadata["num_shards"] = std::to_string(ckpt.num_shards());
    for (const auto& t : ckpt.tensors()) {
      // Resources and variants have encodings of their own: listed, not read.
      const bool readable = t.dtype_name != "RESOURCE" && t.dtype_name != "VARIANT";
      const std::vector<uint8_t> bytes = readable ? ckpt.read_bytes(t.name) : std::vector<uint8_t>{};
      out.tensors.push_back({t.name, t.dtype_name, t.shape, compute_stats(t.dtype_name, bytes)});
    }
    return out;
  }
  uint8_t head[16] = {};
  size_t n = 0;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    const ssize_t r = ::read(fd, head, sizeof head);
    n = r > 0 ? static_cast<size_t>(r) : 0;
    ::close(fd);
  }
  Inspected out;
  out.path = path;
  // Unreadable files (missing, no permission, ...) go to the safetensors reader, which says why.
  if (fd < 0 || looks_like_safetensors(path, head, n)) {
    const hl::SafetensorsFile file = hl::SafetensorsFile::open(path);
    out.format = "safetensors";
    out.file_size = file.file_size();
    out.metadata = file.metadata();
    for (const auto& t : file.tensors())
      out.tensors.push_back({t.name, std::string(t.dtype->name), t.shape, compute_stats(t.dtype->name, file.bytes(t.name))});
    return out;
  }
  if (hl::looks_like_torch_file(path)) {
    const hl::TorchFile file = hl::read_torch_file(path);
    out.format = "torch-" + file.format;
    std::error_code ec;
    out.file_size = std::filesystem::file_size(path, ec);
    out.metadata = file.other;
    for (const auto& [name, t] : file.tensors) {
      const std::string_view dtype = hl::dtype_name(t.dtype());
      const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(t.raw()), t.nbytes());
      out.tensors.push_back({name, std::string(dtype), t.shape().vec(), compute_stats(dtype, bytes)});
    }
    return out;
  }
  const auto other = other_format(head, n);
  throw hl::FormatError(path, (other ? "this looks like " + *other + ", which hl-inspect does not read yet"
                                     : std::string("unknown file format")) +
                                  "; supported formats: " + kSupported);
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("inspect",
                     "Print the metadata and every tensor (name, dtype, shape, min/max/mean) of weight and "
                     "feature files.\nSupported formats: " + std::string(kSupported) +
                         ".\nStatistics cover the finite values; NaN and Inf are counted separately. "
                         "\"-\" marks a statistic that cannot be computed (no finite values, or a packed "
                         "dtype such as F4).");
  std::vector<std::string> files;
  bool json = false;
  tool.app().add_option("FILE", files, "files to inspect")->required();
  tool.app().add_flag("--json", json,
                      "print one JSON object per file and line: {\"file\", \"format\", \"metadata\": {...}, "
                      "\"tensors\": [{\"name\", \"dtype\", \"shape\", \"min\", \"max\", \"mean\", "
                      "\"nan_count\", \"inf_count\"}]} (null where a value cannot be computed)");
  tool.app().footer("Exit status: 0 when every file was read, 1 when any was not (each such file is named on "
                    "stderr with its problem), 2 for a wrong command line.");
  return tool.run(argc, argv, [&] {
    bool ok = true, printed = false;
    for (const auto& path : files) {
      try {
        const Inspected in = inspect_file(path);
        if (json) {
          print_json(in);
        } else {
          if (printed) std::printf("\n");  // a blank line between files
          print_text(in);
        }
        printed = true;
      } catch (const hl::Error& e) {
        tool.print_error(e.what());
        ok = false;
      }
    }
    return ok ? 0 : hl::cli::kExitFailure;
  });
}
