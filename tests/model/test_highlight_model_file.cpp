// Model files: save() then load() gives the same configuration, the same parameters,
// the same input normalisation statistics and the same scores; the file is plain
// safetensors with the configuration in its metadata (format_version 1 without
// statistics, as every earlier file; 2 with them); and files that do not fit the model
// are clear errors naming the problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "engine/safetensors.h"
#include "nets/highlight_model.h"
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

TEST(HighlightModelFile, SaveThenLoadGivesTheSameModel) {
  test::TempDir dir;
  HighlightModelConfig config = HighlightModelConfig::paper({Feature::Affect, Feature::Faces, Feature::Mfcc});
  config.lstm_recurrent_dropout = 0.3f;
  config.head_dropout = 0.1f;
  const HighlightModel model(config, 42);
  const std::string path = dir.file("model.safetensors");
  model.save(path, {{"normalisation", "{\"affect\": [0, 1]}"}});

  std::map<std::string, std::string> metadata;
  const HighlightModel loaded = HighlightModel::load(path, &metadata);
  EXPECT_EQ(metadata.at("normalisation"), "{\"affect\": [0, 1]}");
  EXPECT_EQ(metadata.at("features"), "affect,faces,mfcc");
  EXPECT_EQ(metadata.at("hidden"), std::to_string(config.hidden));
  EXPECT_EQ(loaded.config().features, config.features);
  EXPECT_EQ(loaded.config().hidden, config.hidden);
  EXPECT_EQ(loaded.config().encoder_dropout, config.encoder_dropout);
  EXPECT_EQ(loaded.config().lstm_input_dropout, config.lstm_input_dropout);
  EXPECT_EQ(loaded.config().lstm_recurrent_dropout, 0.3f);
  EXPECT_EQ(loaded.config().head_dropout, 0.1f);
  ASSERT_EQ(loaded.named_parameters().size(), model.named_parameters().size());
  for (size_t i = 0; i < model.named_parameters().size(); ++i) {
    const Tensor& a = model.named_parameters()[i].value.value();
    const Tensor& b = loaded.named_parameters()[i].value.value();
    ASSERT_EQ(a.shape(), b.shape());
    EXPECT_EQ(test::relative_error(b.data<float>(), a.data<float>(), a.numel()), 0.0) << model.named_parameters()[i].name;
  }
  // Loaded parameters are writable (training continues from a file).
  ag::Variable writable = loaded.parameter("affect.dense.kernel");
  EXPECT_NO_THROW(writable.value_mut().data<float>()[0] = 1.0f);

  // The file is ordinary safetensors: every parameter by name.
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.tensors().size(), model.named_parameters().size());
  EXPECT_TRUE(file.contains("mfcc.conv2.kernel"));
  EXPECT_EQ(file.metadata().at("format"), "hl.highlight_model");
}

TEST(HighlightModelFile, FilesThatDoNotFitAreClearErrors) {
  test::TempDir dir;
  const HighlightModel model(HighlightModelConfig::paper({Feature::Faces}), 1);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const NamedParameter& p : model.named_parameters()) tensors.emplace_back(p.name, p.value.value());
  const auto metadata = model.config().to_metadata();

  const std::string missing = dir.file("missing.safetensors");
  write_safetensors(missing, {tensors.begin() + 1, tensors.end()}, metadata);
  expect_error([&] { HighlightModel::load(missing); }, "no tensor 'bilstm.forward.kernel'");

  auto wrong = tensors;
  wrong[0].second = Tensor::zeros(Shape{2, 16}, DType::F32);
  const std::string wrong_shape = dir.file("wrong_shape.safetensors");
  write_safetensors(wrong_shape, wrong, metadata);
  expect_error([&] { HighlightModel::load(wrong_shape); }, "'bilstm.forward.kernel' is F32[2, 16]");

  auto extra = tensors;
  extra.emplace_back("head.dense3.kernel", Tensor::zeros(Shape{1}, DType::F32));
  const std::string extra_path = dir.file("extra.safetensors");
  write_safetensors(extra_path, extra, metadata);
  expect_error([&] { HighlightModel::load(extra_path); }, "'head.dense3.kernel' is not a parameter");

  const std::string no_config = dir.file("no_config.safetensors");
  write_safetensors(no_config, tensors);
  expect_error([&] { HighlightModel::load(no_config); }, "not a highlight model file");

  auto bad_hidden = metadata;
  bad_hidden["hidden"] = "four";
  const std::string bad_hidden_path = dir.file("bad_hidden.safetensors");
  write_safetensors(bad_hidden_path, tensors, bad_hidden);
  expect_error([&] { HighlightModel::load(bad_hidden_path); }, "'hidden' is 'four'");

  auto bad_feature = metadata;
  bad_feature["features"] = "faces,smell";
  const std::string bad_feature_path = dir.file("bad_feature.safetensors");
  write_safetensors(bad_feature_path, tensors, bad_feature);
  expect_error([&] { HighlightModel::load(bad_feature_path); }, "unknown feature 'smell'");

  expect_error([&] { model.save(dir.file("clash.safetensors"), {{"hidden", "3"}}); }, "'hidden'");
}

// Statistics for affect [128] and faces [1], one constant channel (std 0).
InputNormalisation affect_faces_statistics() {
  std::vector<double> mean(128), stddev(128);
  for (size_t i = 0; i < 128; ++i) mean[i] = 0.1 * static_cast<double>(i) - 3.0, stddev[i] = 0.25 + 0.01 * i;
  stddev[5] = 0.0;
  return InputNormalisation({{Feature::Affect, {mean, stddev}}, {Feature::Faces, {{0.04}, {0.02}}}});
}

