#include "pipeline/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <utility>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/safetensors.h"

namespace hl {

std::string hexfloat(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);  // exact round trip through text
  return buf;
}

void save_checkpoint(const std::string& path, const std::vector<NamedParameter>& params, const optim::Adam& adam,
                     const TrainingProgress& p, const std::string& fingerprint,
                     const InputNormalisation& normalisation, const InputRecord& inputs) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::string steps;
  for (size_t i = 0; i < params.size(); ++i) {
    tensors.emplace_back("param/" + params[i].name, params[i].value.value());
    tensors.emplace_back("adam_m/" + params[i].name, adam.state()[i].m);
    tensors.emplace_back("adam_v/" + params[i].name, adam.state()[i].v);
    steps += (i ? "," : "") + std::to_string(adam.state()[i].step);
  }
  std::map<std::string, std::string> metadata = {{"hl_checkpoint", "1"},
                                                 {"fingerprint", fingerprint},
                                                 {"epochs_done", std::to_string(p.epochs_done)},
                                                 {"best_epoch", std::to_string(p.best_epoch)},
                                                 {"best_validation", hexfloat(p.best_validation)},
                                                 {"dropout_offset", std::to_string(p.dropout_offset)},
                                                 {"adam_steps", steps},
                                                 {"inputs", inputs.to_json()}};
  normalisation.write(metadata, tensors);
  write_safetensors(path, tensors, metadata);
}

TrainingProgress load_checkpoint(const std::string& path, const std::vector<NamedParameter>& params,
                                 optim::Adam& adam, const std::string& fingerprint,
                                 const std::vector<Feature>& features, InputNormalisation& normalisation,
                                 const InputRecord& inputs) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto get = [&](const std::string& key) {
    const auto it = meta.find(key);
    if (it == meta.end()) throw FormatError(path, "not an hl training checkpoint (no '" + key + "' in its metadata)");
    return it->second;
  };
  if (get("hl_checkpoint") != "1") throw FormatError(path, "unknown checkpoint version");
  if (get("fingerprint") != fingerprint)
    throw FormatError(path, "the checkpoint was made with other options (" +
                                fingerprint_changes(get("fingerprint"), fingerprint) +
                                "); rerun with the same options, or without --resume to start over");
  if (meta.count("inputs") == 0) {
    HL_LOG(Warn) << path << ": written before checkpoints recorded their inputs; resuming without checking that "
                 << "the labels and feature files are those it was trained on";
  } else {
    const std::vector<std::string> changes = input_changes(InputRecord::from_json(meta.at("inputs"), path), inputs);
    if (!changes.empty()) {
      std::string what;
      const size_t shown = std::min<size_t>(changes.size(), 5);
      for (size_t i = 0; i < shown; ++i) what += (i ? "; " : "") + changes[i];
      if (changes.size() > shown) what += "; and " + std::to_string(changes.size() - shown) + " more";
      throw FormatError(path, "the run's inputs changed since the checkpoint was written: " + what +
                                  ". Resuming would mix a model trained on the old inputs with the new ones: "
                                  "restore them, or rerun without --resume (into another --out) to start over");
    }
  }
  TrainingProgress p;
  p.epochs_done = std::stoi(get("epochs_done"));
  p.best_epoch = std::stoi(get("best_epoch"));
  p.best_validation = std::strtod(get("best_validation").c_str(), nullptr);
  p.dropout_offset = std::stoull(get("dropout_offset"));
  std::vector<int64_t> steps;
  std::stringstream ss(get("adam_steps"));
  for (std::string s; std::getline(ss, s, ',');) steps.push_back(std::stoll(s));
  if (steps.size() != params.size()) throw FormatError(path, "Adam step counts do not match the model");
  auto restore = [&](const std::string& name, Tensor& dst) {
    if (!file.contains(name)) throw FormatError(path, "no tensor '" + name + "'");
    const Tensor src = file.get(name);
    if (src.shape() != dst.shape() || src.dtype() != dst.dtype())
      throw FormatError(path, "tensor '" + name + "' has the wrong shape or type");
    dst.copy_from(src);
  };
  for (size_t i = 0; i < params.size(); ++i) {
    ag::Variable v = params[i].value;
    restore("param/" + params[i].name, v.value_mut());
    restore("adam_m/" + params[i].name, adam.state()[i].m);
    restore("adam_v/" + params[i].name, adam.state()[i].v);
    adam.state()[i].step = steps[i];
  }
  normalisation = InputNormalisation::read(file, path, features);
  return p;
}

std::string fingerprint_changes(const std::string& then, const std::string& now) {
  // key=value tokens; a token without '=' (an --init path with a space) makes the split
  // unreliable, and then both are shown whole.
  auto split = [](const std::string& text, std::vector<std::pair<std::string, std::string>>& out) {
    std::stringstream ss(text);
    for (std::string token; ss >> token;) {
      const size_t eq = token.find('=');
      if (eq == std::string::npos || eq == 0) return false;
      out.emplace_back(token.substr(0, eq), token.substr(eq + 1));
    }
    return true;
  };
  std::vector<std::pair<std::string, std::string>> a, b;
  const std::string whole = "checkpoint: " + then + "; now: " + now;
  if (!split(then, a) || !split(now, b)) return whole;
  const std::map<std::string, std::string> am(a.begin(), a.end()), bm(b.begin(), b.end());
  if (am.size() != a.size() || bm.size() != b.size()) return whole;  // a repeated key
  std::string out;
  auto add = [&](const std::string& key, const std::string& x, const std::string& y) {
    out += (out.empty() ? "" : ", ") + key + " " + x + " in the checkpoint, " + y + " now";
  };
  for (const auto& [key, value] : b) {
    const auto it = am.find(key);
    if (it == am.end()) add(key, "unset", value);
    else if (it->second != value) add(key, it->second, value);
  }
  for (const auto& [key, value] : a)
    if (!bm.count(key)) add(key, value, "unset");
  return out.empty() ? whole : out;
}

}  // namespace hl
