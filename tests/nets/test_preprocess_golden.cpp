// Image loading and the visual networks' preprocessing against the reference, PIL 9.4
// and torchvision 0.14 (tests/golden/preprocess_ref.py writes the files and PIL's and
// torchvision's results):
//  - load_image_rgb equals Image.open(f).convert('RGB') byte for byte on PNGs (grey,
//    grey+alpha, palette with and without transparency, RGB(A), 1 to 16 bits, Adam7) and
//    JPEGs (4:2:0, 4:2:2, 4:4:4, grey, progressive, optimised), and refuses exactly the
//    truncated files PIL refuses (and equals PIL where PIL accepts a cut file);
//  - cpu::resize_bilinear_u8 equals PIL's Image.resize(BILINEAR) byte for byte, on its own
//    and as torchvision's Resize step of both pipelines;
//  - preprocess_image equals the full torchvision transform bit for bit: the resize is
//    integer arithmetic equal to PIL's, and the normalisation is the same three f32
//    operations as ToTensor + Normalize (x / 255, - mean, / std), each correctly
//    rounded, with no contraction into fused multiply-adds (kernels are built with
//    -ffp-contract=off). Measured worst difference: 0. The check is therefore exact
//    (tolerance 0), stricter than the f32-op tolerance of DESIGN section 6;
//  - preprocess_batch on the CPU equals preprocess_image frame by frame.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/golden_io.h"
#include "engine/image.h"
#include "kernels/cpu/resize.h"
#include "nets/preprocess.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

class PreprocessGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("preprocess_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/preprocess_ref.py failed (are PIL and torchvision importable by $HL_PYTHON?)";
    manifest_ = new json(json::parse(test::read_file(dir_->file("manifest.json"))));
  }
  static void TearDownTestSuite() {
    delete manifest_;
    delete dir_;
    manifest_ = nullptr;
    dir_ = nullptr;
  }
  // A raw u8 array written by the script, as a CPU tensor of `shape`.
  static Tensor load_u8(const std::string& file, const json& shape) {
    Tensor t = Tensor::empty(Shape(shape.get<std::vector<int64_t>>()), DType::U8);
    const auto bytes = test::read_file(dir_->file(file));
    EXPECT_EQ(bytes.size(), t.nbytes()) << file;
    std::memcpy(t.raw(), bytes.data(), std::min(bytes.size(), t.nbytes()));
    return t;
  }
  static test::TempDir* dir_;
  static json* manifest_;
};
test::TempDir* PreprocessGolden::dir_ = nullptr;
json* PreprocessGolden::manifest_ = nullptr;

// Index and values of the first differing byte, or "" when equal.
std::string first_difference(const Tensor& a, const Tensor& b) {
  if (!(a.shape() == b.shape())) return "shape " + a.shape().str() + " vs " + b.shape().str();
  const auto* p = a.data<uint8_t>();
  const auto* q = b.data<uint8_t>();
  for (int64_t i = 0; i < a.numel(); ++i)
    if (p[i] != q[i])
      return "byte " + std::to_string(i) + " of " + std::to_string(a.numel()) + ": " + std::to_string(p[i]) +
             " vs " + std::to_string(q[i]);
  return "";
}

Preprocess kind_of(const std::string& net) { return net == "googlenet" ? Preprocess::GoogLeNet : Preprocess::Places365; }

TEST_F(PreprocessGolden, LoaderMatchesPilOrRefusesAsPilDoes) {
  int accepted = 0, refused = 0;
  for (const json& e : (*manifest_)["decode"]) {
    const std::string file = e["file"], path = dir_->file(file);
    if (e["ok"].get<bool>()) {
      Tensor ours;
      ASSERT_NO_THROW(ours = load_image_rgb(path)) << file << ": PIL decodes it; we threw " << test::error_of([&] {
        load_image_rgb(path);
      });
      const std::string difference = first_difference(ours, load_u8(e["pixels"], e["shape"]));
      EXPECT_EQ(difference, "") << file << " differs from PIL";
      accepted += difference.empty();
    } else {
      const std::string message = test::error_of([&] { load_image_rgb(path); });
      EXPECT_NE(message.find(path), std::string::npos)
          << file << ": PIL refuses it (" << e["error"].get<std::string>() << "); we said: " << message;
      refused += message.find(path) != std::string::npos;
    }
  }
  std::printf("loader vs PIL: %d files decoded identically, %d refused as PIL refuses them\n", accepted, refused);
  EXPECT_GE(accepted, 50);
  EXPECT_GE(refused, 10);
}

