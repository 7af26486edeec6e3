// VASNet (nets/vasnet.h): parameter names, shapes and count (computed here from the layer
// list), the published code's initialisation, forward shapes and range, dropout
// determinism, gradients reaching every parameter, model files (with a frame step and
// input normalisation: format_version 2), and segment means over every frame or every
// N-th (independent sums written out here).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "engine/autograd/loss.h"
#include "engine/autograd/shape_ops.h"
#include "engine/safetensors.h"
#include "nets/highlight_model.h"
#include "nets/vasnet.h"
#include "support/test_support.h"

namespace hl {
namespace {

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// A [T, d] input with values in [0, 2), like pooled CNN features.
Tensor random_frames(int64_t frames, int64_t d, uint64_t seed) {
  Tensor t = Tensor::empty(Shape{frames, d}, DType::F32);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = 2.0f * static_cast<float>((i * 2654435761u + seed * 97u) % 1000u) / 1000.0f;
  return t;
}

VasnetConfig small(int64_t d = 16) {
  VasnetConfig c;
  c.input = d;
  return c;
}

TEST(Vasnet, NamesShapesAndParameterCount) {
  const Vasnet model(VasnetConfig{}, 1);
  const int64_t d = 1024;
  // Four attention projections d -> d without bias, two LayerNorms (gain and bias),
  // dense d -> d with bias, dense d -> 1 with bias.
  const int64_t expected = 4 * (d * d) + 2 * (2 * d) + (d * d + d) + (d * 1 + 1);
  EXPECT_EQ(expected, 5249025);
  EXPECT_EQ(model.parameter_count(), expected);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> want = {
      {"attention.key.kernel", {d, d}}, {"attention.query.kernel", {d, d}}, {"attention.value.kernel", {d, d}},
      {"attention.output.kernel", {d, d}}, {"norm1.gain", {d}}, {"norm1.bias", {d}}, {"dense1.kernel", {d, d}},
      {"dense1.bias", {d}}, {"norm2.gain", {d}}, {"norm2.bias", {d}}, {"dense2.kernel", {d, 1}}, {"dense2.bias", {1}}};
  ASSERT_EQ(model.named_parameters().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(model.named_parameters()[i].name, want[i].first);
    EXPECT_EQ(model.named_parameters()[i].value.shape().vec(), want[i].second) << want[i].first;
    EXPECT_TRUE(model.named_parameters()[i].value.requires_grad());
  }
  EXPECT_EQ(model.parameters().size(), want.size());
  expect_error([&] { (void)model.parameter("head.dense1.kernel"); }, "no parameter 'head.dense1.kernel'");
}

TEST(Vasnet, InitialisationIsThePublishedCodes) {
  const Vasnet a(VasnetConfig{}, 7), b(VasnetConfig{}, 7), c(VasnetConfig{}, 8);
  for (const NamedParameter& p : a.named_parameters()) {
    const Tensor& t = p.value.value();
    const float* v = t.data<float>();
    const int64_t n = t.numel();
    if (p.name.ends_with(".kernel")) {
      // Xavier uniform, gain sqrt(2): U(-l, l), l = sqrt(2) sqrt(6 / (in + out)); variance l^2 / 3.
      const double limit = std::sqrt(2.0) * std::sqrt(6.0 / static_cast<double>(t.size(0) + t.size(1)));
      double sq = 0, max_abs = 0;
      for (int64_t i = 0; i < n; ++i) sq += double(v[i]) * v[i], max_abs = std::max(max_abs, std::fabs(double(v[i])));
      EXPECT_LE(max_abs, limit) << p.name;
      if (n > 1000) {
        EXPECT_GT(max_abs, 0.99 * limit) << p.name;
        EXPECT_NEAR(sq / static_cast<double>(n), limit * limit / 3, 0.02 * limit * limit) << p.name;
      }
    } else {
      const float want = p.name.ends_with(".gain") ? 1.0f : p.name.starts_with("dense") ? 0.1f : 0.0f;
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(v[i], want) << p.name;
    }
    // Same seed: identical; another seed: different kernels.
    const Tensor& tb = b.parameter(p.name).value();
    EXPECT_EQ(test::relative_error(v, tb.data<float>(), n), 0.0) << p.name;
    if (p.name.ends_with(".kernel")) {
      EXPECT_GT(test::relative_error(v, c.parameter(p.name).value().data<float>(), n), 0.0) << p.name;
    }
  }
  // Kernels of equal shape draw from different stream ranges.
  EXPECT_GT(test::relative_error(a.parameter("attention.key.kernel").value().data<float>(),
                                 a.parameter("attention.query.kernel").value().data<float>(), 1024 * 1024),
            0.0);
}

TEST(Vasnet, ForwardGivesOneScorePerFrame) {
  const Vasnet model(small(), 3);
  for (int64_t frames : {1, 7, 300}) {
    const ag::Variable s = model.forward(random_frames(frames, 16, 1), false);
    ASSERT_EQ(s.shape().vec(), std::vector<int64_t>{frames});
    for (int64_t i = 0; i < frames; ++i) {
      EXPECT_GT(s.value().data<float>()[i], 0.0f);
      EXPECT_LT(s.value().data<float>()[i], 1.0f);
    }
  }
  expect_error([&] { (void)model.forward(random_frames(5, 15, 1), false); }, "expected f32[T, 16]");
  expect_error([&] { (void)model.forward(Tensor::zeros(Shape{2, 5, 16}, DType::F32), false); }, "expected f32[T, 16]");
  expect_error([&] { (void)model.forward(Tensor(), false); }, "undefined");
}

TEST(Vasnet, ForwardMatchesTheFormulaWrittenOut) {
  // The whole network evaluated here with plain loops in double, from the parameters.
  const int64_t d = 6, frames = 5;
  VasnetConfig config = small(d);
  const Vasnet model(config, 11);
  const Tensor x = random_frames(frames, d, 3);
  auto P = [&](const std::string& n) { return model.parameter(n).value().data<float>(); };
  auto linear = [&](const std::vector<double>& in, int64_t rows, const float* w, int64_t out, const float* b) {
    std::vector<double> y(static_cast<size_t>(rows * out), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double s = b ? b[o] : 0.0;
        for (int64_t i = 0; i < d; ++i) s += in[static_cast<size_t>(r * d + i)] * w[i * out + o];
        y[static_cast<size_t>(r * out + o)] = s;
      }
    return y;
  };
  auto norm = [&](std::vector<double> y, const float* g, const float* b) {
    for (int64_t r = 0; r < frames; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < d; ++i) mean += y[static_cast<size_t>(r * d + i)] / d;
      for (int64_t i = 0; i < d; ++i) var += std::pow(y[static_cast<size_t>(r * d + i)] - mean, 2) / (d - 1);
      for (int64_t i = 0; i < d; ++i) {
        double& v = y[static_cast<size_t>(r * d + i)];
        v = g[i] * (v - mean) / (std::sqrt(var) + 1e-6) + b[i];
      }
    }
    return y;
  };
  std::vector<double> xv(x.data<float>(), x.data<float>() + x.numel());
  const auto k = linear(xv, frames, P("attention.key.kernel"), d, nullptr);
  auto q = linear(xv, frames, P("attention.query.kernel"), d, nullptr);
  const auto v = linear(xv, frames, P("attention.value.kernel"), d, nullptr);
  for (double& e : q) e *= 0.06f;
  std::vector<double> a(static_cast<size_t>(frames * frames));
  for (int64_t i = 0; i < frames; ++i) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < frames; ++j) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += q[static_cast<size_t>(i * d + c)] * k[static_cast<size_t>(j * d + c)];
      a[static_cast<size_t>(i * frames + j)] = s;
      mx = std::max(mx, s);
    }
    for (int64_t j = 0; j < frames; ++j) {
      double& e = a[static_cast<size_t>(i * frames + j)];
      e = std::exp(e - mx);
      sum += e;
    }
    for (int64_t j = 0; j < frames; ++j) a[static_cast<size_t>(i * frames + j)] /= sum;
  }
  std::vector<double> mixed(static_cast<size_t>(frames * d), 0.0);  // out[j] = sum_i A[i, j] V[i]
  for (int64_t j = 0; j < frames; ++j)
    for (int64_t i = 0; i < frames; ++i)
      for (int64_t c = 0; c < d; ++c)
        mixed[static_cast<size_t>(j * d + c)] += a[static_cast<size_t>(i * frames + j)] * v[static_cast<size_t>(i * d + c)];
  auto y = linear(mixed, frames, P("attention.output.kernel"), d, nullptr);
  for (size_t i = 0; i < y.size(); ++i) y[i] += xv[i];
  y = norm(y, P("norm1.gain"), P("norm1.bias"));
  y = linear(y, frames, P("dense1.kernel"), d, P("dense1.bias"));
  for (double& e : y) e = std::max(e, 0.0);
  y = norm(y, P("norm2.gain"), P("norm2.bias"));
  const auto out = linear(y, frames, P("dense2.kernel"), 1, P("dense2.bias"));
  const ag::Variable s = model.forward(x, false);
  for (int64_t t = 0; t < frames; ++t)
    EXPECT_NEAR(s.value().data<float>()[t], 1.0 / (1.0 + std::exp(-out[static_cast<size_t>(t)])), 2e-6) << t;
}

