// VASNet against PyTorch (tests/golden/vasnet_ref.py): our model is initialised here and
// saved; the script builds the same network from nn.Linear layers and the published
// code's LayerNorm with those weights, dropout off, scores a random sequence
// [T = 300, 1024] and trains five steps of frame-level MSE with
// torch.optim.Adam(lr 5e-5, weight_decay 1e-5, eps 1e-8), in f32 and in f64. We train
// on the same five sequences and compare:
//   - the first forward pass's scores (1e-5 relative);
//   - every parameter's gradient at the first step (1e-4 relative per tensor);
//   - the five losses (1e-5 relative each);
//   - every parameter after five steps (1e-4 relative per tensor against PyTorch's f32
//     training, and no further from the f64 training than PyTorch's f32 is, + 1e-5).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "autograd/golden_io.h"
#include "engine/autograd/loss.h"
#include "engine/optim/adam.h"
#include "engine/safetensors.h"
#include "nets/vasnet.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

TEST(VasnetGolden, ForwardAndFiveAdamStepsMatchPyTorch) {
  test::TempDir dir;
  const Vasnet model(VasnetConfig{}, 2021);
  ASSERT_EQ(model.parameter_count(), 5249025);
  model.save(dir.file("initial.safetensors"));
  ASSERT_EQ(test::run_golden_script("vasnet_ref.py", {dir.path().string()}), 0)
      << "tests/golden/vasnet_ref.py failed (are torch and safetensors importable by $HL_PYTHON?)";
  const json manifest = json::parse(test::read_file(dir.file("manifest.json")));
  const SafetensorsFile grad0 = SafetensorsFile::open(dir.file("grad0.safetensors"));
  ASSERT_EQ(manifest["steps"].size(), 5u);

  optim::Adam adam(model.parameters(), {.lr = 5e-5f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 1e-5f});
  double worst_loss = 0;
  for (size_t step = 0; step < 5; ++step) {
    const json& s = manifest["steps"][step];
    const Tensor x = test::load_f32(dir, s["x"]);
    const ag::Variable target(test::load_f32(dir, s["target"]));
    adam.zero_grad();
    const ag::Variable scores = model.forward(x, /*training=*/false);  // dropout off
    const ag::Variable loss = ag::mse_loss(scores, target);
    loss.backward();
    if (step == 0) {
      const Tensor want = test::load_f32(dir, manifest["first_scores"]);
      ASSERT_EQ(scores.value().numel(), want.numel());
      test::expect_close(scores.value().data<float>(), want.data<float>(), want.numel(), 1e-5, "first scores");
      std::printf("first scores (T = %lld): relative error %.3g\n", static_cast<long long>(want.numel()),
                  test::relative_error(scores.value().data<float>(), want.data<float>(), want.numel()));
      double worst = 0;
      std::string worst_name;
      for (const NamedParameter& p : model.named_parameters()) {
        const Tensor w = grad0.get(p.name);
        const Tensor& g = p.value.grad();
        ASSERT_TRUE(g.defined()) << p.name;
        ASSERT_EQ(g.shape(), w.shape()) << p.name;
        test::expect_close(g.data<float>(), w.data<float>(), w.numel(), 1e-4, "step-0 gradient " + p.name);
        const double e = test::relative_error(g.data<float>(), w.data<float>(), w.numel());
        if (e > worst) worst = e, worst_name = p.name;
      }
      std::printf("step-0 gradients: worst relative error %.3g (%s)\n", worst, worst_name.c_str());
    }
    const double got = loss.value().data<float>()[0], want = manifest["losses"][step];
    const double err = std::fabs(got - want) / std::fabs(want);
    worst_loss = std::max(worst_loss, err);
    EXPECT_LE(err, 1e-5) << "step " << step << ": loss " << got << ", PyTorch " << want;
    std::printf("step %zu: loss %.8f, PyTorch %.8f, relative error %.3g\n", step, got, want, err);
    adam.step();
  }
  std::printf("losses: worst relative error %.3g\n", worst_loss);

  const SafetensorsFile torch_f32 = SafetensorsFile::open(dir.file("final.safetensors"));
  const SafetensorsFile exact = SafetensorsFile::open(dir.file("final_f64.safetensors"));
  double worst_vs_torch = 0, worst_excess = 0;
  for (const NamedParameter& p : model.named_parameters()) {
    const Tensor e = exact.get(p.name), t = torch_f32.get(p.name);
    ASSERT_EQ(p.value.shape(), e.shape()) << p.name;
    const float* ours = p.value.value().data<float>();
    const double vs_torch = test::relative_error(ours, t.data<float>(), e.numel());
    const double ours_f64 = test::relative_error(ours, e.data<float>(), e.numel());
    const double torch_f64 = test::relative_error(t.data<float>(), e.data<float>(), e.numel());
    test::expect_close(ours, t.data<float>(), e.numel(), 1e-4, "weights after five steps, " + p.name);
    EXPECT_LE(ours_f64, torch_f64 + 1e-5) << p.name << ": ours is " << ours_f64 << " from the f64 training, PyTorch's f32 "
                                         << torch_f64;
    worst_vs_torch = std::max(worst_vs_torch, vs_torch);
    worst_excess = std::max(worst_excess, ours_f64 - torch_f64);
    std::printf("%-26s vs PyTorch f32 %.3g | distance from f64: ours %.3g, PyTorch f32 %.3g\n", p.name.c_str(), vs_torch,
                ours_f64, torch_f64);
  }
  std::printf("final weights: worst relative error vs PyTorch f32 %.3g; ours exceeds PyTorch's distance from f64 by at "
              "most %.3g\n", worst_vs_torch, worst_excess);
}

}  // namespace
}  // namespace hl
