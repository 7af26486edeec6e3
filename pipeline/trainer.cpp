#include "pipeline/trainer.h"

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
#include "pipeline/input_statistics.h"

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

// Mean NDCG@k of the predictions `predict(val)` on the validation segments (NaN: none).
double validation_score(const std::function<std::vector<float>(const std::vector<size_t>&)>& predict,
                        const SegmentDataset& data, const std::vector<size_t>& val, const TrainConfig& config) {
  if (val.empty()) return NAN;
  const SegmentScores preds = group_by_video(data, val, predict(val));
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

// Any model's parameters (named_parameters()), Adam's state, the progress and the input
// normalisation (its keys and tensors as in a model file; none: the checkpoint of
// builds before it).
void save_checkpoint(const std::string& path, const std::vector<NamedParameter>& params, const optim::Adam& adam,
                     const Progress& p, const std::string& fingerprint, const InputNormalisation& normalisation) {
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
                                                 {"adam_steps", steps}};
  normalisation.write(metadata, tensors);
  write_safetensors(path, tensors, metadata);
}

// Restores what save_checkpoint wrote; `normalisation` receives the statistics of
// `features` (none when the checkpoint has none).
Progress load_checkpoint(const std::string& path, const std::vector<NamedParameter>& params, optim::Adam& adam,
                         const std::string& fingerprint, const std::vector<Feature>& features,
                         InputNormalisation& normalisation) {
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

// A test hook that simulates the process being killed: HL_TEST_KILL_AT="<fold>:<epoch>:<step>"
// ends the process abruptly (no cleanup, like SIGKILL) just before that training step;
// step 0 kills right after the checkpoint of the previous epoch was written.
void maybe_simulate_kill(int fold, int epoch, int step) {
  static const char* spec = std::getenv("HL_TEST_KILL_AT");
  if (spec == nullptr) return;
  int f = -1, e = -1, s = -1;
  if (std::sscanf(spec, "%d:%d:%d", &f, &e, &s) == 3 && f == fold && e == epoch && s == step) std::_Exit(137);
}

// Runs of consecutive indices of the same video: [begin, end) pairs into `indices`.
std::vector<std::pair<size_t, size_t>> video_runs(const SegmentDataset& data, const std::vector<size_t>& indices) {
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i + 1;
    while (j < indices.size() && data.segment(indices[j]).video == data.segment(indices[i]).video) ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  return runs;
}

// What every fold's training shares: its files, the fingerprint its checkpoint must
// carry, and the seed its random draws derive from.
struct FoldRun {
  std::string checkpoint_path, model_path, fingerprint;
  uint64_t seed = 0;
};

FoldRun begin_fold(const TrainConfig& config, const FoldPlan& plan, const std::string& fold_dir) {
  fs::create_directories(fold_dir);
  return {(fs::path(fold_dir) / "checkpoint.safetensors").string(), (fs::path(fold_dir) / "model.safetensors").string(),
          config.fingerprint() + " fold=" + std::to_string(plan.fold), fold_seed(config.seed, plan.fold)};
}

// Fine-tuning: every parameter value of `to` from the parameter of the same name in `from`.
void copy_parameters(const std::vector<NamedParameter>& from, const std::vector<NamedParameter>& to) {
  for (const NamedParameter& p : to) {
    const auto it = std::find_if(from.begin(), from.end(), [&](const NamedParameter& q) { return q.name == p.name; });
    if (it == from.end()) throw Error("fine-tuning: the initial model has no parameter '" + p.name + "'");
    ag::Variable v = p.value;
    v.value_mut().copy_from(it->value.value());
  }
}

// Moves every parameter to `device` (before Adam is made, so that its moments are made
// there too). Initialisation happens on the CPU first, so a CUDA run starts from the
// same weights as a CPU run.
void move_parameters(const std::vector<NamedParameter>& params, Device device) {
  for (const NamedParameter& p : params) {
    ag::Variable v = p.value;
    if (v.value().device() != device) v.value_mut() = v.value().to(device);
  }
}

// The device a model's parameters are on.
Device parameter_device(const std::vector<NamedParameter>& params) {
  return params.empty() ? Device::cpu() : params.front().value.value().device();
}

optim::Adam make_adam(const std::vector<ag::Variable>& params, const TrainConfig& config) {
  return optim::Adam(params,
                     optim::AdamHyper{.lr = config.lr, .eps = config.adam_eps, .weight_decay = config.weight_decay});
}

std::vector<Feature> model_features(const HighlightModel& model) { return model.config().features; }
std::vector<Feature> model_features(const Vasnet&) { return {Feature::GoogLeNet}; }

// Fine-tuning keeps the initial model's input normalisation (its weights were trained on
// inputs standardised with it), so --normalise must agree with whether it has one.
void check_fine_tuning_normalisation(const TrainConfig& config, const InputNormalisation& init) {
  if (config.normalise && !init.enabled())
    throw FormatError(config.init_model, "it was trained without input normalisation; fine-tune it with --normalise off");
  if (!config.normalise && init.enabled())
    throw FormatError(config.init_model, "it was trained on standardised inputs, whose statistics fine-tuning keeps; "
                                         "fine-tune it with --normalise on");
}

// The progress so far: from the fold's checkpoint when resuming (restoring the
// parameters, Adam's state and the input normalisation too), else a fresh start whose
// input normalisation is the initial model's when fine-tuning (`init`), else computed
// from the fold's training segments when config.normalise, else none.
template <typename Model>
Progress resume_or_start(const FoldRun& run, Model& model, optim::Adam& adam, bool resume, const TrainConfig& config,
                         const InputNormalisation& init, const SegmentDataset& data, const std::vector<size_t>& train,
                         FoldOutcome& outcome) {
  if (resume && fs::exists(run.checkpoint_path)) {
    outcome.resumed = true;
    InputNormalisation normalisation;
    const Progress p = load_checkpoint(run.checkpoint_path, model.named_parameters(), adam, run.fingerprint,
                                       model_features(model), normalisation);
    model.set_input_normalisation(std::move(normalisation));
    return p;
  }
  if (!config.init_model.empty())
    model.set_input_normalisation(init);
  else if (config.normalise)
    model.set_input_normalisation(compute_input_normalisation(data, train));
  return {};
}

// Keeps the epoch's model when it is the best so far (the first epoch, a strictly better
// validation score, or the last epoch when there is no validation part).
template <typename Model>
void select_epoch(const Model& model, EpochReport& report, Progress& progress, bool no_validation,
                  const std::string& model_path, const FoldPlan& plan, const TrainConfig& config) {
  const double score = std::isnan(report.validation) ? -INFINITY : report.validation;
  if (progress.best_epoch == 0 || score > progress.best_validation || no_validation) {
    progress.best_epoch = report.epoch;
    progress.best_validation = score;
    report.best = true;
    model.save(model_path, {{"fold", std::to_string(plan.fold + 1)},
                            {"epoch", std::to_string(report.epoch)},
                            {"validation_ndcg@" + std::to_string(config.selection_k), hexfloat(report.validation)}});
  }
}

// After an epoch: keep the model if it is the best so far, write the checkpoint, report.
template <typename Model>
void end_epoch(const Model& model, EpochReport& report, Progress& progress, bool no_validation, const FoldRun& run,
               const optim::Adam& adam, const FoldPlan& plan, const TrainConfig& config,
               const std::function<void(const EpochReport&)>& on_epoch) {
  select_epoch(model, report, progress, no_validation, run.model_path, plan, config);
  progress.epochs_done = report.epoch;
  save_checkpoint(run.checkpoint_path, model.named_parameters(), adam, progress, run.fingerprint,
                  model.input_normalisation());
  if (on_epoch) on_epoch(report);
}

// VASNet's fold: one training video per step in a seeded order per epoch, frame-level
// MSE, Adam with weight decay; otherwise as the highlight model's train_fold.
FoldOutcome train_fold_vasnet(const SegmentDataset& data, const FoldPlan& plan, const TrainConfig& config,
                              const std::string& fold_dir, bool resume,
                              const std::function<void(const EpochReport&)>& on_epoch) {
  if (std::find(data.features().begin(), data.features().end(), Feature::GoogLeNet) == data.features().end())
    throw Error("VASNet trains on googlenet features, which the dataset was not opened with");
  const FoldRun run = begin_fold(config, plan, fold_dir);
  const uint64_t seed = run.seed;

  Vasnet model(config.vasnet, seed);
  InputNormalisation init_normalisation;
  if (!config.init_model.empty()) {  // fine-tuning: every parameter from the given model
    const Vasnet init = Vasnet::load(config.init_model);
    if (init.config().input != config.vasnet.input)
      throw FormatError(config.init_model, "its VASNet input width " + std::to_string(init.config().input) +
                                               " differs from the one trained");
    check_fine_tuning_normalisation(config, init.input_normalisation());
    copy_parameters(init.named_parameters(), model.named_parameters());
    init_normalisation = init.input_normalisation();
  }
  const std::vector<size_t> train = segments_of(data, plan.train);
  const std::vector<size_t> val = segments_of(data, plan.validation);
  const std::vector<size_t> test = segments_of(data, plan.test);
  const std::vector<std::pair<size_t, size_t>> videos = video_runs(data, train);
  if (videos.empty()) throw Error("fold " + std::to_string(plan.fold + 1) + " has no training videos");
  move_parameters(model.named_parameters(), config.device);
  optim::Adam adam = make_adam(model.parameters(), config);
  FoldOutcome outcome;
  Progress progress = resume_or_start(run, model, adam, resume, config, init_normalisation, data, train, outcome);
  const int64_t step_frames = config.vasnet.frame_step;
  auto predict = [&](const std::vector<size_t>& idx) { return predict_segments(model, data, idx); };

  for (int epoch = progress.epochs_done + 1; epoch <= config.epochs; ++epoch) {
    const std::vector<size_t> order = seeded_permutation(videos.size(), seed, stream_id(kEpochOrder, plan.fold, epoch));
    const int steps = static_cast<int>(videos.size());
    ProgressBar bar("fold " + std::to_string(plan.fold + 1) + " epoch " + std::to_string(epoch) + "/" +
                        std::to_string(config.epochs),
                    steps, "videos");
    double loss_sum = 0;
    for (int step = 0; step < steps; ++step) {
      maybe_simulate_kill(plan.fold + 1, epoch, step);
      const auto [begin, end] = videos[order[static_cast<size_t>(step)]];
      const std::vector<size_t> idx(train.begin() + static_cast<std::ptrdiff_t>(begin),
                                    train.begin() + static_cast<std::ptrdiff_t>(end));
      const Tensor x =
          segment_frames(data, idx, model.input_normalisation(), step_frames).to(config.device);  // [T / step, 1024]
      const int64_t frames = x.size(0);
      Tensor target = Tensor::empty(Shape{frames}, DType::F32);  // kept frame k lies in segment k · step / 150
      for (int64_t k = 0; k < frames; ++k)
        target.data<float>()[k] =
            data.segment(idx[static_cast<size_t>(k * step_frames / kTicksPerSegment)]).label * config.target_scale;
      const ag::Variable scores = model.forward(x, true, {seed, progress.dropout_offset});
      progress.dropout_offset += model.dropout_words(frames);
      const ag::Variable loss = ag::mse_loss(scores, ag::Variable(target.to(config.device)));
      loss.backward();
      adam.step();
      adam.zero_grad();
      loss_sum += loss.value().to(Device::cpu()).data<float>()[0];
      char postfix[64];
      std::snprintf(postfix, sizeof postfix, "loss %.4f", loss_sum / (step + 1));
      bar.set_postfix(postfix);
      bar.advance();
    }
    bar.finish();
    EpochReport report{plan.fold, epoch, loss_sum / steps, validation_score(predict, data, val, config), false};
    end_epoch(model, report, progress, val.empty(), run, adam, plan, config, on_epoch);
  }
  maybe_simulate_kill(plan.fold + 1, config.epochs + 1, 0);

  if (!fs::exists(run.model_path)) throw Error("fold " + std::to_string(plan.fold + 1) + ": no epoch was trained");
  const Vasnet best = Vasnet::load(run.model_path);
  move_parameters(best.named_parameters(), config.device);
  outcome.best_epoch = progress.best_epoch;
  outcome.best_validation = progress.best_validation;
  outcome.test_predictions = group_by_video(data, test, predict_segments(best, data, test));
  write_predictions_csv((fs::path(fold_dir) / "test.pred.csv").string(), outcome.test_predictions);
  return outcome;
}

}  // namespace

