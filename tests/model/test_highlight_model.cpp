// The highlight model's structure: parameter counts computed here independently from
// the layer formulas (the all-feature model must have exactly 314,825), the hidden-size
// rules for single-feature and leave-one-out models, stable parameter names, the
// initialisers, forward shapes, dropout and input errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "engine/autograd/shape_ops.h"
#include "nets/highlight_model.h"
#include "support/test_support.h"

namespace hl {
namespace {

// Parameter counts of the layers, from their definitions.
int64_t dense(int64_t in, int64_t out) { return in * out + out; }
int64_t conv1d(int64_t k, int64_t c_in, int64_t c_out) { return k * c_in * c_out + c_out; }
int64_t conv2d(int64_t kh, int64_t kw, int64_t c_in, int64_t c_out) { return kh * kw * c_in * c_out + c_out; }
int64_t lstm_direction(int64_t in, int64_t h) { return 4 * h * in + 4 * h * h + 4 * h; }  // kernel, recurrent, one bias

int64_t encoder_parameters(Feature f) {
  switch (f) {
    case Feature::GoogLeNet: return dense(1024, 64);
    case Feature::Places365: return dense(2048, 64);
    case Feature::Affect: return dense(128, 64);
    case Feature::Cam: return conv2d(14, 14, 1, 64) + dense(64, 64);
    case Feature::Faces: return 0;
    case Feature::Mfcc: return conv1d(3, 13, 64) + conv1d(3, 64, 128);
  }
  return -1;
}
int64_t width(Feature f) { return f == Feature::Faces ? 1 : f == Feature::Mfcc ? 128 : 64; }
int64_t after_concat(int64_t d, int64_t h) { return 2 * lstm_direction(d, h) + dense(2 * h, h) + dense(h, 1); }
int64_t model_parameters(const std::vector<Feature>& fs, int64_t h) {
  int64_t n = 0, d = 0;
  for (Feature f : fs) n += encoder_parameters(f), d += width(f);
  return n + after_concat(d, h);
}

std::vector<Feature> all_but(Feature left_out) {
  std::vector<Feature> fs;
  for (Feature f : all_features())
    if (f != left_out) fs.push_back(f);
  return fs;
}

TEST(HighlightModel, AllFeatureModelHasThePapersParameterCount) {
  // The per-branch figures of specs/paper.md's table.
  EXPECT_EQ(encoder_parameters(Feature::GoogLeNet), 65600);
  EXPECT_EQ(encoder_parameters(Feature::Places365), 131136);
  EXPECT_EQ(encoder_parameters(Feature::Affect), 8256);
  EXPECT_EQ(encoder_parameters(Feature::Cam), 12608 + 4160);
  EXPECT_EQ(encoder_parameters(Feature::Mfcc), 2560 + 24704);
  EXPECT_EQ(2 * lstm_direction(385, 20), 64960);
  EXPECT_EQ(after_concat(385, 20), 65801);
  EXPECT_EQ(model_parameters(all_features(), 20), 314825);

  const HighlightModel model(HighlightModelConfig::paper(all_features()), 7);
  EXPECT_EQ(model.config().hidden, 20);
  EXPECT_EQ(concat_width(all_features()), 385);
  EXPECT_EQ(post_concat_parameter_count(385, 20), 65801);
  EXPECT_EQ(model.parameter_count(), 314825);
}

TEST(HighlightModel, SingleFeatureModelsFollowTheHiddenSizeRule) {
  for (Feature f : all_features()) {
    const int64_t want_h = f == Feature::Faces ? 4 : f == Feature::Mfcc ? 13 : 20;
    const HighlightModel model(HighlightModelConfig::paper({f}), 1);
    EXPECT_EQ(model.config().hidden, want_h) << feature_spec(f).name;
    EXPECT_EQ(model.parameter_count(), model_parameters({f}, want_h)) << feature_spec(f).name;
  }
}

TEST(HighlightModel, LeaveOneOutModelsMatchTheAllFeatureCountAfterConcat) {
  const int64_t target = after_concat(385, 20);
  for (Feature left_out : all_features()) {
    const std::vector<Feature> fs = all_but(left_out);
    int64_t d = 0;
    for (Feature f : fs) d += width(f);
    int64_t best = 1;  // by brute force: the closest count, the smaller h on a tie
    for (int64_t h = 2; h < 200; ++h)
      if (std::llabs(after_concat(d, h) - target) < std::llabs(after_concat(d, best) - target)) best = h;
    const int64_t documented = left_out == Feature::Faces ? 20 : left_out == Feature::Mfcc ? 28 : 23;
    const HighlightModel model(HighlightModelConfig::paper(fs), 1);
    EXPECT_EQ(model.config().hidden, best) << "without " << feature_spec(left_out).name;
    EXPECT_EQ(best, documented) << "without " << feature_spec(left_out).name;
    EXPECT_EQ(model.parameter_count(), model_parameters(fs, best)) << "without " << feature_spec(left_out).name;
    std::printf("without %-9s d = %3lld, h = %lld, post-concat parameters %lld (target %lld)\n",
                feature_spec(left_out).name, (long long)d, (long long)best, (long long)after_concat(d, best),
                (long long)target);
  }
}

TEST(HighlightModel, ParameterNamesAndShapesAreStable) {
  const HighlightModel model(HighlightModelConfig::paper(all_features()), 3);
  const std::vector<std::pair<std::string, Shape>> want = {
      {"googlenet.dense.kernel", {1024, 64}}, {"googlenet.dense.bias", {64}},
      {"places365.dense.kernel", {2048, 64}}, {"places365.dense.bias", {64}},
      {"affect.dense.kernel", {128, 64}},     {"affect.dense.bias", {64}},
      {"cam.conv.kernel", {14, 14, 1, 64}},   {"cam.conv.bias", {64}},
      {"cam.dense.kernel", {64, 64}},         {"cam.dense.bias", {64}},
      {"mfcc.conv1.kernel", {3, 13, 64}},     {"mfcc.conv1.bias", {64}},
      {"mfcc.conv2.kernel", {3, 64, 128}},    {"mfcc.conv2.bias", {128}},
      {"bilstm.forward.kernel", {385, 80}},   {"bilstm.forward.recurrent_kernel", {20, 80}},
      {"bilstm.forward.bias", {80}},          {"bilstm.backward.kernel", {385, 80}},
      {"bilstm.backward.recurrent_kernel", {20, 80}}, {"bilstm.backward.bias", {80}},
      {"head.dense1.kernel", {40, 20}},       {"head.dense1.bias", {20}},
      {"head.dense2.kernel", {20, 1}},        {"head.dense2.bias", {1}},
  };
  ASSERT_EQ(model.named_parameters().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(model.named_parameters()[i].name, want[i].first);
    EXPECT_EQ(model.named_parameters()[i].value.shape(), want[i].second) << want[i].first;
    EXPECT_TRUE(model.named_parameters()[i].value.requires_grad()) << want[i].first;
  }
  EXPECT_THROW(model.parameter("nope.kernel"), Error);
  // The feature order of a configuration does not matter: the paper's order is used.
  const HighlightModel shuffled(HighlightModelConfig::paper({Feature::Mfcc, Feature::Faces, Feature::GoogLeNet}), 3);
  EXPECT_EQ(shuffled.config().features, (std::vector<Feature>{Feature::GoogLeNet, Feature::Faces, Feature::Mfcc}));
}

float max_abs(const Tensor& t) {
  float m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.data<float>()[i]));
  return m;
}

