// Model files: save() then load() gives the same configuration, the same parameters and
// the same scores; the file is plain safetensors with the configuration in its
// metadata; and files that do not fit the model are clear errors naming the problem.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace hl
