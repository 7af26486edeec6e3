#include "pipeline/fold_trainer.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "engine/evaluation.h"

namespace hl::fold_training {
namespace {

namespace fs = std::filesystem;

uint64_t fold_seed(uint64_t seed, int fold) { return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(fold) + 1; }

SegmentScores labels_of(const SegmentDataset& data, const std::vector<size_t>& indices) {
  std::vector<float> labels;
  for (size_t i : indices) labels.push_back(data.segment(i).label);
  return group_by_video(data, indices, labels);
}

}  // namespace

uint64_t stream_id(Stream s, int fold, int epoch) {
  return (static_cast<uint64_t>(s) << 24) | (static_cast<uint64_t>(fold) << 12) | static_cast<uint64_t>(epoch);
}

FoldRun begin_fold(const TrainConfig& config, const FoldPlan& plan, const std::string& fold_dir,
                   const SegmentDataset& data, const InputRecord& inputs) {
  fs::create_directories(fold_dir);
  FoldRun run{(fs::path(fold_dir) / "checkpoint.safetensors").string(),
              (fs::path(fold_dir) / "model.safetensors").string(), (fs::path(fold_dir) / "test.pred.csv").string(),
              config.fingerprint() + " fold=" + std::to_string(plan.fold),
              inputs.labels.empty() ? record_labels(data, inputs.labels_name) : inputs, fold_seed(config.seed, plan.fold)};
  run.inputs.fold = fold_digest(plan);
  return run;
}

std::vector<size_t> segments_of(const SegmentDataset& data, const std::vector<std::string>& videos) {
  std::map<std::string, int> wanted;
  for (const auto& v : videos) wanted[v] = 1;
  std::vector<size_t> out;
  for (size_t i = 0; i < data.size(); ++i)
    if (wanted.count(data.videos()[static_cast<size_t>(data.segment(i).video)])) out.push_back(i);
  return out;
}

SegmentScores group_by_video(const SegmentDataset& data, const std::vector<size_t>& indices,
                             const std::vector<float>& scores) {
  SegmentScores out;
  for (size_t i = 0; i < indices.size(); ++i) {
    const SegmentRef& ref = data.segment(indices[i]);
    auto& v = out[data.videos()[static_cast<size_t>(ref.video)]];
    if (static_cast<int64_t>(v.size()) != ref.segment) throw Error("internal: segments out of order");
    v.push_back(scores[i]);
  }
  return out;
}

double validation_score(const std::function<std::vector<float>(const std::vector<size_t>&)>& predict,
                        const SegmentDataset& data, const std::vector<size_t>& validation, const TrainConfig& config) {
  if (validation.empty()) return NAN;
  const SegmentScores preds = group_by_video(data, validation, predict(validation));
  const Evaluation ev = evaluate_rankings(labels_of(data, validation), preds, {config.selection_k});
  return ev.mean_of("ndcg@" + std::to_string(config.selection_k));
}

void copy_parameters(const std::vector<NamedParameter>& from, const std::vector<NamedParameter>& to) {
  for (const NamedParameter& p : to) {
    const auto it = std::find_if(from.begin(), from.end(), [&](const NamedParameter& q) { return q.name == p.name; });
    if (it == from.end()) throw Error("fine-tuning: the initial model has no parameter '" + p.name + "'");
    ag::Variable v = p.value;
    v.value_mut().copy_from(it->value.value());
  }
}

void check_fine_tuning_normalisation(const TrainConfig& config, const InputNormalisation& init) {
  if (config.normalise && !init.enabled())
    throw FormatError(config.init_model, "it was trained without input normalisation; fine-tune it with --normalise off");
  if (!config.normalise && init.enabled())
    throw FormatError(config.init_model, "it was trained on standardised inputs, whose statistics fine-tuning keeps; "
                                         "fine-tune it with --normalise on");
}

void move_parameters(const std::vector<NamedParameter>& params, Device device) {
  for (const NamedParameter& p : params) {
    ag::Variable v = p.value;
    if (v.value().device() != device) v.value_mut() = v.value().to(device);
  }
}

Device parameter_device(const std::vector<NamedParameter>& params) {
  return params.empty() ? Device::cpu() : params.front().value.value().device();
}

optim::Adam make_adam(const std::vector<ag::Variable>& params, const TrainConfig& config) {
  return optim::Adam(params,
                     optim::AdamHyper{.lr = config.lr, .eps = config.adam_eps, .weight_decay = config.weight_decay});
}

void maybe_simulate_kill(int fold, int epoch, int step) {
  static const char* spec = std::getenv("HL_TEST_KILL_AT");
  if (spec == nullptr) return;
  int f = -1, e = -1, s = -1;
  if (std::sscanf(spec, "%d:%d:%d", &f, &e, &s) == 3 && f == fold && e == epoch && s == step) std::_Exit(137);
}

}  // namespace hl::fold_training
