// The torchvision state-dict converters (weights/googlenet_map.h, resnet50_map.h,
// cnn_map.h) on state dicts built here with torchvision's key names and shapes: the
// layout changes and the BatchNorm folding against the formulas evaluated in this file,
// the "module." prefix, f16 input, the keys dropped on purpose, and every error (missing,
// unexpected and duplicate keys, wrong shapes and dtypes) named in one message.
// The numbers through whole networks are checked against torchvision in
// tests/nets/test_googlenet_golden.cpp and test_resnet50_golden.cpp.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>

#include "support/test_support.h"
#include "weights/googlenet_map.h"
#include "weights/resnet50_map.h"

namespace hl {
namespace {

Tensor random_tensor(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return Tensor::from_vector(shape, test::random_floats(shape.numel(), seed, lo, hi));
}

// A conv followed by BatchNorm, with torchvision's keys; running_var positive.
void add_conv_bn(NamedTensors& sd, const std::string& conv_key, const std::string& bn, int64_t c_in, int64_t c_out,
                 int64_t k, uint32_t& seed) {
  sd.emplace_back(conv_key, random_tensor({c_out, c_in, k, k}, seed++));
  sd.emplace_back(bn + ".weight", random_tensor({c_out}, seed++, 0.5f, 1.5f));
  sd.emplace_back(bn + ".bias", random_tensor({c_out}, seed++));
  sd.emplace_back(bn + ".running_mean", random_tensor({c_out}, seed++));
  sd.emplace_back(bn + ".running_var", random_tensor({c_out}, seed++, 0.1f, 2.0f));
  sd.emplace_back(bn + ".num_batches_tracked", Tensor::zeros({}, DType::I64));
}

NamedTensors googlenet_state_dict() {
  NamedTensors sd;
  uint32_t seed = 1;
  const auto basic = [&](const std::string& p, int64_t c_in, int64_t c_out, int64_t k) {
    add_conv_bn(sd, p + ".conv.weight", p + ".bn", c_in, c_out, k, seed);
  };
  basic("conv1", 3, 64, 7);
  basic("conv2", 64, 64, 1);
  basic("conv3", 64, 192, 3);
  // torchvision's table, written out here rather than taken from the code under test.
  const std::vector<std::array<int64_t, 7>> blocks = {
      {192, 64, 96, 128, 16, 32, 32},   {256, 128, 128, 192, 32, 96, 64}, {480, 192, 96, 208, 16, 48, 64},
      {512, 160, 112, 224, 24, 64, 64}, {512, 128, 128, 256, 24, 64, 64}, {512, 112, 144, 288, 32, 64, 64},
      {528, 256, 160, 320, 32, 128, 128}, {832, 256, 160, 320, 32, 128, 128}, {832, 384, 192, 384, 48, 128, 128}};
  const char* names[] = {"3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"};
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    const std::string p = std::string("inception") + names[i];
    basic(p + ".branch1", b[0], b[1], 1);
    basic(p + ".branch2.0", b[0], b[2], 1);
    basic(p + ".branch2.1", b[2], b[3], 3);
    basic(p + ".branch3.0", b[0], b[4], 1);
    basic(p + ".branch3.1", b[4], b[5], 3);
    basic(p + ".branch4.1", b[0], b[6], 1);
  }
  basic("aux1.conv", 512, 128, 1);  // an auxiliary head (abridged)
  sd.emplace_back("aux2.fc2.weight", random_tensor({1000, 1024}, seed++));
  sd.emplace_back("fc.weight", random_tensor({1000, 1024}, seed++));
  sd.emplace_back("fc.bias", random_tensor({1000}, seed++));
  return sd;
}

NamedTensors resnet50_state_dict(int64_t classes) {
  NamedTensors sd;
  uint32_t seed = 100;
  add_conv_bn(sd, "conv1.weight", "bn1", 3, 64, 7, seed);
  const int64_t blocks[] = {3, 4, 6, 3}, widths[] = {64, 128, 256, 512};
  int64_t in = 64;
  for (int s = 0; s < 4; ++s)
    for (int64_t b = 0; b < blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      const int64_t w = widths[s];
      add_conv_bn(sd, p + ".conv1.weight", p + ".bn1", in, w, 1, seed);
      add_conv_bn(sd, p + ".conv2.weight", p + ".bn2", w, w, 3, seed);
      add_conv_bn(sd, p + ".conv3.weight", p + ".bn3", w, 4 * w, 1, seed);
      if (b == 0) add_conv_bn(sd, p + ".downsample.0.weight", p + ".downsample.1", in, 4 * w, 1, seed);
      in = 4 * w;
    }
  sd.emplace_back("fc.weight", random_tensor({classes, 2048}, seed++));
  sd.emplace_back("fc.bias", random_tensor({classes}, seed++));
  return sd;
}

std::map<std::string, Tensor> by_name(const NamedTensors& t) { return {t.begin(), t.end()}; }

NamedTensors replaced(const NamedTensors& sd, const std::string& key, const Tensor& value) {
  NamedTensors out;
  for (const auto& [k, v] : sd) out.emplace_back(k, k == key ? value : v);
  return out;
}

NamedTensors without(const NamedTensors& sd, const std::string& key) {
  NamedTensors out;
  for (const auto& [k, v] : sd)
    if (k != key) out.emplace_back(k, v);
  return out;
}

TEST(GoogLeNetMap, FoldsBatchNormAndChangesLayouts) {
  const NamedTensors sd = googlenet_state_dict();
  const auto in = by_name(sd);
  const ConvertResult r = convert_googlenet(sd, true);
  EXPECT_EQ(r.tensors.size(), 57u * 2 + 2);
  EXPECT_EQ(r.metadata.at("hl.net"), "googlenet");
  EXPECT_EQ(r.metadata.at("hl.batchnorm"), "folded");
  EXPECT_EQ(r.metadata.at("hl.classes"), "1000");
  // 57 num_batches_tracked of the net, and the aux head's 6 keys.
  EXPECT_EQ(r.ignored.size(), 57u + 6u + 1u);
  const auto out = by_name(r.tensors);

  // inception4b.branch2.1: 3x3, 112 -> 224, against w[o, c, p, q] * gamma / sqrt(var + 0.001).
  const std::string p = "inception4b.branch2.1";
  const float* w = in.at(p + ".conv.weight").data<float>();
  const float* g = in.at(p + ".bn.weight").data<float>();
  const float* b = in.at(p + ".bn.bias").data<float>();
  const float* m = in.at(p + ".bn.running_mean").data<float>();
  const float* v = in.at(p + ".bn.running_var").data<float>();
  const Tensor& hwio = out.at(p + ".weight");
  const Tensor& bias = out.at(p + ".bias");
  ASSERT_EQ(hwio.shape(), (Shape{3, 3, 112, 224}));
  std::vector<float> got, want;
  for (int64_t o = 0; o < 224; ++o)
    for (int64_t c = 0; c < 112; ++c)
      for (int64_t y = 0; y < 3; ++y)
        for (int64_t x = 0; x < 3; ++x) {
          got.push_back(hwio.data<float>()[((y * 3 + x) * 112 + c) * 224 + o]);
          want.push_back(static_cast<float>(w[((o * 112 + c) * 3 + y) * 3 + x] * g[o] / std::sqrt(v[o] + 0.001)));
        }
  test::expect_close(got, want, 1e-6, p + ".weight");
  got.clear(), want.clear();
  for (int64_t o = 0; o < 224; ++o) {
    got.push_back(bias.data<float>()[o]);
    want.push_back(static_cast<float>(b[o] - m[o] * g[o] / std::sqrt(v[o] + 0.001)));
  }
  test::expect_close(got, want, 1e-6, p + ".bias");

  // fc: [1000, 1024] -> [1024, 1000].
  const Tensor& fc = out.at("fc.weight");
  ASSERT_EQ(fc.shape(), (Shape{1024, 1000}));
  EXPECT_EQ(fc.data<float>()[5 * 1000 + 7], in.at("fc.weight").data<float>()[7 * 1024 + 5]);
}

TEST(GoogLeNetMap, UnfoldedKeepsTheBatchNormAsStored) {
  const NamedTensors sd = googlenet_state_dict();
  const auto in = by_name(sd);
  const ConvertResult r = convert_googlenet(sd, false);
  EXPECT_EQ(r.tensors.size(), 57u * 5 + 2);
  EXPECT_EQ(r.metadata.at("hl.batchnorm"), "unfolded");
  const auto out = by_name(r.tensors);
  const Tensor& w = out.at("conv1.weight");  // [7, 7, 3, 64]
  EXPECT_EQ(w.data<float>()[((2 * 7 + 5) * 3 + 1) * 64 + 9], in.at("conv1.conv.weight").data<float>()[((9 * 3 + 1) * 7 + 2) * 7 + 5]);
  for (const char* s : {"weight", "bias", "running_mean", "running_var"}) {
    const Tensor& a = out.at(std::string("conv1.bn.") + s);
    const Tensor& b = in.at(std::string("conv1.bn.") + s);
    EXPECT_EQ(std::vector<float>(a.data<float>(), a.data<float>() + 64), std::vector<float>(b.data<float>(), b.data<float>() + 64)) << s;
  }
  EXPECT_EQ(out.count("conv1.bias"), 0u);
}

TEST(GoogLeNetMap, F16TensorsAreWidened) {
  const NamedTensors sd = googlenet_state_dict();
  NamedTensors half;
  for (const auto& [k, v] : sd) half.emplace_back(k, v.dtype() == DType::F32 ? v.cast(DType::F16) : v);
  const auto from_half = by_name(convert_googlenet(half, false).tensors);
  // The f16 values, widened here, laid out as the f32 conversion lays out its input.
  const Tensor expected = half[0].second.cast(DType::F32);  // conv1.conv.weight [64, 3, 7, 7]
  ASSERT_EQ(half[0].first, "conv1.conv.weight");
  EXPECT_EQ(from_half.at("conv1.weight").dtype(), DType::F32);
  EXPECT_EQ(from_half.at("conv1.weight").data<float>()[((1 * 7 + 2) * 3 + 2) * 64 + 33],
            expected.data<float>()[((33 * 3 + 2) * 7 + 1) * 7 + 2]);
}

TEST(GoogLeNetMap, EveryProblemIsNamedInOneError) {
  NamedTensors sd = without(googlenet_state_dict(), "inception3a.branch2.1.bn.running_var");
  sd = replaced(sd, "conv1.conv.weight", Tensor::zeros({64, 3, 5, 5}, DType::F32));
  sd = replaced(sd, "inception5b.branch4.1.bn.bias", Tensor::zeros({128}, DType::I64));
  sd.emplace_back("classifier.weight", Tensor::zeros({2, 2}, DType::F32));
  const std::string e = test::error_of([&] { convert_googlenet(sd); });
  EXPECT_NE(e.find("googlenet state dict does not match"), std::string::npos) << e;
  EXPECT_NE(e.find("missing keys (1): inception3a.branch2.1.bn.running_var"), std::string::npos) << e;
  EXPECT_NE(e.find("unexpected keys (1): classifier.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("conv1.conv.weight is [64, 3, 5, 5], expected [64, 3, 7, 7]"), std::string::npos) << e;
  EXPECT_NE(e.find("inception5b.branch4.1.bn.bias is I64, expected F32, F16 or BF16"), std::string::npos) << e;
}

TEST(GoogLeNetMap, KeysGivenTwiceAreAnError) {
  NamedTensors sd = googlenet_state_dict();
  sd.emplace_back("module.fc.bias", sd.back().second);
  EXPECT_NE(test::error_of([&] { convert_googlenet(sd); }).find("given twice (with and without 'module.') (1): module.fc.bias"),
            std::string::npos);
}

TEST(ResNet50Map, StripsModulePrefixAndTakesTheClassCount) {
  NamedTensors prefixed;
  for (const auto& [k, v] : resnet50_state_dict(365))
    if (k.find("num_batches_tracked") == std::string::npos) prefixed.emplace_back("module." + k, v);
  const ConvertResult r = convert_resnet50(prefixed, true);
  EXPECT_EQ(r.metadata.at("hl.net"), "resnet50");
  EXPECT_EQ(r.metadata.at("hl.classes"), "365");
  EXPECT_TRUE(r.ignored.empty());
  // 53 convs (1 + 16 x 3 + 4 downsamples), each weight and bias, and fc.
  EXPECT_EQ(r.tensors.size(), 53u * 2 + 2);
  const auto out = by_name(r.tensors);
  EXPECT_EQ(out.at("layer2.0.downsample.weight").shape(), (Shape{1, 1, 256, 512}));
  EXPECT_EQ(out.at("layer4.2.conv2.weight").shape(), (Shape{3, 3, 512, 512}));
  EXPECT_EQ(out.at("fc.weight").shape(), (Shape{2048, 365}));
  EXPECT_EQ(out.at("fc.bias").shape(), (Shape{365}));
}

TEST(ResNet50Map, MissingAndMisshapenKeysAreNamed) {
  const NamedTensors sd = resnet50_state_dict(365);
  EXPECT_NE(test::error_of([&] { convert_resnet50(without(sd, "layer2.0.downsample.0.weight")); })
                .find("missing keys (1): layer2.0.downsample.0.weight"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { convert_resnet50(replaced(sd, "fc.weight", Tensor::zeros({365, 1024}, DType::F32))); })
                .find("fc.weight is [365, 1024], expected [*, 2048]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { convert_resnet50(replaced(sd, "fc.bias", Tensor::zeros({1000}, DType::F32))); })
                .find("fc.bias is [1000], expected [365]"),
            std::string::npos);
}

TEST(ResNet50Map, AnotherNetsStateDictGivesAShortenedList) {
  const std::string e = test::error_of([] { convert_resnet50(googlenet_state_dict()); });
  EXPECT_NE(e.find("resnet50 state dict does not match"), std::string::npos);
  EXPECT_NE(e.find("missing keys (265): conv1.weight"), std::string::npos) << e.substr(0, 300);
  EXPECT_NE(e.find("... and 245 more"), std::string::npos);
  EXPECT_LT(e.size(), 6000u);
}

}  // namespace
}  // namespace hl
