// hl::ag::conv2d against PyTorch's F.conv2d with layout permutes (tests/golden/conv2d_ref.py):
// output and the gradients of x, w and b for a random upstream gradient, on shapes that
// cover the CAM branch (14x14 kernel over a 14x14 map), 'same' and strided padding
// (symmetric and asymmetric), pointwise and strided pointwise, and a rectangular kernel.
// Tolerance 1e-5 relative (f32 ops, DESIGN section 6).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/autograd/conv2d.h"
#include "golden_io.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

double compare(const Tensor& got, const Tensor& want, const std::string& what) {
  EXPECT_EQ(got.shape(), want.shape()) << what;
  if (!(got.shape() == want.shape())) return INFINITY;
  test::expect_close(got.data<float>(), want.data<float>(), want.numel(), 1e-5, what);
  return test::relative_error(got.data<float>(), want.data<float>(), want.numel());
}

TEST(Conv2dGolden, MatchesTorchConv2d) {
  test::TempDir dir;
  ASSERT_EQ(test::run_golden_script("conv2d_ref.py", {dir.path().string()}), 0)
      << "tests/golden/conv2d_ref.py failed (is torch importable by $HL_PYTHON?)";
  const json manifest = json::parse(test::read_file(dir.file("manifest.json")));
  ASSERT_EQ(manifest["conv2d"].size(), 8u);
  double worst_out = 0, worst_grad = 0;
  for (const json& c : manifest["conv2d"]) {
    ag::Variable x(test::load_f32(dir, c["x"]), true), w(test::load_f32(dir, c["w"]), true),
        b(test::load_f32(dir, c["b"]), true);
    ag::Conv2dOptions o;
    o.stride_h = c["stride"][0], o.stride_w = c["stride"][1];
    o.pad_top = c["pad"][0], o.pad_bottom = c["pad"][1], o.pad_left = c["pad"][2], o.pad_right = c["pad"][3];
    const std::string what = "conv2d " + x.value().str() + " * " + w.value().str() + " stride " +
                             c["stride"].dump() + " pad " + c["pad"].dump();
    const ag::Variable y = ag::conv2d(x, w, b, o);
    worst_out = std::max(worst_out, compare(y.value(), test::load_f32(dir, c["y"]), what + ": y"));
    y.backward(test::load_f32(dir, c["seed"]));
    worst_grad = std::max(worst_grad, compare(x.grad(), test::load_f32(dir, c["dx"]), what + ": dx"));
    worst_grad = std::max(worst_grad, compare(w.grad(), test::load_f32(dir, c["dw"]), what + ": dw"));
    worst_grad = std::max(worst_grad, compare(b.grad(), test::load_f32(dir, c["db"]), what + ": db"));
  }
  std::printf("conv2d vs F.conv2d: worst relative error %.3g (outputs), %.3g (gradients)\n", worst_out, worst_grad);
}

}  // namespace
}  // namespace hl
