// The first ops (through the hl::ops API, on the CPU) against PyTorch's outputs from
// tests/golden/kernels_ref.py: elementwise, reductions, transpose, batched matmul with
// transposes, and the f16/bf16 casts bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/ops.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

class KernelsGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("kernels_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/kernels_ref.py failed (is torch importable by $HL_PYTHON?)";
    manifest_ = json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static Tensor load(const json& a) {
    const std::vector<int64_t> dims = a["shape"].get<std::vector<int64_t>>();
    const std::string type = a["dtype"];
    const DType dtype = type == "f32" ? DType::F32 : type == "f16" ? DType::F16 : DType::BF16;
    Tensor t = Tensor::empty(Shape(dims), dtype);
    const auto bytes = test::read_file(dir_->file(a["file"]));
    EXPECT_EQ(bytes.size(), t.nbytes()) << a["file"];
    std::memcpy(t.raw(), bytes.data(), std::min(bytes.size(), t.nbytes()));
    return t;
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline json manifest_;
};

Tensor run_op(const std::string& op, const std::vector<Tensor>& in, const json& args) {
  if (op == "add") return ops::add(in[0], in[1]);
  if (op == "mul") return ops::mul(in[0], in[1]);
  if (op == "scale") return ops::scale(in[0], args["alpha"].get<float>());
  if (op == "relu") return ops::relu(in[0]);
  if (op == "sigmoid") return ops::sigmoid(in[0]);
  if (op == "tanh") return ops::tanh(in[0]);
  if (op == "sum") return ops::sum(in[0], args["dim"].get<int>());
  if (op == "mean") return ops::mean(in[0], args["dim"].get<int>());
  if (op == "max") return ops::max(in[0], args["dim"].get<int>());
  if (op == "transpose_last2") return ops::transpose_last2(in[0]);
  if (op == "matmul") return ops::matmul(in[0], in[1], args["trans_a"].get<bool>(), args["trans_b"].get<bool>());
  throw Error("unknown op " + op);
}

TEST_F(KernelsGolden, OpsMatchPyTorch) {
  ASSERT_GT(manifest_["cases"].size(), 50u);
  for (const json& c : manifest_["cases"]) {
    std::vector<Tensor> inputs;
    for (const json& a : c["inputs"]) inputs.push_back(load(a));
    const Tensor expected = load(c["output"]);
    const Tensor got = run_op(c["op"], inputs, c["args"]);
    const std::string what = c["op"].get<std::string>() + " " + c["args"].dump() + " on " + inputs[0].str();
    ASSERT_EQ(got.shape(), expected.shape()) << what;
    test::expect_close(got.data<float>(), expected.data<float>(), got.numel(), 1e-5, what);
  }
}

TEST_F(KernelsGolden, F16ToF32EveryPattern) {
  const Tensor in = load(manifest_["f16_to_f32"]["input"]);
  const Tensor want = load(manifest_["f16_to_f32"]["output"]);
  const Tensor got = in.cast(DType::F32);
  ASSERT_EQ(got.numel(), 65536);
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float g = got.data<float>()[i], w = want.data<float>()[i];
    if (std::isnan(w))
      ASSERT_TRUE(std::isnan(g)) << i;
    else
      ASSERT_EQ(std::memcmp(&g, &w, 4), 0) << "pattern " << i << ": got " << g << ", torch " << w;
  }
}

TEST_F(KernelsGolden, F32ToHalfTypesBitExact) {
  for (const char* key : {"f32_to_f16", "f32_to_bf16"}) {
    const Tensor in = load(manifest_[key]["input"]);
    const Tensor want = load(manifest_[key]["output"]);
    const Tensor got = in.cast(want.dtype());
    const auto* g = got.data<uint16_t>();
    const auto* w = want.data<uint16_t>();
    for (int64_t i = 0; i < got.numel(); ++i)
      ASSERT_EQ(g[i], w[i]) << key << " of " << in.data<float>()[i] << " (element " << i << ")";
  }
}

}  // namespace
}  // namespace hl
