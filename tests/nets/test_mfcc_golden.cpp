// MFCC against python_speech_features itself (tests/golden/mfcc_ref.py) on speech
// (espeak-ng), tones, noise, a clip shorter than a window and silence with a click: the
// library's rounded step bit for bit in layout, and hl's exact step against the library's
// own pipeline functions. Tolerance: f32 1e-5 relative (DESIGN section 6); each case prints
// its measured error (2.2e-6 at most, 2026-11-28).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "nets/mfcc.h"
#include "support/test_support.h"

namespace hl {
namespace {

using nlohmann::json;

class MfccGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::run_golden_script("mfcc_ref.py", {dir_->path().string()}), 0)
        << "tests/golden/mfcc_ref.py failed (python_speech_features, scipy and espeak-ng are needed)";
    manifest_ = json::parse(test::read_file(dir_->file("manifest.json")));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  template <typename T>
  static std::vector<T> load(const std::string& name) {
    const auto bytes = test::read_file(dir_->file(name));
    std::vector<T> v(bytes.size() / sizeof(T));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
    return v;
  }
  static void compare(const std::string& name, const MfccParams& p, int64_t rows, const std::string& ref_file) {
    const std::vector<float> signal = load<float>(name + ".signal.f32");
    const Tensor samples = Tensor::from_vector(Shape({static_cast<int64_t>(signal.size())}), signal);
    const Tensor got = mfcc(samples, rows, p);
    const std::vector<double> ref = load<double>(ref_file);
    ASSERT_EQ(static_cast<int64_t>(ref.size()), rows * 13) << ref_file;
    std::vector<float> want(ref.begin(), ref.end());
    std::printf("%-28s max relative error %.2e\n", ref_file.c_str(),
                test::relative_error(got.data<float>(), want.data(), rows * 13));
    test::expect_close(got.data<float>(), want.data(), rows * 13, 1e-5, name + " " + ref_file);
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline json manifest_;
};

TEST_F(MfccGolden, LibraryStepMatchesPythonSpeechFeatures) {
  ASSERT_EQ(manifest_.size(), 5u);
  const MfccParams lib = MfccParams::python_speech_features();
  for (const json& c : manifest_) {
    const std::string name = c["name"];
    // Our row count for the library's step is the library's own.
    EXPECT_EQ(mfcc_rows_for_samples(c["samples"].get<int64_t>(), lib), c["library_rows"].get<int64_t>()) << name;
    compare(name, lib, c["library_rows"], name + ".library.f64");
  }
}

TEST_F(MfccGolden, ExactStepMatchesTheLibraryPipeline) {
  for (const json& c : manifest_) {
    const std::string name = c["name"];
    compare(name, MfccParams::paper(), c["exact_rows"], name + ".exact.f64");
  }
}

}  // namespace
}  // namespace hl
