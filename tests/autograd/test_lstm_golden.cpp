// hl::ag::bilstm against torch.nn.LSTM(batch_first, bidirectional) with our single bias
// as bias_ih and bias_hh = 0: outputs (last states or the full sequence), final cell
// states, and the gradients of x and of all six parameters; and one direction with
// input and recurrent dropout masks against an explicit PyTorch loop
// (tests/golden/lstm_ref.py). Tolerance 1e-5 relative.
#include <gtest/gtest.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/autograd/autograd.h"
#include "golden_io.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

class LstmGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("lstm_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/lstm_ref.py failed (is torch importable by $HL_PYTHON?)";
    manifest_ = json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static Tensor load(const json& a) { return test::load_f32(*dir_, a); }
  static ag::LstmParams params(const json& list) {
    return {ag::Variable(load(list[0]), true), ag::Variable(load(list[1]), true), ag::Variable(load(list[2]), true)};
  }
  static double compare(const Tensor& got, const json& want_entry, const std::string& what) {
    const Tensor want = load(want_entry);
    EXPECT_EQ(got.shape(), want.shape()) << what;
    if (!(got.shape() == want.shape())) return INFINITY;
    test::expect_close(got.data<float>(), want.data<float>(), want.numel(), 1e-5, what);
    return test::relative_error(got.data<float>(), want.data<float>(), want.numel());
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline json manifest_;
};

TEST_F(LstmGolden, BidirectionalMatchesTorchNnLstm) {
  ASSERT_EQ(manifest_["bilstm"].size(), 8u);
  double worst = 0;
  for (const json& c : manifest_["bilstm"]) {
    ag::Variable x(load(c["x"]), true);
    ag::LstmParams fw = params(c["forward"]), bw = params(c["backward"]);
    ag::BiLstmOptions o;
    o.full_sequence = c["full_sequence"];
    const std::string what = std::string(o.full_sequence ? "full sequence" : "last states") + " on " + x.value().str();
    const ag::Variable y = ag::bilstm(x, fw, bw, o);
    worst = std::max(worst, compare(y.value(), c["output"], what + ": output"));
    // The final cell states, from each direction alone.
    worst = std::max(worst, compare(ag::lstm(x, fw, false).c_last, c["c_n"][0], what + ": forward c_n"));
    worst = std::max(worst, compare(ag::lstm(x, bw, true).c_last, c["c_n"][1], what + ": backward c_n"));
    y.backward(load(c["seed"]));
    worst = std::max(worst, compare(x.grad(), c["dx"], what + ": dx"));
    const char* names[3] = {"kernel", "recurrent", "bias"};
    for (int i = 0; i < 3; ++i) {
      const ag::Variable* f[3] = {&fw.kernel, &fw.recurrent, &fw.bias};
      const ag::Variable* b[3] = {&bw.kernel, &bw.recurrent, &bw.bias};
      worst = std::max(worst, compare(f[i]->grad(), c["dforward"][i], what + ": forward d" + names[i]));
      worst = std::max(worst, compare(b[i]->grad(), c["dbackward"][i], what + ": backward d" + names[i]));
    }
  }
  std::printf("bilstm vs torch.nn.LSTM: worst relative error %.3g\n", worst);
}

TEST_F(LstmGolden, DropoutMasksFixedOverTheSequence) {
  ASSERT_EQ(manifest_["masked"].size(), 4u);
  double worst = 0;
  for (const json& c : manifest_["masked"]) {
    ag::Variable x(load(c["x"]), true);
    ag::LstmParams p = params(c["params"]);
    const bool reverse = c["reverse"];
    const std::string what = std::string(reverse ? "reverse" : "forward") + " masked lstm on " + x.value().str();
    const ag::LstmResult r = ag::lstm(x, p, reverse, {load(c["input_mask"]), load(c["recurrent_mask"])});
    worst = std::max(worst, compare(r.hs.value(), c["output"], what + ": h"));
    worst = std::max(worst, compare(r.c_last, c["c_last"], what + ": c_last"));
    r.hs.backward(load(c["seed"]));
    worst = std::max(worst, compare(x.grad(), c["dx"], what + ": dx"));
    worst = std::max(worst, compare(p.kernel.grad(), c["dparams"][0], what + ": dkernel"));
    worst = std::max(worst, compare(p.recurrent.grad(), c["dparams"][1], what + ": drecurrent"));
    worst = std::max(worst, compare(p.bias.grad(), c["dparams"][2], what + ": dbias"));
  }
  std::printf("masked lstm vs PyTorch loop: worst relative error %.3g\n", worst);
}

}  // namespace
}  // namespace hl
