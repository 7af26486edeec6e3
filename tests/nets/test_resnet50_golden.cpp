// ResNet50 (Places365 layout, 365 classes) against torchvision (tests/golden/cnn_ref.py):
// torchvision's resnet50(num_classes=365) with random weights (BatchNorm with real,
// perturbed statistics) writes its state dict the way the published Places365 file
// holds it ("module." prefix, no num_batches_tracked); convert_resnet50 turns it into
// our tensors, folded and unfolded, and our net must give torchvision's 2048-d
// embedding and logits for the same two images within 1e-4 relative (f32 whole
// networks, DESIGN section 6). Also a weight file written and loaded back, and the
// errors for wrong weights and inputs.
#include <gtest/gtest.h>

#include "cnn_golden.h"
#include "engine/error.h"
#include "engine/safetensors.h"
#include "nets/resnet50.h"
#include "support/test_support.h"
#include "weights/resnet50_map.h"

namespace hl {
namespace {

struct ResNet50Script {
  static constexpr const char* kScriptName = "resnet50";
};
using ResNet50Golden = test::CnnGolden<ResNet50Script>;
using test::expect_matches;

TEST_F(ResNet50Golden, FoldedAndUnfoldedMatchTorchvision) {
  const NamedTensors sd = state_dict();
  ASSERT_EQ(sd.front().first.rfind("module.", 0), 0u) << "the fixture should carry the DataParallel prefix";
  const Tensor x = array("x"), embedding = array("embedding"), logits = array("logits");

  const ConvertResult folded = convert_resnet50(sd, true);
  EXPECT_EQ(folded.metadata.at("hl.net"), "resnet50");
  EXPECT_EQ(folded.metadata.at("hl.batchnorm"), "folded");
  EXPECT_EQ(folded.metadata.at("hl.classes"), "365");
  EXPECT_TRUE(folded.ignored.empty());

  const std::string path = dir_->file("resnet50.safetensors");
  write_safetensors(path, folded.tensors, folded.metadata);
  ResNet50 net = ResNet50::load(path);
  EXPECT_TRUE(net.batchnorm_folded());
  EXPECT_EQ(net.classes(), 365);
  expect_matches(net.forward(x), embedding, logits, "resnet50 folded");

  const ConvertResult unfolded = convert_resnet50(sd, false);
  ResNet50 exact = ResNet50::from_tensors(unfolded.tensors);
  EXPECT_FALSE(exact.batchnorm_folded());
  expect_matches(exact.forward(x), embedding, logits, "resnet50 unfolded");
}

TEST_F(ResNet50Golden, WrongWeightsAndInputsAreErrors) {
  const ConvertResult converted = convert_resnet50(state_dict(), false);
  NamedTensors partial;
  for (const auto& [n, v] : converted.tensors)
    if (n != "layer3.0.downsample.bn.running_var") partial.emplace_back(n, v);
  EXPECT_NE(test::error_of([&] { ResNet50::from_tensors(partial); })
                .find("missing the tensor layer3.0.downsample.bn.running_var"),
            std::string::npos);
  NamedTensors both = converted.tensors;
  both.emplace_back("layer1.0.conv1.bias", Tensor::zeros({64}, DType::F32));
  EXPECT_NE(test::error_of([&] { ResNet50::from_tensors(both); }).find("both a folded bias and BatchNorm"),
            std::string::npos);

  ResNet50 net = ResNet50::from_tensors(converted.tensors);
  EXPECT_NE(test::error_of([&] { net.forward(Tensor::zeros({2, 64, 64}, DType::F32)); })
                .find("expected an f32 batch [N, H, W, 3]"),
            std::string::npos);
}

}  // namespace
}  // namespace hl
