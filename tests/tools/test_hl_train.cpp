// hl-train run as a user would, on hl-synth data: it learns the planted signal (held-out
// NDCG beats chance clearly) from standardised inputs, a run killed at any point and
// resumed gives files bit-identical to an uninterrupted run (input statistics
// included), --normalise off writes the model files of before, fine-tuning keeps the
// initial model's statistics, VASNet runs at a frame step, and bad options fail clearly;
// a resume against changed inputs is refused naming them, and a run whose loss turns
// NaN stops saying where, saving nothing non-finite.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>
#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "engine/safetensors.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;
using test::run_command;
namespace fs = std::filesystem;

class HlTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new test::TempDir();
    // 12 videos of 60-80 s (12-16 segments each). The signal is planted in affect (128-d)
    // and faces: with ~100 training segments a model can find 8 planted dimensions among
    // 128, not among googlenet's 1024 (see pipeline/synthetic.h).
    const auto r = run_command({HL_SYNTH_PATH, "--out", data_->path().string(), "--videos", "12", "--seconds", "60,80",
                                "--seed", "4", "--features", "affect,faces", "--strength", "affect=2.5,faces=1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static std::vector<std::string> train_args(const std::string& out, int epochs = 3) {
    return {HL_TRAIN_PATH, "--features", data_->file("features"), "--labels", data_->file("labels.csv"), "--out", out,
            "--use", "affect,faces", "--folds", "3", "--epochs", std::to_string(epochs), "--batch", "16", "--seed", "9"};
  }
  static inline test::TempDir* data_ = nullptr;
  test::TempDir runs;
};

TEST_F(HlTrain, LearnsThePlantedSignal) {
  const auto r = run_command(train_args(runs.file("a"), 5));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json summary = json::parse(test::read_file(runs.file("a/summary.json")));
  const json& mean = summary["all"]["mean"];
  EXPECT_EQ(summary["all"]["count"], 12);
  EXPECT_EQ(summary["folds"].size(), 3u);
  // Held-out videos ranked clearly better than a random order.
  EXPECT_GT(mean["ndcg@5"].get<double>(), mean["chance_ndcg@5"].get<double>() + 0.1) << summary["all"].dump();
  EXPECT_GT(mean["p@5"].get<double>(), mean["chance_p@5"].get<double>() + 0.1) << summary["all"].dump();
  EXPECT_EQ(summary["config"]["normalise"], true);
  for (int f = 1; f <= 3; ++f) {
    const std::string dir = runs.file("a/fold-" + std::to_string(f));
    EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
    EXPECT_TRUE(fs::exists(dir + "/test.pred.csv"));
    EXPECT_TRUE(fs::exists(dir + "/metrics.json"));
    // The inputs were standardised: the model file carries the statistics.
    const SafetensorsFile model = SafetensorsFile::open(dir + "/model.safetensors");
    EXPECT_EQ(model.metadata().at("format_version"), "2");
    EXPECT_EQ(model.get("normalise.affect.mean").numel(), 128);
    EXPECT_EQ(model.get("normalise.faces.std").numel(), 1);
  }
  EXPECT_NE(r.out.find("chance"), std::string::npos);
}