TEST_F(PreprocessGolden, ResizeMatchesPilByteForByte) {
  int cases = 0;
  for (const json& e : (*manifest_)["resize"]) {
    const Tensor x = load_u8(e["input"], e["shape"]), want = load_u8(e["output"], e["out_shape"]);
    Tensor got = Tensor::empty(want.shape(), DType::U8);
    cpu::resize_bilinear_u8(x.data<uint8_t>(), x.size(0), x.size(1), x.size(2), got.data<uint8_t>(), want.size(0),
                            want.size(1));
    EXPECT_EQ(first_difference(got, want), "") << "resize " << x.shape().str() << " -> " << want.shape().str();
    ++cases;
  }
  // torchvision's Resize step of both pipelines, from PIL's decoded pixels.
  for (const json& e : (*manifest_)["pipeline"]) {
    const Tensor x = load_u8(e["pixels"], e["shape"]);
    for (const std::string net : {"googlenet", "places365"}) {
      const Tensor want = load_u8(e[net]["resized"], e[net]["resized_shape"]);
      const ImageSize size = preprocess_resized_size(x.size(0), x.size(1), kind_of(net));
      ASSERT_EQ(size.height, want.size(0)) << e["image"] << " " << net;
      ASSERT_EQ(size.width, want.size(1)) << e["image"] << " " << net;
      Tensor got = Tensor::empty(want.shape(), DType::U8);
      cpu::resize_bilinear_u8(x.data<uint8_t>(), x.size(0), x.size(1), 3, got.data<uint8_t>(), size.height, size.width);
      EXPECT_EQ(first_difference(got, want), "") << e["image"] << " " << net << " Resize";
      ++cases;
    }
  }
  std::printf("resize vs PIL: %d cases byte for byte\n", cases);
}

TEST_F(PreprocessGolden, PipelinesMatchTorchvisionExactly) {
  double worst = 0;
  int cases = 0;
  for (const json& e : (*manifest_)["pipeline"]) {
    const Tensor x = load_u8(e["pixels"], e["shape"]);
    for (const std::string net : {"googlenet", "places365"}) {
      const Tensor want = test::load_f32(*dir_, {{"file", e[net]["tensor"]}, {"shape", {kPreprocessCrop, kPreprocessCrop, 3}}});
      const Tensor got = preprocess_image(x, kind_of(net));
      ASSERT_EQ(got.shape(), want.shape());
      const float* want_f = want.data<float>();
      const double err = test::relative_error(got.data<float>(), want_f, got.numel());
      worst = std::max(worst, err);
      test::expect_close(got.data<float>(), want_f, got.numel(), 0.0,
                         e["image"].get<std::string>() + " " + net + " vs torchvision");
      ++cases;
    }
  }
  std::printf("preprocess vs torchvision: %d cases, worst relative error %.3g\n", cases, worst);
}

TEST_F(PreprocessGolden, BatchEqualsSingleImages) {
  std::vector<Tensor> frames;
  for (const json& e : (*manifest_)["pipeline"]) frames.push_back(load_u8(e["pixels"], e["shape"]));
  const auto n = static_cast<int64_t>(frames.size());
  for (const Preprocess kind : {Preprocess::GoogLeNet, Preprocess::Places365}) {
    Tensor out = Tensor::empty({n, kPreprocessCrop, kPreprocessCrop, 3}, DType::F32);
    preprocess_batch(frames, kind, out);
    for (int64_t i = 0; i < n; ++i) {
      const Tensor one = preprocess_image(frames[static_cast<size_t>(i)], kind);
      EXPECT_EQ(std::memcmp(out.narrow(i, 1).data<float>(), one.data<float>(), one.nbytes()), 0)
          << preprocess_name(kind) << " frame " << i;
    }
  }
}

}  // namespace
}  // namespace hl
