#include "pipeline/run_inputs.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "engine/sha256.h"
#include "pipeline/checkpoint.h"
#include "pipeline/feature_file.h"
#include "pipeline/trainer.h"

namespace hl {
namespace {

using nlohmann::json;

// 16 hex digits (64 bits) of SHA-256: a record of thousands of videos stays small, and an
// accidental match of a changed input is a 2^-64 event.
std::string short_digest(Sha256& h) { return h.hex_digest().substr(0, 16); }

// What the run reads of a feature file: for each used feature its tensor's name, type,
// shape and first and last kSampleBytes (a rewrite with other values changes them; the
// rows between are not read: hashing every byte would read the whole dataset), and the
// metadata (frame rate, frames, the source's SHA-256, hl-synth's seed and strengths...)
// but for the list of features and the keys of unused features ("places365.weights"),
// so that adding another feature to the files does not change the digest.
std::string feature_file_digest(const std::string& path, const std::vector<Feature>& used) {
  constexpr size_t kSampleBytes = 4096;
  const SafetensorsFile file = SafetensorsFile::open(path);
  Sha256 h;
  auto add = [&](const std::string& text) {
    const std::string line = text + "\n";
    h.update(line.data(), line.size());
  };
  for (const auto& [key, value] : file.metadata()) {
    if (key == feature_meta::kFeatures) continue;
    bool of_unused = false;
    for (Feature f : all_features()) {
      const std::string prefix = std::string(feature_spec(f).name) + ".";
      if (key.rfind(prefix, 0) == 0 && std::find(used.begin(), used.end(), f) == used.end()) of_unused = true;
    }
    if (!of_unused) add(key + "=" + value);
  }
  for (Feature f : used) {
    const std::string name = feature_spec(f).name;
    if (!file.contains(name)) continue;  // SegmentDataset::open refuses such a file first
    const SafetensorsTensorInfo& info = file.info(name);
    std::string shape;
    for (int64_t d : info.shape) shape += std::to_string(d) + ",";
    add(name + " " + std::string(info.dtype->name) + " [" + shape + "]");
    const std::span<const uint8_t> bytes = file.bytes(name);
    const size_t n = std::min(bytes.size(), kSampleBytes);
    h.update(bytes.data(), n);
    h.update(bytes.data() + bytes.size() - n, n);
  }
  return short_digest(h);
}

json string_map(const std::map<std::string, std::string>& m) {
  json o = json::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::map<std::string, std::string> read_map(const json& o) {
  std::map<std::string, std::string> m;
  for (auto it = o.begin(); it != o.end(); ++it) m[it.key()] = it.value().get<std::string>();
  return m;
}

// Phrases for `what` of each video that is new, gone or different between the maps.
void compare(const std::map<std::string, std::string>& then, const std::map<std::string, std::string>& now,
             const std::string& what, const std::string& where, std::vector<std::string>& out) {
  for (const auto& [video, digest] : now) {
    const auto it = then.find(video);
    if (it == then.end())
      out.push_back("video '" + video + "' is new in " + where);
    else if (it->second != digest)
      out.push_back(what + " of video '" + video + "' changed");
  }
  for (const auto& [video, digest] : then)
    if (!now.count(video)) out.push_back("video '" + video + "' is no longer in " + where);
}

}  // namespace

std::string InputRecord::to_json() const {
  // Not labels_name: the same labels under another path are the same inputs, and the
  // checkpoint's bytes must not depend on where they lie.
  return json{{"labels", string_map(labels)}, {"features", string_map(features)}, {"fold", fold}}.dump();
}

InputRecord InputRecord::from_json(const std::string& text, const std::string& path) {
  try {
    const json j = json::parse(text);
    InputRecord r;
    r.labels_name = "the checkpoint's labels";
    r.labels = read_map(j.at("labels"));
    r.features = read_map(j.at("features"));
    r.fold = j.at("fold").get<std::string>();
    return r;
  } catch (const json::exception& e) {
    throw FormatError(path, std::string("its record of the run's inputs is damaged (") + e.what() + ")");
  }
}

InputRecord record_labels(const SegmentDataset& data, const std::string& labels_name) {
  // Per video, the text "segment label\n" of each labelled segment, in dataset order
  // (videos in order, segments ascending), labels exactly (hexfloat).
  std::vector<std::string> text(data.videos().size());
  for (size_t i = 0; i < data.size(); ++i) {
    const SegmentRef& s = data.segment(i);
    text[static_cast<size_t>(s.video)] += std::to_string(s.segment) + " " + hexfloat(s.label) + "\n";
  }
  InputRecord r;
  r.labels_name = labels_name;
  for (size_t v = 0; v < text.size(); ++v) {
    Sha256 h;
    h.update(text[v].data(), text[v].size());
    r.labels[data.videos()[v]] = short_digest(h);
  }
  return r;
}

InputRecord record_inputs(const SegmentDataset& data, const std::string& features_dir, const std::string& labels_name) {
  InputRecord r = record_labels(data, labels_name);
  for (const std::string& video : data.videos())
    r.features[video] = feature_file_digest(feature_file_path(features_dir, video), data.features());
  return r;
}

std::string fold_digest(const FoldPlan& plan) {
  std::string text;
  for (const auto* list : {&plan.train, &plan.validation, &plan.test}) {
    for (const std::string& v : *list) text += v + "\n";
    text += "--\n";
  }
  Sha256 h;
  h.update(text.data(), text.size());
  return short_digest(h);
}

std::vector<std::string> input_changes(const InputRecord& then, const InputRecord& now) {
  std::vector<std::string> out;
  compare(then.labels, now.labels, "the labels", now.labels_name, out);
  // Labels decide which videos there are; the feature files are compared on the videos both runs have.
  if (!then.features.empty() && !now.features.empty())
    for (const auto& [video, digest] : now.features) {
      const auto it = then.features.find(video);
      if (it != then.features.end() && it->second != digest)
        out.push_back("the feature file of video '" + video + "' changed");
    }
  if (out.empty() && then.fold != now.fold)
    out.push_back("the fold's training, validation or test videos differ (another --folds, --seed or --val-fraction)");
  return out;
}

}  // namespace hl
