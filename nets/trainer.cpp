#include "nets/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "engine/atomic_file.h"
#include "engine/autograd/loss.h"
#include "engine/error.h"
#include "engine/log.h"
#include "engine/optim/adam.h"
#include "engine/progress.h"
#include "engine/safetensors.h"
#include "engine/shuffle.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

// Philox stream numbers of the draws, per purpose; (fold, epoch) make them unique.
enum Stream : uint64_t { kValidationSplit = 1, kEpochOrder = 2, kPairs = 3 };
uint64_t stream_id(Stream s, int fold, int epoch) {
  return (static_cast<uint64_t>(s) << 24) | (static_cast<uint64_t>(fold) << 12) | static_cast<uint64_t>(epoch);
}
uint64_t fold_seed(uint64_t seed, int fold) { return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(fold) + 1; }

std::string hexfloat(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);  // exact round trip through text
  return buf;
}
double parse_double(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

// Segment indices of `data` for the given videos, in video then segment order.
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

SegmentScores labels_of(const SegmentDataset& data, const std::vector<size_t>& indices) {
  std::vector<float> labels;
  for (size_t i : indices) labels.push_back(data.segment(i).label);
  return group_by_video(data, indices, labels);
}

double validation_score(const HighlightModel& model, const SegmentDataset& data, const std::vector<size_t>& val,
                        const TrainConfig& config) {
  if (val.empty()) return NAN;
  const SegmentScores preds = group_by_video(data, val, predict_segments(model, data, val, config.batch));
  const Evaluation ev = evaluate_rankings(labels_of(data, val), preds, {config.selection_k});
  return ev.mean_of("ndcg@" + std::to_string(config.selection_k));
}

// Everything an epoch boundary must carry over, beyond the model and Adam.
struct Progress {
  int epochs_done = 0;
  int best_epoch = 0;
  double best_validation = -INFINITY;
  uint64_t dropout_offset = 0;
};

void save_checkpoint(const std::string& path, const HighlightModel& model, const optim::Adam& adam,
                     const Progress& p, const std::string& fingerprint) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::string steps;
  const auto& params = model.named_parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    tensors.emplace_back("param/" + params[i].name, params[i].value.value());
    tensors.emplace_back("adam_m/" + params[i].name, adam.state()[i].m);
    tensors.emplace_back("adam_v/" + params[i].name, adam.state()[i].v);
    steps += (i ? "," : "") + std::to_string(adam.state()[i].step);
  }
  write_safetensors(path, tensors,
                    {{"hl_checkpoint", "1"},
                     {"fingerprint", fingerprint},
                     {"epochs_done", std::to_string(p.epochs_done)},
                     {"best_epoch", std::to_string(p.best_epoch)},
                     {"best_validation", hexfloat(p.best_validation)},
                     {"dropout_offset", std::to_string(p.dropout_offset)},
                     {"adam_steps", steps}});
}

Progress load_checkpoint(const std::string& path, HighlightModel& model, optim::Adam& adam,
                         const std::string& fingerprint) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto get = [&](const std::string& key) {
    const auto it = meta.find(key);
    if (it == meta.end()) throw FormatError(path, "not an hl training checkpoint (no '" + key + "' in its metadata)");
    return it->second;
  };
  if (get("hl_checkpoint") != "1") throw FormatError(path, "unknown checkpoint version");
  if (get("fingerprint") != fingerprint)
    throw FormatError(path, "the checkpoint was made with other options (" + get("fingerprint") +
                                "); rerun with the same options, or without --resume to start over");
  Progress p;
  p.epochs_done = std::stoi(get("epochs_done"));
  p.best_epoch = std::stoi(get("best_epoch"));
  p.best_validation = parse_double(get("best_validation"));
  p.dropout_offset = std::stoull(get("dropout_offset"));
  std::vector<int64_t> steps;
  std::stringstream ss(get("adam_steps"));
  for (std::string s; std::getline(ss, s, ',');) steps.push_back(std::stoll(s));
  const auto& params = model.named_parameters();
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
  return p;
}

// A test hook that simulates the process being killed: HL_TEST_KILL_AT="<fold>:<epoch>:<step>"
// ends the process abruptly (no cleanup, like SIGKILL) just before that training step;
// step 0 kills right after the checkpoint of the previous epoch was written.
void maybe_simulate_kill(int fold, int epoch, int step) {
  static const char* spec = std::getenv("HL_TEST_KILL_AT");
  if (spec == nullptr) return;
  int f = -1, e = -1, s = -1;
  if (std::sscanf(spec, "%d:%d:%d", &f, &e, &s) == 3 && f == fold && e == epoch && s == step) std::_Exit(137);
}

}  // namespace

std::string TrainConfig::fingerprint() const {
  std::ostringstream o;
  o << "features=" << feature_list_string(model.features) << " hidden=" << model.hidden
    << " dropout=" << model.encoder_dropout << "/" << model.lstm_input_dropout << "/" << model.lstm_recurrent_dropout
    << "/" << model.head_dropout << " loss=" << (loss == LossKind::Ccc ? "ccc" : "ranking") << " epochs=" << epochs
    << " batch=" << batch << " lr=" << hexfloat(lr) << " seed=" << seed << " val=" << hexfloat(validation_fraction)
    << " k=" << selection_k << " init=" << (init_model.empty() ? "-" : init_model);
  return o.str();
}

