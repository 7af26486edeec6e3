// GoogLeNet against torchvision (tests/golden/cnn_ref.py): torchvision's googlenet with
// transform_input=True and random weights (BatchNorm with real, perturbed statistics)
// writes its state dict; convert_googlenet turns it into our tensors, folded and
// unfolded, and our net must give torchvision's 1024-d embedding and logits for the same
// two images within 1e-4 relative (f32 whole networks, DESIGN section 6). Also: a weight
// file written and loaded back, a second forward that reuses every buffer and repeats
// the outputs bit for bit, and the errors for wrong weights and inputs.
#include <gtest/gtest.h>

#include <cstring>

#include "cnn_golden.h"
#include "engine/error.h"
#include "engine/safetensors.h"
#include "nets/googlenet.h"
#include "support/test_support.h"
#include "weights/googlenet_map.h"

namespace hl {
namespace {

struct GoogLeNetScript {
  static constexpr const char* kScriptName = "googlenet";
};
using GoogLeNetGolden = test::CnnGolden<GoogLeNetScript>;
using test::expect_matches;

TEST_F(GoogLeNetGolden, FoldedAndUnfoldedMatchTorchvision) {
  const NamedTensors sd = state_dict();
  const Tensor x = array("x"), embedding = array("embedding"), logits = array("logits");

  const ConvertResult folded = convert_googlenet(sd, true);
  EXPECT_EQ(folded.metadata.at("hl.net"), "googlenet");
  EXPECT_EQ(folded.metadata.at("hl.batchnorm"), "folded");
  EXPECT_EQ(folded.metadata.at("hl.classes"), "1000");
  // The aux heads and the 57 BatchNorms' num_batches_tracked are dropped on purpose.
  int64_t aux = 0, tracked = 0;
  for (const std::string& k : folded.ignored) {
    aux += k.rfind("aux1.", 0) == 0 || k.rfind("aux2.", 0) == 0;
    tracked += k.find("num_batches_tracked") != std::string::npos && k.rfind("aux", 0) != 0;
  }
  EXPECT_GT(aux, 0);
  EXPECT_EQ(tracked, 57);
  EXPECT_EQ(aux + tracked, static_cast<int64_t>(folded.ignored.size()));

  // Folded: through a weight file, as hl-convert writes it and a user loads it.
  const std::string path = dir_->file("googlenet.safetensors");
  write_safetensors(path, folded.tensors, folded.metadata);
  GoogLeNet net = GoogLeNet::load(path);
  EXPECT_TRUE(net.batchnorm_folded());
  EXPECT_EQ(net.classes(), 1000);
  const CnnOutput first = net.forward(x);
  expect_matches(first, embedding, logits, "googlenet folded");

  // A second pass with the same input shape reuses the planned buffers.
  const int64_t allocations = net.activations().allocations();
  const CnnOutput second = net.forward(x);
  EXPECT_EQ(net.activations().allocations(), allocations);
  EXPECT_EQ(std::memcmp(first.logits.raw(), second.logits.raw(), first.logits.nbytes()), 0);
  EXPECT_EQ(std::memcmp(first.embedding.raw(), second.embedding.raw(), first.embedding.nbytes()), 0);
  // One image is the same computation on a smaller plan.
  const CnnOutput single = net.forward(x.narrow(1, 1));
  test::expect_close(single.logits.data<float>(), logits.data<float>() + 1000, 1000, 1e-4, "googlenet, image 2 alone");

  // Unfolded: the exact form, BatchNorm applied as PyTorch does.
  const ConvertResult unfolded = convert_googlenet(sd, false);
  EXPECT_EQ(unfolded.metadata.at("hl.batchnorm"), "unfolded");
  GoogLeNet exact = GoogLeNet::from_tensors(unfolded.tensors);
  EXPECT_FALSE(exact.batchnorm_folded());
  expect_matches(exact.forward(x), embedding, logits, "googlenet unfolded");
}

TEST_F(GoogLeNetGolden, WrongWeightsAndInputsAreErrors) {
  const ConvertResult converted = convert_googlenet(state_dict(), true);
  const auto without = [&](const std::string& name) {
    NamedTensors t;
    for (const auto& [n, v] : converted.tensors)
      if (n != name) t.emplace_back(n, v);
    return t;
  };
  EXPECT_NE(test::error_of([&] { GoogLeNet::from_tensors(without("inception4c.branch3.1.bias")); })
                .find("missing the tensor inception4c.branch3.1.bias"),
            std::string::npos);
  NamedTensors extra = converted.tensors;
  extra.emplace_back("aux1.fc1.weight", Tensor::zeros({2, 2}, DType::F32));
  EXPECT_NE(test::error_of([&] { GoogLeNet::from_tensors(extra); }).find("unexpected tensors (1): aux1.fc1.weight"),
            std::string::npos);
  NamedTensors misshapen = without("conv2.weight");
  misshapen.emplace_back("conv2.weight", Tensor::zeros({1, 1, 64, 32}, DType::F32));
  EXPECT_NE(test::error_of([&] { GoogLeNet::from_tensors(misshapen); })
                .find("conv2.weight is [1, 1, 64, 32], expected [1, 1, 64, 64]"),
            std::string::npos);

  // A file that says it holds another net's weights, named in the error.
  const std::string path = dir_->file("other.safetensors");
  write_safetensors(path, converted.tensors, {{"hl.net", "resnet50"}});
  try {
    GoogLeNet::load(path);
    ADD_FAILURE() << "loaded a file marked resnet50";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(e.problem().find("holds resnet50 weights, not googlenet"), std::string::npos) << e.what();
  }

  GoogLeNet net = GoogLeNet::from_tensors(converted.tensors);
  EXPECT_NE(test::error_of([&] { net.forward(Tensor::zeros({1, 224, 224, 4}, DType::F32)); })
                .find("expected an f32 batch [N, H, W, 3]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { net.forward(Tensor::zeros({1, 8, 8, 3}, DType::F32)); }).find("too small"),
            std::string::npos);
}

}  // namespace
}  // namespace hl