TEST(HighlightModel, InitialisersAreSeededAndFollowKeras) {
  const HighlightModel a(HighlightModelConfig::paper(all_features()), 11), b(HighlightModelConfig::paper(all_features()), 11),
      c(HighlightModelConfig::paper(all_features()), 12);
  for (size_t i = 0; i < a.named_parameters().size(); ++i) {
    const std::string& name = a.named_parameters()[i].name;
    const Tensor& va = a.named_parameters()[i].value.value();
    const Tensor& vb = b.named_parameters()[i].value.value();
    const Tensor& vc = c.named_parameters()[i].value.value();
    EXPECT_EQ(test::relative_error(va.data<float>(), vb.data<float>(), va.numel()), 0.0) << name << ": same seed";
    if (name.ends_with(".bias")) {
      EXPECT_EQ(max_abs(va), 0.0f) << name;
      continue;
    }
    EXPECT_GT(test::relative_error(va.data<float>(), vc.data<float>(), va.numel()), 0.1) << name << ": other seed";
    if (name.ends_with("recurrent_kernel")) {  // [h, 4h] with orthonormal rows
      const int64_t h = va.size(0), cols = va.size(1);
      double worst = 0;
      for (int64_t r = 0; r < h; ++r)
        for (int64_t s = 0; s < h; ++s) {
          double dot = 0;
          for (int64_t k = 0; k < cols; ++k) dot += double(va.data<float>()[r * cols + k]) * va.data<float>()[s * cols + k];
          worst = std::max(worst, std::fabs(dot - (r == s ? 1.0 : 0.0)));
        }
      EXPECT_LT(worst, 1e-5) << name;
    } else {  // Glorot uniform: within the limit, and reaching most of it
      const Shape& s = va.shape();
      int64_t receptive = 1;
      for (int i = 0; i + 2 < s.ndim(); ++i) receptive *= s[i];
      const double limit = std::sqrt(6.0 / double(receptive * (s[s.ndim() - 2] + s[s.ndim() - 1])));
      EXPECT_LE(max_abs(va), limit * (1 + 1e-6)) << name;
      if (va.numel() >= 64) {
        EXPECT_GT(max_abs(va), 0.8 * limit) << name;
      }
    }
  }
  // A parameter's initial value depends on its name, not on the other features.
  const HighlightModel alone(HighlightModelConfig::paper({Feature::Affect}), 11);
  const Tensor& x = alone.parameter("affect.dense.kernel").value();
  EXPECT_EQ(test::relative_error(x.data<float>(), a.parameter("affect.dense.kernel").value().data<float>(), x.numel()), 0.0);
  // Keras's unit_forget_bias as an option.
  HighlightModelConfig forget = HighlightModelConfig::paper({Feature::Faces});
  forget.unit_forget_bias = true;
  const HighlightModel with_forget_bias(forget, 1);
  const Tensor& bias = with_forget_bias.parameter("bilstm.forward.bias").value();  // [4h], gates i, f, g, o
  for (int64_t i = 0; i < bias.numel(); ++i) EXPECT_EQ(bias.data<float>()[i], (i >= 4 && i < 8) ? 1.0f : 0.0f);
}

