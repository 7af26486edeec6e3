#include "pipeline/feature_file.h"

#include <filesystem>
#include <numeric>
#include <string_view>

#include "engine/error.h"
#include "engine/parse_number.h"

namespace hl {

namespace feature_meta {
std::string extractor_key(Feature f) { return std::string(feature_spec(f).name) + ".extractor"; }
std::string weights_key(Feature f) { return std::string(feature_spec(f).name) + ".weights"; }
}  // namespace feature_meta

namespace {

// *v = the whole of s as an integer; false (v untouched) when it is not one.
bool parse_i64(std::string_view s, int64_t* v) {
  const std::optional<int64_t> n = parse_integer(s);
  if (n) *v = *n;
  return n.has_value();
}

}  // namespace

std::string feature_file_path(const std::string& dir, const std::string& id) {
  return (std::filesystem::path(dir) / (id + ".safetensors")).string();
}

std::string frame_rate_string(FrameRate fps) {
  const int64_t g = std::gcd(fps.num, fps.den);
  return std::to_string(fps.num / (g ? g : 1)) + "/" + std::to_string(fps.den / (g ? g : 1));
}

FrameRate parse_frame_rate(const std::string& text) {
  FrameRate r{0, 1};
  const size_t slash = text.find('/');
  const size_t dot = text.find('.');
  bool ok = false;
  if (slash != std::string::npos) {
    ok = parse_i64(std::string_view(text).substr(0, slash), &r.num) &&
         parse_i64(std::string_view(text).substr(slash + 1), &r.den);
  } else if (dot != std::string::npos) {
    // "29.97" -> 2997/100: exact in decimal, as written.
    const std::string digits = text.substr(0, dot) + text.substr(dot + 1);
    const size_t decimals = text.size() - dot - 1;
    ok = decimals <= 9 && parse_i64(digits, &r.num);
    for (size_t i = 0; i < decimals; ++i) r.den *= 10;
  } else {
    ok = parse_i64(text, &r.num);
  }
  if (!ok || r.num <= 0 || r.den <= 0) throw Error("'" + text + "' is not a frame rate (e.g. 30000/1001 or 25)");
  return r;
}

std::map<std::string, std::string> feature_file_metadata(const std::vector<Feature>& features, FrameRate fps,
                                                         int64_t frames, std::map<std::string, std::string> extra) {
  for (const char* key : {feature_meta::kFps, feature_meta::kFrames, feature_meta::kFeatures})
    if (extra.count(key)) throw Error(std::string("feature file metadata: '") + key + "' is set by the format itself");
  extra[feature_meta::kFps] = frame_rate_string(fps);
  extra[feature_meta::kFrames] = std::to_string(frames);
  extra[feature_meta::kFeatures] = feature_list_string(features);
  return extra;
}

void write_feature_file(const std::string& path, const std::map<Feature, Tensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, Tensor>> named;  // the map's order is the paper's feature order
  for (const auto& [f, t] : tensors) named.emplace_back(feature_spec(f).name, t);
  write_safetensors(path, named, metadata);
}

FrameRate feature_file_fps(const SafetensorsFile& file, const std::string& path) {
  const auto it = file.metadata().find(feature_meta::kFps);
  if (it == file.metadata().end())
    throw FormatError(path, "no 'fps' in the metadata (a feature file from hl-extract has it)");
  FrameRate fps;
  try {
    fps = parse_frame_rate(it->second);
  } catch (const Error& e) {
    throw FormatError(path, std::string("metadata 'fps': ") + e.what());
  }
  // Reduced, a rate must fit ffmpeg's AVRational (32-bit numerator and denominator):
  // every real one does, and the segment arithmetic (frames × den, tick × num) then
  // cannot overflow for any file that fits on a disk.
  const int64_t g = std::gcd(fps.num, fps.den);
  fps = {fps.num / g, fps.den / g};
  if (fps.num > kMaxFrameRateTerm || fps.den > kMaxFrameRateTerm)
    throw FormatError(path, "metadata 'fps': " + frame_rate_string(fps) + " has a numerator or denominator above " +
                                std::to_string(kMaxFrameRateTerm) + " (reduced)");
  return fps;
}

int64_t feature_file_frames(const SafetensorsFile& file) {
  const auto it = file.metadata().find(feature_meta::kFrames);
  int64_t frames = -1;
  if (it == file.metadata().end() || !parse_i64(it->second, &frames) || frames < 1) return -1;
  return frames;
}

std::vector<int64_t> feature_tensor_shape(Feature f, int64_t frames) {
  const FeatureSpec& spec = feature_spec(f);
  std::vector<int64_t> shape = {frames * spec.rows_per_frame};
  shape.insert(shape.end(), spec.frame_shape.begin(), spec.frame_shape.end());
  return shape;
}

}  // namespace hl