TEST(Vasnet, DropoutIsDeterministicAndOffInEvaluation) {
  VasnetConfig config = small();
  config.residual_dropout = 0.5f;
  const Vasnet model(config, 5);
  const Tensor x = random_frames(9, 16, 2);
  EXPECT_EQ(model.dropout_words(9), static_cast<uint64_t>(9 * 9 + 2 * 9 * 16));
  auto run = [&](bool training, ag::DropoutRng rng) {
    const Tensor s = model.forward(x, training, rng).value();
    return std::vector<float>(s.data<float>(), s.data<float>() + s.numel());
  };
  EXPECT_EQ(run(true, {1, 0}), run(true, {1, 0}));
  EXPECT_NE(run(true, {1, 0}), run(true, {1, 1000}));
  EXPECT_NE(run(true, {1, 0}), run(true, {2, 0}));
  EXPECT_NE(run(true, {1, 0}), run(false, {1, 0}));
  EXPECT_EQ(run(false, {1, 0}), run(false, {9, 12345}));
}

TEST(Vasnet, EveryParameterGetsAGradient) {
  const Vasnet model(small(), 5);
  const Tensor x = random_frames(12, 16, 4);
  const ag::Variable s = model.forward(x, true, {3, 0});
  const ag::Variable loss = ag::mse_loss(s, ag::Variable(Tensor::zeros(Shape{12}, DType::F32)));
  loss.backward();
  for (const NamedParameter& p : model.named_parameters()) {
    ASSERT_TRUE(p.value.grad().defined()) << p.name;
    const Tensor& g = p.value.grad();
    double norm = 0;
    for (int64_t i = 0; i < g.numel(); ++i) norm += std::fabs(g.data<float>()[i]);
    EXPECT_GT(norm, 0.0) << p.name;
  }
}