// Random inputs of the real shapes for B segments of T frames.
std::map<Feature, Tensor> random_inputs(const std::vector<Feature>& fs, int64_t batch, int64_t frames, uint32_t seed) {
  std::map<Feature, Tensor> out;
  for (Feature f : fs) {
    std::vector<int64_t> dims{batch, frames * feature_spec(f).rows_per_frame};
    const auto& frame = feature_spec(f).frame_shape;
    if (frame.empty()) dims.push_back(1);
    dims.insert(dims.end(), frame.begin(), frame.end());
    const Shape shape(dims);
    out[f] = Tensor::from_vector(shape, test::random_floats(shape.numel(), seed++));
  }
  return out;
}

std::vector<float> values(const ag::Variable& v) {
  const float* p = v.value().data<float>();
  return {p, p + v.value().numel()};
}

TEST(HighlightModel, ForwardGivesOneScorePerSegmentAndDropoutIsSeeded) {
  const HighlightModel model(HighlightModelConfig::paper(all_features()), 5);
  const auto inputs = random_inputs(all_features(), 3, 8, 100);
  const ag::Variable eval = model.forward(inputs, false);
  EXPECT_EQ(eval.shape(), (Shape{3}));
  // Evaluation ignores the dropout stream; training is deterministic in it.
  EXPECT_EQ(values(model.forward(inputs, false, {9, 1234})), values(eval));
  const auto train_a = values(model.forward(inputs, true, {9, 0}));
  EXPECT_EQ(values(model.forward(inputs, true, {9, 0})), train_a);
  EXPECT_NE(train_a, values(eval));
  EXPECT_NE(values(model.forward(inputs, true, {9, model.dropout_words(3, 8)})), train_a);
  EXPECT_NE(values(model.forward(inputs, true, {10, 0})), train_a);
  // With every rate at zero, training is evaluation.
  HighlightModelConfig no_dropout = HighlightModelConfig::paper(all_features());
  no_dropout.encoder_dropout = no_dropout.lstm_input_dropout = no_dropout.lstm_recurrent_dropout = no_dropout.head_dropout = 0;
  const HighlightModel plain(no_dropout, 5);
  EXPECT_EQ(values(plain.forward(inputs, true, {9, 0})), values(eval));
  // Every parameter gets a gradient from a training step.
  ag::Variable loss = ag::sum_all(model.forward(inputs, true, {9, 0}));
  loss.backward();
  for (const NamedParameter& p : model.named_parameters()) EXPECT_TRUE(p.value.grad().defined()) << p.name;
}