TEST_F(HlTrain, RankingLossLearnsToo) {
  auto args = train_args(runs.file("rank"), 5);
  args.insert(args.end(), {"--loss", "ranking"});
  const auto r = run_command(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json mean = json::parse(test::read_file(runs.file("rank/summary.json")))["all"]["mean"];
  EXPECT_GT(mean["ndcg@5"].get<double>(), mean["chance_ndcg@5"].get<double>() + 0.1) << mean.dump();
}

TEST_F(HlTrain, SingleFeatureStudyRanksThePlantedStrengths) {
  test::TempDir data;
  // Planted strengths affect > mfcc > faces (= none): the study's table must say so.
  // Without input normalisation: hl-synth's planted dimensions also have a larger
  // variance than its distractors (pipeline/synthetic.h), a cue that standardisation removes
  // by design; with it, 5 epochs on ~100 segments rank mfcc's 8 of 13 planted dimensions
  // above affect's 8 of 128 (measured: ndcg@5 0.72 vs 0.64).
  ASSERT_EQ(run_command({HL_SYNTH_PATH, "--out", data.path().string(), "--videos", "12", "--seconds", "60,80", "--seed",
                         "4", "--features", "affect,faces,mfcc", "--strength", "affect=2.5,mfcc=1.2,faces=0"})
                .exit_code,
            0);
  const auto r = run_command({HL_TRAIN_PATH, "--features", data.file("features"), "--labels", data.file("labels.csv"),
                              "--out", runs.file("study"), "--use", "affect,mfcc,faces", "--folds", "3", "--epochs",
                              "5", "--batch", "16", "--seed", "9", "--study", "single", "--normalise", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json rows = json::parse(test::read_file(runs.file("study/study.json")))["rows"];
  const double affect = rows["affect"]["ccc"]["ndcg@5"], mfcc = rows["mfcc"]["ccc"]["ndcg@5"],
               faces = rows["faces"]["ccc"]["ndcg@5"], chance = rows["chance"]["ndcg@5"];
  EXPECT_GT(affect, mfcc) << rows.dump();
  EXPECT_GT(mfcc, faces) << rows.dump();
  EXPECT_GT(mfcc, chance + 0.05) << rows.dump();
  EXPECT_EQ(rows["mfcc"]["hidden"], 13);  // the paper's single-feature rule
  EXPECT_EQ(rows["faces"]["hidden"], 4);
  const auto md = test::read_file(runs.file("study/study.md"));
  EXPECT_NE(std::string(md.begin(), md.end()).find("| chance |"), std::string::npos);
}

TEST_F(HlTrain, KilledAndResumedRunIsBitIdentical) {
  ASSERT_EQ(run_command(train_args(runs.file("whole"))).exit_code, 0);
  // Killed mid-epoch, right after an epoch's checkpoint, and after the last epoch.
  for (const std::string at : {"2:2:1", "3:2:0", "1:4:0"}) {
    const std::string out = runs.file("killed-" + at.substr(0, 1) + at.substr(2, 1));
    auto args = train_args(out);
    auto killed = args;
    killed.insert(killed.begin(), {"env", "HL_TEST_KILL_AT=" + at});
    EXPECT_EQ(run_command(killed).exit_code, 137) << at;
    args.push_back("--resume");
    const auto r = run_command(args);
    ASSERT_EQ(r.exit_code, 0) << at << ": " << r.err;
    for (const std::string f : {"predictions.csv", "summary.json", "fold-1/model.safetensors", "fold-2/model.safetensors",
                                "fold-3/model.safetensors", "fold-2/checkpoint.safetensors", "fold-3/test.pred.csv"})
      EXPECT_EQ(test::read_file(out + "/" + f), test::read_file(runs.file("whole/" + f))) << at << " " << f;
  }
}

// --normalise off: inputs as they are, model files of format_version 1 with the
// parameters only (as every file before input normalisation), and its checkpoints do
// not resume a run with normalisation.
TEST_F(HlTrain, NormaliseOffWritesPlainModelFiles) {
  auto args = train_args(runs.file("off"), 1);
  args.insert(args.end(), {"--normalise", "off"});
  const auto r = run_command(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SafetensorsFile model = SafetensorsFile::open(runs.file("off/fold-1/model.safetensors"));
  EXPECT_EQ(model.metadata().at("format_version"), "1");
  EXPECT_EQ(model.metadata().count("input_normalisation"), 0u);
  for (const std::string& name : model.names()) EXPECT_EQ(name.rfind("normalise.", 0), std::string::npos) << name;
  EXPECT_EQ(json::parse(test::read_file(runs.file("off/summary.json")))["config"]["normalise"], false);
  auto on = train_args(runs.file("off"), 1);
  on.push_back("--resume");
  const auto refused = run_command(on);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("the checkpoint was made with other options"), std::string::npos) << refused.err;
}

TEST_F(HlTrain, FineTuningStartsFromTheGivenModel) {
  ASSERT_EQ(run_command(train_args(runs.file("base"), 1)).exit_code, 0);
  const std::string init = runs.file("base/fold-1/model.safetensors");
  // A learning rate so small that one epoch cannot move the weights visibly: the tuned
  // models must still be the initial model, which a fresh random start would not be.
  auto args = train_args(runs.file("tuned"), 1);
  args.insert(args.end(), {"--init", init, "--lr", "1e-12", "--val-fraction", "0"});
  const auto r = run_command(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const SafetensorsFile a = SafetensorsFile::open(init);
  for (int f = 2; f <= 3; ++f) {
    const SafetensorsFile b = SafetensorsFile::open(runs.file("tuned/fold-" + std::to_string(f) + "/model.safetensors"));
    for (const std::string& name : a.names()) {
      const Tensor x = a.get(name), y = b.get(name);
      ASSERT_EQ(x.numel(), y.numel()) << name;
      test::expect_close(y.data<float>(), x.data<float>(), x.numel(), 1e-6, "fold " + std::to_string(f) + " " + name);
    }
    // The initial model's input statistics, bit for bit, not the fold's own (which a
    // run from scratch computes from other training videos).
    const SafetensorsFile own = SafetensorsFile::open(runs.file("base/fold-" + std::to_string(f) + "/model.safetensors"));
    const Tensor kept = b.get("normalise.affect.mean"), initial = a.get("normalise.affect.mean"),
                 fresh = own.get("normalise.affect.mean");
    EXPECT_TRUE(std::equal(kept.data<float>(), kept.data<float>() + 128, initial.data<float>())) << f;
    EXPECT_FALSE(std::equal(kept.data<float>(), kept.data<float>() + 128, fresh.data<float>())) << f;
  }
  // The initial model's statistics are kept, so --normalise off cannot apply.
  auto off = train_args(runs.file("tuned-off"), 1);
  off.insert(off.end(), {"--init", init, "--normalise", "off"});
  const auto refused = run_command(off);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("fine-tune it with --normalise on"), std::string::npos) << refused.err;
  // A model of other features is refused.
  auto other = train_args(runs.file("other"), 1);
  other[other.size() - 9] = "affect";  // --use affect
  other.insert(other.end(), {"--init", init});
  const auto bad = run_command(other);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("differs from the one trained"), std::string::npos) << bad.err;
}

TEST_F(HlTrain, ResumeRefusesOtherOptions) {
  auto args = train_args(runs.file("r"));
  auto killed = args;
  killed.insert(killed.begin(), {"env", "HL_TEST_KILL_AT=1:2:0"});
  EXPECT_EQ(run_command(killed).exit_code, 137);
  args[args.size() - 1] = "10";  // another seed
  args.push_back("--resume");
  const auto r = run_command(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the checkpoint was made with other options (seed 9 in the checkpoint, 10 now)"),
            std::string::npos)
      << r.err;
}

// A run records its inputs in every checkpoint: --resume against other labels, another
// feature file or another number of folds is refused, naming what changed (before, it
// silently continued the old model on the new data); the same inputs under another
// path resume as before.
TEST_F(HlTrain, ResumeRefusesChangedInputs) {
  const std::string out = runs.file("inputs");
  auto killed = train_args(out);
  killed.insert(killed.begin(), {"env", "HL_TEST_KILL_AT=2:2:1"});
  ASSERT_EQ(run_command(killed).exit_code, 137);
  auto resume_with = [&](const std::string& features, const std::string& labels, const std::string& folds) {
    auto a = train_args(out);
    a[2] = features;  // --features DIR
    a[4] = labels;    // --labels CSV
    a[10] = folds;    // --folds N
    a.push_back("--resume");
    return run_command(a);
  };

  // One score of one video changed (the third row: video synth_0000).
  const auto bytes = test::read_file(data_->file("labels.csv"));
  std::string text(bytes.begin(), bytes.end());
  const size_t row = text.find('\n', text.find('\n', text.find('\n') + 1) + 1) + 1;  // after two data rows
  ASSERT_EQ(text.substr(row, 13), "synth_0000,2,");
  text.replace(row, text.find('\n', row) - row, "synth_0000,2,1.5");
  const std::string labels = runs.file("other-labels.csv");
  test::write_file(labels, text);
  auto r = resume_with(data_->file("features"), labels, "3");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("checkpoint.safetensors: the run's inputs changed since the checkpoint was written: the "
                       "labels of video 'synth_0000' changed"),
            std::string::npos)
      << r.err;

  // The features of one video made with another seed (hl-synth writes it in the metadata).
  test::TempDir other;
  ASSERT_EQ(run_command({HL_SYNTH_PATH, "--out", other.path().string(), "--videos", "12", "--seconds", "60,80", "--seed",
                         "5", "--features", "affect,faces", "--strength", "affect=2.5,faces=1"})
                .exit_code,
            0);
  const std::string features = runs.file("other-features");
  fs::copy(data_->file("features"), features);
  fs::copy_file(other.file("features/synth_0007.safetensors"), features + "/synth_0007.safetensors",
                fs::copy_options::overwrite_existing);
  r = resume_with(features, data_->file("labels.csv"), "3");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("the feature file of video 'synth_0007' changed"), std::string::npos) << r.err;

  // Another number of folds: fold 1 would train on other videos.
  r = resume_with(data_->file("features"), data_->file("labels.csv"), "4");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("the fold's training, validation or test videos differ"), std::string::npos) << r.err;

  // The same labels and features in other places: resumed, as an uninterrupted run.
  const std::string copied = runs.file("same-labels.csv");
  fs::copy_file(data_->file("labels.csv"), copied);
  fs::copy_file(data_->file("features/synth_0007.safetensors"), features + "/synth_0007.safetensors",
                fs::copy_options::overwrite_existing);
  r = resume_with(features, copied, "3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(run_command(train_args(runs.file("inputs-whole"))).exit_code, 0);
  for (const std::string f : {"predictions.csv", "fold-2/model.safetensors", "fold-3/checkpoint.safetensors"})
    EXPECT_EQ(test::read_file(out + "/" + f), test::read_file(runs.file("inputs-whole/" + f))) << f;
}