TEST(Vasnet, SaveThenLoadGivesTheSameModel) {
  test::TempDir dir;
  VasnetConfig config = small(32);
  config.residual_dropout = 0.5f;
  config.hidden_dropout = 0.25f;
  const Vasnet model(config, 42);
  const std::string path = dir.file("vasnet.safetensors");
  model.save(path, {{"fold", "3"}});
  std::map<std::string, std::string> metadata;
  const Vasnet loaded = Vasnet::load(path, &metadata);
  EXPECT_EQ(metadata.at("format"), "hl.vasnet");
  EXPECT_EQ(metadata.at("fold"), "3");
  EXPECT_EQ(loaded.config().input, 32);
  EXPECT_EQ(loaded.config().residual_dropout, 0.5f);
  EXPECT_EQ(loaded.config().hidden_dropout, 0.25f);
  EXPECT_EQ(loaded.config().attention_dropout, 0.5f);
  EXPECT_EQ(loaded.config().query_scale, 0.06f);
  EXPECT_EQ(loaded.config().norm_eps, 1e-6f);
  ASSERT_EQ(loaded.named_parameters().size(), model.named_parameters().size());
  for (size_t i = 0; i < model.named_parameters().size(); ++i) {
    const Tensor& a = model.named_parameters()[i].value.value();
    const Tensor& b = loaded.named_parameters()[i].value.value();
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_EQ(std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()), 0) << model.named_parameters()[i].name;
  }
  const Tensor x = random_frames(20, 32, 1);
  const Tensor s1 = model.forward(x, false).value(), s2 = loaded.forward(x, false).value();
  EXPECT_EQ(std::memcmp(s1.data<float>(), s2.data<float>(), s1.nbytes()), 0);
  ag::Variable writable = loaded.parameter("dense1.kernel");
  EXPECT_NO_THROW(writable.value_mut().data<float>()[0] = 1.0f);
  expect_error([&] { model.save(dir.file("x.safetensors"), {{"input", "3"}}); }, "part of the VASNet configuration");
}