Tensor segment_frames(const SegmentDataset& data, const std::vector<size_t>& indices,
                      const InputNormalisation& normalisation, int64_t frame_step) {
  const SegmentBatch b = data.batch(indices, Device::cpu(), normalisation);
  const auto it = b.inputs.find(Feature::GoogLeNet);
  if (it == b.inputs.end()) throw Error("VASNet needs googlenet features, which the dataset was not opened with");
  const Tensor& g = it->second;  // [n, 150, 1024]
  const Tensor all = g.reshape({g.size(0) * g.size(1), g.size(2)});
  if (frame_step == 1) return all;
  const int64_t kept = kept_frames(g.size(0), g.size(1), frame_step), width = g.size(2);
  Tensor out = Tensor::empty(Shape{kept, width}, DType::F32);
  for (int64_t k = 0; k < kept; ++k)
    std::copy_n(all.data<float>() + k * frame_step * width, width, out.data<float>() + k * width);
  return out;
}

std::vector<float> predict_segments(const Vasnet& model, const SegmentDataset& data, const std::vector<size_t>& indices) {
  ag::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(indices.size());
  for (const auto& [begin, end] : video_runs(data, indices)) {
    const std::vector<size_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(begin),
                                  indices.begin() + static_cast<std::ptrdiff_t>(end));
    const Tensor x = segment_frames(data, idx, model.input_normalisation(), model.config().frame_step)
                         .to(parameter_device(model.named_parameters()));
    const Tensor scores = model.forward(x, /*training=*/false).value().to(Device::cpu());
    const std::vector<float> means =
        segment_means(scores, static_cast<int64_t>(idx.size()), kTicksPerSegment, model.config().frame_step);
    out.insert(out.end(), means.begin(), means.end());
  }
  return out;
}