std::vector<FoldPlan> plan_folds(const std::vector<std::string>& videos, int folds, uint64_t seed,
                                 double validation_fraction) {
  if (validation_fraction < 0 || validation_fraction >= 1)
    throw Error("the validation fraction must be in [0, 1) (got " + std::to_string(validation_fraction) + ")");
  const std::vector<int> assignment = kfold_assignment(videos.size(), folds, seed);
  std::vector<FoldPlan> plans(static_cast<size_t>(folds));
  for (int f = 0; f < folds; ++f) {
    FoldPlan& plan = plans[static_cast<size_t>(f)];
    plan.fold = f;
    std::vector<std::string> rest;
    for (size_t i = 0; i < videos.size(); ++i) (assignment[i] == f ? plan.test : rest).push_back(videos[i]);
    size_t n_val = 0;
    if (validation_fraction > 0)
      n_val = std::max<size_t>(1, static_cast<size_t>(std::lround(validation_fraction * static_cast<double>(rest.size()))));
    if (n_val >= rest.size())
      throw Error("fold " + std::to_string(f + 1) + " has " + std::to_string(rest.size()) +
                  " training videos: too few to hold out a validation part");
    const std::vector<size_t> order = seeded_permutation(rest.size(), seed, stream_id(kValidationSplit, f, 0));
    std::vector<char> is_val(rest.size(), 0);
    for (size_t i = 0; i < n_val; ++i) is_val[order[i]] = 1;
    for (size_t i = 0; i < rest.size(); ++i) (is_val[i] ? plan.validation : plan.train).push_back(rest[i]);
  }
  return plans;
}

std::vector<float> predict_segments(const HighlightModel& model, const SegmentDataset& data,
                                    const std::vector<size_t>& indices, int batch) {
  ag::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(indices.size());
  for (size_t start = 0; start < indices.size(); start += static_cast<size_t>(batch)) {
    const size_t n = std::min(indices.size() - start, static_cast<size_t>(batch));
    const SegmentBatch b = data.batch(std::span<const size_t>(indices.data() + start, n));
    const Tensor scores = model.forward(b.inputs, /*training=*/false).value().to(Device::cpu());
    out.insert(out.end(), scores.data<float>(), scores.data<float>() + scores.numel());
  }
  return out;
}

void write_predictions_csv(const std::string& path, const SegmentScores& predictions) {
  std::string text = "video,segment,score\n";
  char buf[64];
  for (const auto& [video, scores] : predictions)
    for (size_t s = 0; s < scores.size(); ++s) {
      std::snprintf(buf, sizeof buf, ",%zu,%.9g\n", s, scores[s]);
      text += video + buf;
    }
  write_text_atomic(path, text);
}