TEST(Vasnet, LoadErrors) {
  test::TempDir dir;
  const Vasnet model(small(), 1);
  // A highlight model file is not a VASNet file, and the other way round.
  const HighlightModel highlight(HighlightModelConfig::paper({Feature::Faces}), 1);
  highlight.save(dir.file("highlight.safetensors"));
  expect_error([&] { (void)Vasnet::load(dir.file("highlight.safetensors")); }, "not a VASNet model file");
  model.save(dir.file("v.safetensors"));
  expect_error([&] { (void)HighlightModel::load(dir.file("v.safetensors")); }, "not a highlight model file");

  auto write_with = [&](const std::string& name, const std::function<void(std::vector<std::pair<std::string, Tensor>>&,
                                                                           std::map<std::string, std::string>&)>& edit) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const NamedParameter& p : model.named_parameters()) tensors.emplace_back(p.name, p.value.value());
    std::map<std::string, std::string> meta = model.config().to_metadata();
    edit(tensors, meta);
    write_safetensors(dir.file(name), tensors, meta);
    return dir.file(name);
  };
  std::string p = write_with("missing.safetensors", [](auto& t, auto&) { t.erase(t.begin() + 6); });
  expect_error([&] { (void)Vasnet::load(p); }, "no tensor 'dense1.kernel'");
  p = write_with("shape.safetensors", [](auto& t, auto&) { t[11].second = Tensor::zeros(Shape{2}, DType::F32); });
  expect_error([&] { (void)Vasnet::load(p); }, "tensor 'dense2.bias' is F32[2]; expected F32[1]");
  p = write_with("extra.safetensors", [](auto& t, auto&) { t.emplace_back("bonus", Tensor::zeros(Shape{1}, DType::F32)); });
  expect_error([&] { (void)Vasnet::load(p); }, "'bonus' is not a VASNet parameter");
  p = write_with("meta.safetensors", [](auto&, auto& m) { m["attention_dropout"] = "half"; });
  expect_error([&] { (void)Vasnet::load(p); }, "'attention_dropout' is 'half', not a number");
  p = write_with("rate.safetensors", [](auto&, auto& m) { m["hidden_dropout"] = "1"; });
  expect_error([&] { (void)Vasnet::load(p); }, "hidden dropout 1 is outside [0, 1)");
  p = write_with("version.safetensors", [](auto&, auto& m) { m["format_version"] = "3"; });
  expect_error([&] { (void)Vasnet::load(p); }, "format version '3' is not supported");
  // A frame step needs version 2 (an older build would silently predict at step 1), and
  // at most 150.
  p = write_with("step_v1.safetensors", [](auto&, auto& m) { m["frame_step"] = "15"; });
  expect_error([&] { (void)Vasnet::load(p); }, "'frame_step' needs format_version 2");
  p = write_with("step_big.safetensors", [](auto&, auto& m) { m["format_version"] = "2", m["frame_step"] = "151"; });
  expect_error([&] { (void)Vasnet::load(p); }, "frame step 151 is outside [1, 150]");
  p = write_with("claims.safetensors", [](auto&, auto& m) {
    m["format_version"] = "2", m["input_normalisation"] = "standardise", m["input_normalisation_eps"] = "0.001";
  });
  expect_error([&] { (void)Vasnet::load(p); }, "no tensor 'normalise.googlenet.mean'");
}