std::string TrainConfig::fingerprint() const {
  std::ostringstream o;
  if (kind == ModelKind::Vasnet) {
    o << "model=vasnet";
    for (const auto& [key, value] : vasnet.to_metadata()) o << " " << key << "=" << value;
    o << " epochs=" << epochs << " lr=" << hexfloat(lr) << " eps=" << hexfloat(adam_eps)
      << " weight_decay=" << hexfloat(weight_decay)
      << " target_scale=" << hexfloat(target_scale) << " seed=" << seed << " val=" << hexfloat(validation_fraction)
      << " k=" << selection_k << " init=" << (init_model.empty() ? "-" : init_model);
    if (normalise) o << " normalise=standardise";
    if (!device.is_cpu()) o << " device=cuda";
    return o.str();
  }
  o << "features=" << feature_list_string(model.features) << " hidden=" << model.hidden
    << " dropout=" << model.encoder_dropout << "/" << model.lstm_input_dropout << "/" << model.lstm_recurrent_dropout
    << "/" << model.head_dropout << " loss=" << (loss == LossKind::Ccc ? "ccc" : "ranking") << " epochs=" << epochs
    << " batch=" << batch << " lr=" << hexfloat(lr) << " seed=" << seed << " val=" << hexfloat(validation_fraction)
    << " k=" << selection_k << " init=" << (init_model.empty() ? "-" : init_model);
  if (weight_decay != 0.0f) o << " weight_decay=" << hexfloat(weight_decay);
  if (adam_eps != 1e-7f) o << " eps=" << hexfloat(adam_eps);
  if (normalise) o << " normalise=standardise";
  if (!device.is_cpu()) o << " device=cuda";
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
    const SegmentBatch b = data.batch(std::span<const size_t>(indices.data() + start, n),
                                      parameter_device(model.named_parameters()), model.input_normalisation());
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
  if (config.kind == ModelKind::Vasnet) return train_fold_vasnet(data, plan, config, fold_dir, resume, on_epoch);
  if (config.batch < 2) throw Error("the batch must hold at least 2 segments or pairs");
  const FoldRun run = begin_fold(config, plan, fold_dir);
  const uint64_t seed = run.seed;

  HighlightModel model(config.model, seed);
  InputNormalisation init_normalisation;
  if (!config.init_model.empty()) {  // fine-tuning: every parameter from the given model
    const HighlightModel init = HighlightModel::load(config.init_model);
    if (init.config().features != config.model.features || init.config().hidden != config.model.hidden)
      throw FormatError(config.init_model, "its model (" + feature_list_string(init.config().features) + ", hidden " +
                                               std::to_string(init.config().hidden) + ") differs from the one trained");
    check_fine_tuning_normalisation(config, init.input_normalisation());
    copy_parameters(init.named_parameters(), model.named_parameters());
    init_normalisation = init.input_normalisation();
  }
  const std::vector<size_t> train = segments_of(data, plan.train);
  const std::vector<size_t> val = segments_of(data, plan.validation);
  const std::vector<size_t> test = segments_of(data, plan.test);
  if (train.size() < 2) throw Error("fold " + std::to_string(plan.fold + 1) + " has fewer than 2 training segments");
  move_parameters(model.named_parameters(), config.device);
  optim::Adam adam = make_adam(model.parameters(), config);
  FoldOutcome outcome;
  Progress progress = resume_or_start(run, model, adam, resume, config, init_normalisation, data, train, outcome);
  const InputNormalisation& normalisation = model.input_normalisation();
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
        const SegmentBatch b = data.batch(idx, config.device, normalisation);
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
        const SegmentBatch bh = data.batch(hi, config.device, normalisation),
                           bl = data.batch(lo, config.device, normalisation);
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
                       validation_score([&](const std::vector<size_t>& idx) {
                         return predict_segments(model, data, idx, config.batch);
                       }, data, val, config), false};
    end_epoch(model, report, progress, val.empty(), run, adam, plan, config, on_epoch);
  }
  maybe_simulate_kill(plan.fold + 1, config.epochs + 1, 0);

  if (!fs::exists(run.model_path)) throw Error("fold " + std::to_string(plan.fold + 1) + ": no epoch was trained");
  const HighlightModel best = HighlightModel::load(run.model_path);
  move_parameters(best.named_parameters(), config.device);
  outcome.best_epoch = progress.best_epoch;
  outcome.best_validation = progress.best_validation;
  outcome.test_predictions = group_by_video(data, test, predict_segments(best, data, test, config.batch));
  write_predictions_csv((fs::path(fold_dir) / "test.pred.csv").string(), outcome.test_predictions);
  return outcome;
}

}  // namespace hl