TEST(HighlightModel, EverySubsetRuns) {
  for (unsigned mask = 1; mask < 64; ++mask) {
    std::vector<Feature> fs;
    for (size_t i = 0; i < 6; ++i)
      if (mask & (1u << i)) fs.push_back(all_features()[i]);
    const HighlightModel model(HighlightModelConfig::paper(fs), mask);
    const auto inputs = random_inputs(all_features(), 2, 4, mask);  // extra features are ignored
    const ag::Variable y = model.forward(inputs, true, {1, 0});
    ASSERT_EQ(y.shape(), (Shape{2})) << feature_list_string(fs);
    for (float v : values(y)) EXPECT_TRUE(std::isfinite(v)) << feature_list_string(fs);
  }
}

TEST(HighlightModel, BadInputsAndConfigurationsAreClearErrors) {
  const HighlightModel model(HighlightModelConfig::paper({Feature::Cam, Feature::Mfcc}), 5);
  auto inputs = random_inputs({Feature::Cam, Feature::Mfcc}, 2, 4, 1);
  auto expect_error = [&](const std::map<Feature, Tensor>& in, const std::string& needle) {
    try {
      model.forward(in, false);
      ADD_FAILURE() << "no error; expected one mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto missing = inputs;
  missing.erase(Feature::Mfcc);
  expect_error(missing, "no 'mfcc' input");
  auto short_mfcc = inputs;
  short_mfcc[Feature::Mfcc] = random_inputs({Feature::Mfcc}, 2, 3, 1)[Feature::Mfcc];  // 12 rows for 4 frames
  expect_error(short_mfcc, "'mfcc'");
  auto other_batch = inputs;
  other_batch[Feature::Mfcc] = random_inputs({Feature::Mfcc}, 3, 4, 1)[Feature::Mfcc];
  expect_error(other_batch, "'mfcc'");
  auto flat_cam = inputs;
  flat_cam[Feature::Cam] = Tensor::zeros(Shape{2, 4, 196}, DType::F32);
  expect_error(flat_cam, "'cam'");

  EXPECT_THROW(HighlightModelConfig::paper({}), Error);
  EXPECT_THROW(HighlightModelConfig::paper({Feature::Faces, Feature::Faces}), Error);
  HighlightModelConfig bad = HighlightModelConfig::paper({Feature::Faces});
  bad.head_dropout = 1.0f;
  EXPECT_THROW(HighlightModel(bad, 1), Error);
  bad = HighlightModelConfig::paper({Feature::Faces});
  bad.hidden = 0;
  EXPECT_THROW(HighlightModel(bad, 1), Error);
}

}  // namespace
}  // namespace hl