FoldOutcome train_fold(const SegmentDataset& data, const FoldPlan& plan, const TrainConfig& config,
                       const std::string& fold_dir, bool resume,
                       const std::function<void(const EpochReport&)>& on_epoch) {
  if (config.batch < 2) throw Error("the batch must hold at least 2 segments or pairs");
  fs::create_directories(fold_dir);
  const std::string checkpoint_path = (fs::path(fold_dir) / "checkpoint.safetensors").string();
  const std::string model_path = (fs::path(fold_dir) / "model.safetensors").string();
  const std::string fingerprint = config.fingerprint() + " fold=" + std::to_string(plan.fold);
  const uint64_t seed = fold_seed(config.seed, plan.fold);

  HighlightModel model(config.model, seed);
  if (!config.init_model.empty()) {  // fine-tuning: every parameter from the given model
    const HighlightModel init = HighlightModel::load(config.init_model);
    if (init.config().features != config.model.features || init.config().hidden != config.model.hidden)
      throw FormatError(config.init_model, "its model (" + feature_list_string(init.config().features) + ", hidden " +
                                               std::to_string(init.config().hidden) + ") differs from the one trained");
    for (const NamedParameter& p : model.named_parameters()) {
      ag::Variable v = p.value;
      v.value_mut().copy_from(init.parameter(p.name).value());
    }
  }
  optim::Adam adam(model.parameters(), optim::AdamHyper{.lr = config.lr});
  Progress progress;
  FoldOutcome outcome;
  if (resume && fs::exists(checkpoint_path)) {
    progress = load_checkpoint(checkpoint_path, model, adam, fingerprint);
    outcome.resumed = true;
  }

  const std::vector<size_t> train = segments_of(data, plan.train);
  const std::vector<size_t> val = segments_of(data, plan.validation);
  const std::vector<size_t> test = segments_of(data, plan.test);
  if (train.size() < 2) throw Error("fold " + std::to_string(plan.fold + 1) + " has fewer than 2 training segments");
  // Ranking pairs: the other segments of the same video.
  std::map<int32_t, std::vector<size_t>> by_video;
  for (size_t i : train) by_video[data.segment(i).video].push_back(i);

  const int64_t frames = kTicksPerSegment;
  for (int epoch = progress.epochs_done + 1; epoch <= config.epochs; ++epoch) {
    const std::vector<size_t> order = seeded_permutation(train.size(), seed, stream_id(kEpochOrder, plan.fold, epoch));
    const int steps = static_cast<int>((train.size() + static_cast<size_t>(config.batch) - 1) / static_cast<size_t>(config.batch));
    ProgressBar bar("fold " + std::to_string(plan.fold + 1) + " epoch " + std::to_string(epoch) + "/" +
                        std::to_string(config.epochs),
                    steps, "batches");
    double loss_sum = 0;
    int loss_count = 0;
    for (int step = 0; step < steps; ++step) {
      maybe_simulate_kill(plan.fold + 1, epoch, step);
      ag::Variable loss;
      if (config.loss == LossKind::Ccc) {
        const size_t start = static_cast<size_t>(step) * static_cast<size_t>(config.batch);
        const size_t n = std::min(train.size() - start, static_cast<size_t>(config.batch));
        if (n < 2) break;  // CCC of one segment is undefined: the last batch is dropped
        std::vector<size_t> idx;
        for (size_t i = 0; i < n; ++i) idx.push_back(train[order[start + i]]);
        const SegmentBatch b = data.batch(idx);
        const ag::Variable scores = model.forward(b.inputs, true, {seed, progress.dropout_offset});
        progress.dropout_offset += model.dropout_words(static_cast<int64_t>(n), frames);
        loss = ag::ccc_loss(scores, ag::Variable(b.labels));
      } else {
        std::vector<size_t> hi, lo;
        for (int p = 0; p < config.batch; ++p) {
          const uint64_t draw = static_cast<uint64_t>(step) * static_cast<uint64_t>(config.batch) + static_cast<uint64_t>(p);
          const size_t a = train[seeded_index(train.size(), seed, stream_id(kPairs, plan.fold, epoch), 2 * draw)];
          const auto& same = by_video.at(data.segment(a).video);
          const size_t b = same[seeded_index(same.size(), seed, stream_id(kPairs, plan.fold, epoch), 2 * draw + 1)];
          const float la = data.segment(a).label, lb = data.segment(b).label;
          if (la == lb) continue;  // only strictly ordered pairs carry a ranking
          hi.push_back(la > lb ? a : b);
          lo.push_back(la > lb ? b : a);
        }
        if (hi.empty()) continue;
        const SegmentBatch bh = data.batch(hi), bl = data.batch(lo);
        const auto n = static_cast<int64_t>(hi.size());
        const ag::Variable sh = model.forward(bh.inputs, true, {seed, progress.dropout_offset});
        progress.dropout_offset += model.dropout_words(n, frames);
        const ag::Variable sl = model.forward(bl.inputs, true, {seed, progress.dropout_offset});
        progress.dropout_offset += model.dropout_words(n, frames);
        loss = ag::margin_ranking_loss(sh, sl, 1.0f);
      }
      loss.backward();
      adam.step();
      adam.zero_grad();
      const double value = loss.value().to(Device::cpu()).data<float>()[0];
      loss_sum += value;
      ++loss_count;
      char postfix[64];
      std::snprintf(postfix, sizeof postfix, "loss %.4f", loss_sum / loss_count);
      bar.set_postfix(postfix);
      bar.advance();
    }
    bar.finish();
    EpochReport report{plan.fold, epoch, loss_count ? loss_sum / loss_count : NAN,
                       validation_score(model, data, val, config), false};
    // The first epoch, or a strictly better validation score (no validation: the last epoch).
    const double score = std::isnan(report.validation) ? -INFINITY : report.validation;
    if (progress.best_epoch == 0 || score > progress.best_validation || (val.empty())) {
      progress.best_epoch = epoch;
      progress.best_validation = score;
      report.best = true;
      model.save(model_path, {{"fold", std::to_string(plan.fold + 1)},
                              {"epoch", std::to_string(epoch)},
                              {"validation_ndcg@" + std::to_string(config.selection_k), hexfloat(report.validation)}});
    }
    progress.epochs_done = epoch;
    save_checkpoint(checkpoint_path, model, adam, progress, fingerprint);
    if (on_epoch) on_epoch(report);
  }
  maybe_simulate_kill(plan.fold + 1, config.epochs + 1, 0);

  if (!fs::exists(model_path)) throw Error("fold " + std::to_string(plan.fold + 1) + ": no epoch was trained");
  const HighlightModel best = HighlightModel::load(model_path);
  outcome.best_epoch = progress.best_epoch;
  outcome.best_validation = progress.best_validation;
  outcome.test_predictions = group_by_video(data, test, predict_segments(best, data, test, config.batch));
  write_predictions_csv((fs::path(fold_dir) / "test.pred.csv").string(), outcome.test_predictions);
  return outcome;
}

}  // namespace hl