TEST(HighlightModelFile, NormalisationStatisticsRoundTrip) {
  test::TempDir dir;
  HighlightModel model(HighlightModelConfig::paper({Feature::Affect, Feature::Faces}), 5);
  model.set_input_normalisation(affect_faces_statistics());
  model.save(dir.file("m.safetensors"), {{"fold", "1"}});
  std::map<std::string, std::string> metadata;
  const HighlightModel loaded = HighlightModel::load(dir.file("m.safetensors"), &metadata);
  EXPECT_EQ(metadata.at("format_version"), "2");
  EXPECT_EQ(metadata.at("input_normalisation"), "standardise");
  EXPECT_EQ(metadata.at("input_normalisation_eps"), "0.001");
  EXPECT_EQ(metadata.at("fold"), "1");
  ASSERT_TRUE(loaded.input_normalisation().enabled());
  EXPECT_TRUE(loaded.input_normalisation() == model.input_normalisation());
  EXPECT_EQ(loaded.input_normalisation().mean(Feature::Affect)[10], static_cast<float>(0.1 * 10 - 3.0));
  EXPECT_EQ(loaded.input_normalisation().stddev(Feature::Faces)[0], 0.02f);
  const SafetensorsFile file = SafetensorsFile::open(dir.file("m.safetensors"));
  EXPECT_EQ(file.get("normalise.affect.std").shape(), Shape{128});
  EXPECT_EQ(file.get("normalise.faces.mean").shape(), Shape{1});
  for (size_t i = 0; i < model.named_parameters().size(); ++i) {
    const Tensor& a = model.named_parameters()[i].value.value();
    const Tensor& b = loaded.named_parameters()[i].value.value();
    EXPECT_EQ(test::relative_error(b.data<float>(), a.data<float>(), a.numel()), 0.0);
  }
  // Without statistics: format_version 1 and no normalise tensors, read back as none.
  const HighlightModel plain(HighlightModelConfig::paper({Feature::Affect, Feature::Faces}), 5);
  plain.save(dir.file("plain.safetensors"));
  const SafetensorsFile plain_file = SafetensorsFile::open(dir.file("plain.safetensors"));
  EXPECT_EQ(plain_file.metadata().at("format_version"), "1");
  EXPECT_EQ(plain_file.tensors().size(), plain.named_parameters().size());
  EXPECT_FALSE(HighlightModel::load(dir.file("plain.safetensors")).input_normalisation().enabled());
}

TEST(HighlightModelFile, NormalisationErrors) {
  test::TempDir dir;
  HighlightModel model(HighlightModelConfig::paper({Feature::Affect, Feature::Faces}), 5);
  model.set_input_normalisation(affect_faces_statistics());
  model.save(dir.file("m.safetensors"));
  const SafetensorsFile good = SafetensorsFile::open(dir.file("m.safetensors"));
  auto write_with = [&](const std::string& name,
                        const std::function<void(std::vector<std::pair<std::string, Tensor>>&,
                                                 std::map<std::string, std::string>&)>& edit) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (const std::string& n : good.names()) tensors.emplace_back(n, good.get(n));
    std::map<std::string, std::string> meta = good.metadata();
    edit(tensors, meta);
    write_safetensors(dir.file(name), tensors, meta);
    return dir.file(name);
  };
  auto drop = [](std::vector<std::pair<std::string, Tensor>>& t, const std::string& name) {
    t.erase(std::find_if(t.begin(), t.end(), [&](const auto& p) { return p.first == name; }));
  };
  // Claims statistics without them.
  std::string p = write_with("missing.safetensors", [&](auto& t, auto&) { drop(t, "normalise.faces.std"); });
  expect_error([&] { HighlightModel::load(p); }, "claims input normalisation but has no tensor 'normalise.faces.std'");
  // Statistics in a file that does not claim them (an unknown tensor).
  p = write_with("unclaimed.safetensors", [](auto&, auto& m) {
    m.erase("input_normalisation");
    m["format_version"] = "1";
  });
  expect_error([&] { HighlightModel::load(p); }, "'normalise.affect.mean' is not a parameter");
  // A version 1 file cannot claim them (an older build would ignore them).
  p = write_with("v1.safetensors", [](auto&, auto& m) { m["format_version"] = "1"; });
  expect_error([&] { HighlightModel::load(p); }, "needs format_version 2");
  p = write_with("v3.safetensors", [](auto&, auto& m) { m["format_version"] = "3"; });
  expect_error([&] { HighlightModel::load(p); }, "format version '3' is not supported");
  p = write_with("kind.safetensors", [](auto&, auto& m) { m["input_normalisation"] = "whiten"; });
  expect_error([&] { HighlightModel::load(p); }, "'whiten'");
  p = write_with("shape.safetensors", [](auto& t, auto&) {
    for (auto& [n, v] : t)
      if (n == "normalise.affect.mean") v = Tensor::zeros(Shape{127}, DType::F32);
  });
  expect_error([&] { HighlightModel::load(p); }, "'normalise.affect.mean' is not F32 [128]");
  p = write_with("negative.safetensors", [](auto& t, auto&) {
    for (auto& [n, v] : t)
      if (n == "normalise.faces.std") v = Tensor::from_vector(Shape{1}, {-1.0f});
  });
  expect_error([&] { HighlightModel::load(p); }, "std -1");
  // Statistics must cover exactly the model's features.
  HighlightModel affect_only(HighlightModelConfig::paper({Feature::Affect}), 5);
  expect_error([&] { affect_only.set_input_normalisation(affect_faces_statistics()); }, "do not fit");
  expect_error([&] { model.save(dir.file("clash.safetensors"), {{"input_normalisation", "x"}}); },
               "'input_normalisation'");
}

}  // namespace
}  // namespace hl