// Every tensor of every safetensors file under `dir` (models and checkpoints) is finite.
void expect_all_files_finite(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".safetensors") continue;
    const SafetensorsFile file = SafetensorsFile::open(e.path().string());
    for (const std::string& name : file.names()) {
      const Tensor t = file.get(name).cast(DType::F32);
      for (int64_t i = 0; i < t.numel(); ++i)
        ASSERT_TRUE(std::isfinite(t.data<float>()[i])) << e.path() << " " << name << "[" << i << "]";
    }
  }
}

// A learning rate so large that the first Adam step throws the weights to ~1e30, from
// finite, standardised inputs: the next step's loss is NaN. The run stops there, naming
// the fold, epoch, step and the batch's videos, exits 1 and saves nothing (before: every
// weight NaN, "-nan" predictions, and exit 0 or a crash in the evaluation).
TEST_F(HlTrain, NonFiniteTrainingStopsAndSavesNothing) {
  auto args = train_args(runs.file("nan"), 2);
  args.insert(args.end(), {"--lr", "1e30"});
  const auto r = run_command(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("fold 1, epoch 1, step "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": the training loss is NaN; the step's batch holds the videos 'synth_00"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing of this fold was saved"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(runs.file("nan/fold-1/model.safetensors")));
  EXPECT_FALSE(fs::exists(runs.file("nan/fold-1/checkpoint.safetensors")));
  EXPECT_FALSE(fs::exists(runs.file("nan/predictions.csv")));
  EXPECT_FALSE(fs::exists(runs.file("nan/summary.json")));

  // Smaller, the weights grow over a few epochs before the loss turns NaN (epoch 3 of
  // fold 1 with this suite's data and OpenBLAS kernels): what the fold's folder holds
  // then is the last good epoch's checkpoint and model, every value finite.
  auto later = train_args(runs.file("nan-later"), 4);
  later.insert(later.end(), {"--lr", "4e17"});
  const auto rl = run_command(later);
  ASSERT_EQ(rl.exit_code, 1) << rl.err;
  ASSERT_NE(rl.err.find("error: fold "), std::string::npos) << rl.err;
  const std::string message = rl.err.substr(rl.err.find("error: fold "));  // "error: fold F, epoch E, step ..."
  const std::string fold = message.substr(12, message.find(',') - 12);
  const int epoch = std::stoi(message.substr(message.find(", epoch ") + 8));
  expect_all_files_finite(runs.file("nan-later"));
  if (epoch > 1) {
    EXPECT_NE(message.find("the fold's checkpoint holds epoch " + std::to_string(epoch - 1)), std::string::npos)
        << message;
    const SafetensorsFile ckpt = SafetensorsFile::open(runs.file("nan-later/fold-" + fold + "/checkpoint.safetensors"));
    EXPECT_EQ(ckpt.metadata().at("epochs_done"), std::to_string(epoch - 1));
  }
  EXPECT_FALSE(fs::exists(runs.file("nan-later/predictions.csv")));
}

TEST_F(HlTrain, BadInput) {
  auto r = run_command({HL_TRAIN_PATH, "--features", data_->file("features"), "--labels", data_->file("labels.csv"),
                        "--out", runs.file("x"), "--use", "places365"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no 'places365' tensor"), std::string::npos) << r.err;
  r = run_command({HL_TRAIN_PATH, "--features", data_->file("features"), "--labels", data_->file("labels.csv"),
                   "--out", runs.file("x"), "--use", "affect", "--folds", "20"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("20 folds need at least 20 videos"), std::string::npos) << r.err;
  r = run_command({HL_TRAIN_PATH, "--labels", data_->file("labels.csv"), "--out", runs.file("x")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--features is required"), std::string::npos) << r.err;
}

// Real options are finite numbers a float holds (CLI11's checks let "nan" through: --lr
// nan trained with the default rate, --val-fraction nan reached the fold split), the
// seed is not negative (-1 wrapped around), and each refusal says what is wanted.
TEST_F(HlTrain, NumericOptionsAreCheckedWithPlainMessages) {
  for (const auto& [option, value, message] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--lr", "nan", "--lr: 'nan' is not a number above 0"},
           {"--lr", "0", "--lr: '0' is not a number above 0"},
           {"--lr", "1e39", "--lr: '1e39' is too large: it is held as a float, at most 3.4e38"},
           {"--weight-decay", "nan", "--weight-decay: 'nan' is not a number of 0 or more"},
           {"--weight-decay", "-1", "--weight-decay: '-1' is not a number of 0 or more"},
           {"--val-fraction", "nan", "--val-fraction: 'nan' is not a number from 0 to 0.9"},
           {"--target-scale", "inf", "--target-scale: 'inf' is not a number above 0"},
           {"--frame-step", "0", "--frame-step: '0' is not a whole number from 1 to 1000000"},
           {"--seed", "-1", "--seed: '-1' is not a whole number from 0 to 18446744073709551615"}}) {
    auto args = train_args(runs.file("opt"), 1);
    args.insert(args.end(), {option, value});
    const auto r = run_command(args);
    EXPECT_EQ(r.exit_code, 2) << option << " " << value;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(runs.file("opt"))) << option << " " << value;
  }
}

// A checkpoint written before checkpoints recorded their inputs still resumes (its
// inputs cannot be checked, which a warning says), bit-identically.
TEST_F(HlTrain, CheckpointWithoutARecordOfInputsResumesWithAWarning) {
  const std::string out = runs.file("old");
  auto killed = train_args(out);
  killed.insert(killed.begin(), {"env", "HL_TEST_KILL_AT=2:2:1"});
  ASSERT_EQ(run_command(killed).exit_code, 137);
  for (const std::string fold : {"1", "2"}) {  // rewritten as the builds before wrote them: no "inputs"
    const std::string path = out + "/fold-" + fold + "/checkpoint.safetensors";
    std::vector<std::pair<std::string, Tensor>> tensors;
    std::map<std::string, std::string> meta;
    {
      const SafetensorsFile f = SafetensorsFile::open(path);
      for (const std::string& name : f.names()) tensors.emplace_back(name, f.get(name).clone());
      meta = f.metadata();
    }
    ASSERT_EQ(meta.erase("inputs"), 1u);
    write_safetensors(path, tensors, meta);
  }
  auto args = train_args(out);
  args.push_back("--resume");
  const auto r = run_command(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("fold-1/checkpoint.safetensors: written before checkpoints recorded their inputs"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(run_command(train_args(runs.file("old-whole"))).exit_code, 0);
  for (const std::string f : {"predictions.csv", "fold-2/model.safetensors", "fold-3/model.safetensors"})
    EXPECT_EQ(test::read_file(out + "/" + f), test::read_file(runs.file("old-whole/" + f))) << f;
}

// --device cuda without a usable GPU stops before any data is read, saying why; an
// unknown device is a usage error. (On a GPU machine the trainer itself runs there:
// tests/cuda/test_cuda_train.cpp.)
TEST_F(HlTrain, DeviceCudaWithoutAGpuIsRefusedClearly) {
  auto args = train_args(runs.file("cuda"));
  args.insert(args.end(), {"--device", "tpu"});
  EXPECT_EQ(run_command(args).exit_code, 2);
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is visible: the refusal needs a machine without one";
  args.back() = "cuda";
  const auto r = run_command(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--device cuda:0: "), std::string::npos) << r.err;  // "cuda" is device 0
  EXPECT_NE(r.err.find("use --device cpu"), std::string::npos) << r.err;
  args.back() = "cuda:x";  // parsed by engine::parse_device, refused as a wrong command line
  EXPECT_EQ(run_command(args).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(runs.file("cuda") + "/fold1")) << "nothing may be written";
}

// VASNet (--model vasnet) on short googlenet-only videos with a strong planted signal:
// it writes a prediction for every labelled segment of every video and model files of
// its own format, and a run killed mid-epoch or before the predictions and resumed is
// bit-identical to an uninterrupted one.
TEST_F(HlTrain, VasnetRunsAndResumesBitIdentically) {
  test::TempDir data;
  ASSERT_EQ(run_command({HL_SYNTH_PATH, "--out", data.path().string(), "--videos", "6", "--seconds", "15,20", "--seed",
                         "4", "--features", "googlenet", "--strength", "googlenet=4"})
                .exit_code,
            0);
  auto args = [&](const std::string& out) {
    return std::vector<std::string>{HL_TRAIN_PATH, "--features", data.file("features"), "--labels",
                                    data.file("labels.csv"), "--out", out, "--model", "vasnet", "--folds", "2",
                                    "--epochs", "2", "--seed", "9"};
  };
  const auto r = run_command(args(runs.file("v")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One prediction per labelled segment, the same (video, segment) pairs as the labels.
  auto keys = [](const std::string& path) {
    const auto bytes = test::read_file(path);
    std::string text(bytes.begin(), bytes.end()), line;
    std::vector<std::string> out;
    std::istringstream in(text);
    std::getline(in, line);  // header
    while (std::getline(in, line)) out.push_back(line.substr(0, line.rfind(',')));
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::vector<std::string> labelled = keys(data.file("labels.csv"));
  EXPECT_GE(labelled.size(), 18u);
  EXPECT_EQ(keys(runs.file("v/predictions.csv")), labelled);
  const json summary = json::parse(test::read_file(runs.file("v/summary.json")));
  EXPECT_EQ(summary["config"]["model"], "vasnet");
  EXPECT_EQ(summary["config"]["features"], "googlenet");
  EXPECT_EQ(summary["all"]["count"], 6);
  for (int f = 1; f <= 2; ++f) {
    const auto model = test::read_file(runs.file("v/fold-" + std::to_string(f) + "/model.safetensors"));
    EXPECT_NE(std::string(model.begin(), model.begin() + std::min<size_t>(model.size(), 4096)).find("hl.vasnet"),
              std::string::npos);
  }
  // Killed mid-epoch (fold 2, epoch 2, before its second video) and after fold 1's last epoch.
  for (const std::string at : {"2:2:1", "1:3:0"}) {
    const std::string out = runs.file("vk-" + at.substr(0, 1) + at.substr(2, 1));
    auto killed = args(out);
    killed.insert(killed.begin(), {"env", "HL_TEST_KILL_AT=" + at});
    EXPECT_EQ(run_command(killed).exit_code, 137) << at;
    auto resumed = args(out);
    resumed.push_back("--resume");
    const auto rr = run_command(resumed);
    ASSERT_EQ(rr.exit_code, 0) << at << ": " << rr.err;
    for (const std::string f : {"predictions.csv", "summary.json", "fold-1/model.safetensors", "fold-2/model.safetensors",
                                "fold-2/checkpoint.safetensors", "fold-1/test.pred.csv"})
      EXPECT_EQ(test::read_file(out + "/" + f), test::read_file(runs.file("v/" + f))) << at << " " << f;
  }
  // Every 15th frame (2 fps): still a prediction for every labelled segment (each is
  // the mean of its 10 kept frames), and the step is part of the model file.
  auto stepped = args(runs.file("v15"));
  stepped.insert(stepped.end(), {"--frame-step", "15"});
  const auto rs = run_command(stepped);
  ASSERT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_EQ(keys(runs.file("v15/predictions.csv")), labelled);
  const SafetensorsFile model = SafetensorsFile::open(runs.file("v15/fold-1/model.safetensors"));
  EXPECT_EQ(model.metadata().at("frame_step"), "15");
  EXPECT_EQ(model.get("normalise.googlenet.std").numel(), 1024);
  EXPECT_NE(test::read_file(runs.file("v15/predictions.csv")), test::read_file(runs.file("v/predictions.csv")));
  // A step above 150 would leave segments without a frame.
  auto too_far = args(runs.file("v151"));
  too_far.insert(too_far.end(), {"--frame-step", "151"});
  const auto rf = run_command(too_far);
  EXPECT_EQ(rf.exit_code, 1);
  EXPECT_NE(rf.err.find("frame step 151 is outside [1, 150]"), std::string::npos) << rf.err;
}

TEST_F(HlTrain, VasnetRefusesOptionsThatDoNotApply) {
  const std::vector<std::string> base = {HL_TRAIN_PATH, "--features", data_->file("features"), "--labels",
                                         data_->file("labels.csv"), "--out", runs.file("x"), "--model", "vasnet"};
  for (const auto& [extra, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--use", "affect"}, "uses googlenet features only"},
           {{"--batch", "8"}, "--batch does not apply"},
           {{"--loss", "ranking"}, "--loss does not apply"},
           {{"--hidden", "8"}, "no --hidden"},
           {{"--study", "single"}, "--study runs the highlight model"}}) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = run_command(a);
    EXPECT_EQ(r.exit_code, 1) << extra[0];
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  }
  // The suite's data has no googlenet tensor: a clear error naming it.
  const auto r = run_command(base);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no 'googlenet' tensor"), std::string::npos) << r.err;
  auto other = base;
  other[8] = "lstm";
  EXPECT_EQ(run_command(other).exit_code, 2);
  // The highlight model reads every frame: --frame-step is VASNet's.
  auto step = base;
  step[8] = "highlight";
  step.insert(step.end(), {"--frame-step", "15"});
  const auto rs = run_command(step);
  EXPECT_EQ(rs.exit_code, 1);
  EXPECT_NE(rs.err.find("--frame-step applies to --model vasnet only"), std::string::npos) << rs.err;
}

}  // namespace
}  // namespace hl
