// Every differentiable op of hl::ag, forward and backward, against PyTorch autograd
// (tests/golden/autograd_ref.py): same inputs, same upstream gradient, outputs and
// input gradients within 1e-5 relative (max|a-b| / max|b|). Also ten Adam steps against
// torch.optim.Adam(eps=1e-7), with and without weight decay.
#include <gtest/gtest.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/autograd/autograd.h"
#include "engine/optim/adam.h"
#include "golden_io.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

class AutogradGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("autograd_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/autograd_ref.py failed (is torch importable by $HL_PYTHON?)";
    manifest_ = json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static Tensor load(const json& a) { return test::load_f32(*dir_, a); }

  static inline test::TempDir* dir_ = nullptr;
  static inline json manifest_;
};

ag::Variable run_op(const std::string& op, const std::vector<ag::Variable>& in, const json& args) {
  using namespace ag;
  if (op == "add") return add(in[0], in[1]);
  if (op == "mul") return mul(in[0], in[1]);
  if (op == "mul_self") return mul(in[0], in[0]);
  if (op == "scale") return scale(in[0], args["alpha"].get<float>());
  if (op == "relu") return relu(in[0]);
  if (op == "sigmoid") return sigmoid(in[0]);
  if (op == "tanh") return tanh(in[0]);
  if (op == "sum") return sum(in[0], args["dim"].get<int>());
  if (op == "mean") return mean(in[0], args["dim"].get<int>());
  if (op == "sum_all") return sum_all(in[0]);
  if (op == "mean_all") return mean_all(in[0]);
  if (op == "softmax") return softmax(in[0], args["dim"].get<int>());
  if (op == "reshape") return reshape(in[0], args["dims"].get<std::vector<int64_t>>());
  if (op == "narrow") return narrow(in[0], args["dim"], args["start"], args["length"]);
  if (op == "concat") return concat(in, args["dim"].get<int>());
  if (op == "chain") return sum_all(tanh(add(mul(in[0], in[1]), in[0])));
  if (op == "matmul") return matmul(in[0], in[1], args["trans_a"].get<bool>(), args["trans_b"].get<bool>());
  if (op == "linear") return linear(in[0], in[1], in[2]);
  if (op == "linear_nobias") return linear(in[0], in[1], Variable());
  if (op == "mse_loss") return mse_loss(in[0], in[1]);
  if (op == "ccc_loss") return ccc_loss(in[0], in[1]);
  if (op == "margin_ranking_loss") return margin_ranking_loss(in[0], in[1], args["margin"].get<float>());
  if (op == "conv1d_same") return conv1d_same(in[0], in[1], in[2]);
  if (op == "maxpool1d_2") return maxpool1d_2(in[0]);
  if (op == "layer_norm") return layer_norm(in[0], in[1], in[2], args["eps"].get<float>());
  if (op == "layer_norm_vasnet") return layer_norm_vasnet(in[0], in[1], in[2], args["eps"].get<float>());
  throw Error("unknown op " + op);
}

TEST_F(AutogradGolden, OpsAndGradientsMatchPyTorch) {
  ASSERT_GT(manifest_["cases"].size(), 150u);
  double worst_value = 0, worst_grad = 0;
  for (const json& c : manifest_["cases"]) {
    std::vector<ag::Variable> inputs;
    for (const json& a : c["inputs"]) inputs.emplace_back(load(a), a["grad"].get<bool>());
    const std::string what = c["op"].get<std::string>() + " " + c["args"].dump() + " on " + inputs[0].value().str();
    const ag::Variable out = run_op(c["op"], inputs, c["args"]);
    const Tensor expected = load(c["output"]);
    ASSERT_EQ(out.shape(), expected.shape()) << what;
    test::expect_close(out.value().data<float>(), expected.data<float>(), expected.numel(), 1e-5, what + ": output");
    worst_value = std::max(worst_value, test::relative_error(out.value().data<float>(), expected.data<float>(), expected.numel()));
    out.backward(load(c["seed"]));
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (c["grads"][i].is_null()) {
        EXPECT_FALSE(inputs[i].grad().defined()) << what << ": input " << i << " needs no gradient";
        continue;
      }
      const Tensor want = load(c["grads"][i]);
      ASSERT_TRUE(inputs[i].grad().defined()) << what << ": no gradient for input " << i;
      ASSERT_EQ(inputs[i].grad().shape(), want.shape()) << what;
      const std::string label = what + ": gradient of input " + std::to_string(i);
      test::expect_close(inputs[i].grad().data<float>(), want.data<float>(), want.numel(), 1e-5, label);
      worst_grad = std::max(worst_grad, test::relative_error(inputs[i].grad().data<float>(), want.data<float>(), want.numel()));
    }
  }
  std::printf("worst relative error over %zu cases: outputs %.3g, gradients %.3g\n", manifest_["cases"].size(),
              worst_value, worst_grad);
}

TEST_F(AutogradGolden, AdamTenStepsMatchTorchOptimAdam) {
  ASSERT_EQ(manifest_["adam"].size(), 2u);
  for (const json& c : manifest_["adam"]) {
    optim::AdamHyper h;
    h.lr = c["lr"], h.beta1 = c["beta1"], h.beta2 = c["beta2"], h.eps = c["eps"], h.weight_decay = c["weight_decay"];
    ag::Variable p(load(c["param"]), true);
    optim::Adam adam({p}, h);
    double worst = 0;
    for (size_t s = 0; s < c["grads"].size(); ++s) {
      adam.zero_grad();
      p.backward(load(c["grads"][s]));  // a leaf's backward puts the seed in its gradient
      adam.step();
      const Tensor want = load(c["after"][s]);
      const std::string what = "Adam weight_decay " + c["weight_decay"].dump() + " after step " + std::to_string(s + 1);
      test::expect_close(p.value().data<float>(), want.data<float>(), want.numel(), 1e-5, what);
      worst = std::max(worst, test::relative_error(p.value().data<float>(), want.data<float>(), want.numel()));
    }
    std::printf("Adam weight_decay %s: worst relative error %.3g\n", c["weight_decay"].dump().c_str(), worst);
  }
}

}  // namespace
}  // namespace hl