// A frame step and googlenet statistics go through a file and back; a version 1 file
// (no step, no statistics) is what the defaults still write.
TEST(Vasnet, FileKeepsFrameStepAndNormalisation) {
  test::TempDir dir;
  VasnetConfig config;  // input 1024: googlenet statistics fit only the real width
  config.frame_step = 15;
  Vasnet model(config, 3);
  std::vector<double> mean(1024), stddev(1024);
  for (size_t i = 0; i < 1024; ++i) mean[i] = 0.01 * static_cast<double>(i), stddev[i] = i % 7 == 0 ? 0.0 : 0.5 + 1e-3 * i;
  model.set_input_normalisation(InputNormalisation({{Feature::GoogLeNet, {mean, stddev}}}));
  model.save(dir.file("v.safetensors"));
  const Vasnet loaded = Vasnet::load(dir.file("v.safetensors"));
  EXPECT_EQ(loaded.config().frame_step, 15);
  EXPECT_TRUE(loaded.input_normalisation() == model.input_normalisation());
  EXPECT_EQ(loaded.input_normalisation().stddev(Feature::GoogLeNet)[7], 0.0f);
  const SafetensorsFile file = SafetensorsFile::open(dir.file("v.safetensors"));
  EXPECT_EQ(file.metadata().at("format_version"), "2");
  EXPECT_EQ(file.metadata().at("frame_step"), "15");

  Vasnet plain(VasnetConfig{}, 3);
  plain.save(dir.file("plain.safetensors"));
  const SafetensorsFile plain_file = SafetensorsFile::open(dir.file("plain.safetensors"));
  EXPECT_EQ(plain_file.metadata().at("format_version"), "1");
  EXPECT_EQ(plain_file.metadata().count("frame_step"), 0u);
  EXPECT_FALSE(Vasnet::load(dir.file("plain.safetensors")).input_normalisation().enabled());
  expect_error([&] { plain.set_input_normalisation(InputNormalisation({{Feature::Affect, {std::vector<double>(128, 0.0), std::vector<double>(128, 1.0)}}})); },
               "do not fit");
  VasnetConfig too_far;
  too_far.frame_step = 151;
  expect_error([&] { Vasnet v(too_far, 1); }, "frame step 151 is outside [1, 150]");
}

TEST(Vasnet, SegmentMeansAverageEachSegmentsFrames) {
  std::vector<float> scores(450);
  double want[3] = {0, 0, 0};
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] = static_cast<float>((i * 37) % 101) / 101.0f;
    want[i / 150] += scores[i] / 150.0;
  }
  const std::vector<float> means = segment_means(Tensor::from_vector(Shape{450}, scores), 3, 150);
  ASSERT_EQ(means.size(), 3u);
  for (size_t s = 0; s < 3; ++s) EXPECT_NEAR(means[s], want[s], 1e-7) << s;
  expect_error([&] { (void)segment_means(Tensor::from_vector(Shape{451}, std::vector<float>(451)), 3, 150); },
               "kept frames of 3 segments");
}

// Every N-th frame: kept frame k is frame k·N of the video, in segment floor(k·N / 150).
// Scores = k make each mean the mean of an index range, written out here.
TEST(Vasnet, SegmentMeansOverKeptFrames) {
  auto ramp = [](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) v[static_cast<size_t>(k)] = static_cast<float>(k);
    return Tensor::from_vector(Shape{n}, v);
  };
  // Step 15 (2 fps): 10 frames per segment, k in [10s, 10s + 10): mean 10s + 4.5.
  EXPECT_EQ(kept_frames(3, 150, 15), 30);
  EXPECT_EQ(segment_means(ramp(30), 3, 150, 15), (std::vector<float>{4.5f, 14.5f, 24.5f}));
  // Step 40 does not divide 150: frames 0, 40, ..., 440 (12); segment 0 holds 0..120 (k 0-3),
  // segment 1 160..280 (k 4-7), segment 2 320..440 (k 8-11).
  EXPECT_EQ(kept_frames(3, 150, 40), 12);
  EXPECT_EQ(segment_means(ramp(12), 3, 150, 40), (std::vector<float>{1.5f, 5.5f, 9.5f}));
  // Step 150: one frame each, the first of the segment.
  EXPECT_EQ(segment_means(ramp(3), 3, 150, 150), (std::vector<float>{0.0f, 1.0f, 2.0f}));
  // Step 1 is the plain per-segment mean.
  EXPECT_EQ(kept_frames(3, 150, 1), 450);
  // Above 150 a segment would have no frame.
  expect_error([&] { (void)segment_means(ramp(3), 3, 150, 151); }, "without a frame");
  expect_error([&] { (void)segment_means(ramp(31), 3, 150, 15); }, "the 30 kept frames");
}

}  // namespace
}  // namespace hl
