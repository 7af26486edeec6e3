// The dense encoders' inputs kept f16 as stored (issue 18): ag::linear_from_rows against
// ag::linear (itself golden-tested against PyTorch) and a double-precision product;
// SegmentDataset::batch(..., dense_as_stored) + HighlightModel::forward against the f32
// batch, bit for bit; and the memory a training forward pass keeps, measured from the
// process (RssAnon) against the f32 input's size computed from the shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/autograd/linear.h"
#include "engine/autograd/shape_ops.h"
#include "engine/error.h"
#include "engine/safetensors.h"
#include "kernels/cpu/cast.h"
#include "kernels/cpu/host_cache.h"
#include "nets/highlight_model.h"
#include "nets/stored_rows.h"
#include "pipeline/input_statistics.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/synthetic.h"
#include "support/test_support.h"

// Builds with AddressSanitizer bypass the host block cache (kernels/cpu/host_cache.cpp)
// and its allocator keeps freed memory: the resident-memory tests say nothing there.
#if defined(__SANITIZE_ADDRESS__)
#define HL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_TEST_ASAN 1
#endif
#endif

namespace hl {
namespace {

// Values in [-1, 1) from a fixed linear congruential sequence (no dependence on the code under test).
std::vector<float> pseudo_random(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) / static_cast<float>(1u << 23) - 1.0f;
  }
  return v;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct DenseCase {
  int64_t rows, in, out, block;
};

TEST(LinearFromRows, MatchesLinearForwardBitForBitAndItsGradientsToRounding) {
  // 1,000 rows in blocks of 96 (11 blocks, the last shorter), and one block of all rows.
  for (const DenseCase c : {DenseCase{1000, 512, 64, 96}, DenseCase{1000, 512, 64, 4096}, DenseCase{300, 128, 16, 64}}) {
    SCOPED_TRACE("rows " + std::to_string(c.rows) + ", block " + std::to_string(c.block));
    const Tensor x = Tensor::from_vector(Shape{c.rows, c.in}, pseudo_random(c.rows * c.in, 1));
    const ag::Variable w(Tensor::from_vector(Shape{c.in, c.out}, pseudo_random(c.in * c.out, 2)), true);
    const ag::Variable b(Tensor::from_vector(Shape{c.out}, pseudo_random(c.out, 3)), true);
    const Tensor dy = Tensor::from_vector(Shape{c.rows, c.out}, pseudo_random(c.rows * c.out, 4));

    const ag::Variable y_ref = ag::linear(ag::Variable(x), w, b);
    y_ref.backward(dy);
    const Tensor dw_ref = w.grad(), db_ref = b.grad();
    w.data()->grad = Tensor();
    b.data()->grad = Tensor();

    const float* px = x.data<float>();
    const int64_t in = c.in;
    const ag::RowSource source = [x, px, in](int64_t first, int64_t count, float* dst) {
      std::memcpy(dst, px + first * in, static_cast<size_t>(count * in) * sizeof(float));
    };
    const ag::Variable y = ag::linear_from_rows(source, c.rows, c.in, w, b, c.block);
    EXPECT_TRUE(same_bits(y.value(), y_ref.value()));
    y.backward(dy);
    EXPECT_TRUE(same_bits(b.grad(), db_ref));
    if (c.block >= c.rows) {
      EXPECT_TRUE(same_bits(w.grad(), dw_ref));  // one block: linear's own product
    }
    // dw against a double-precision sum over the rows.
    const float* pdy = dy.data<float>();
    const float* dw = w.grad().data<float>();
    for (int64_t i = 0; i < c.in; i += 37)
      for (int64_t j = 0; j < c.out; ++j) {
        double sum = 0, scale = 0;
        for (int64_t r = 0; r < c.rows; ++r) {
          sum += static_cast<double>(px[r * c.in + i]) * pdy[r * c.out + j];
          scale += std::fabs(static_cast<double>(px[r * c.in + i]) * pdy[r * c.out + j]);
        }
        ASSERT_NEAR(dw[i * c.out + j], sum, 1e-6 * scale) << i << ", " << j;
      }
  }
}

TEST(LinearFromRows, RefusesMismatchedShapes) {
  const ag::Variable w(Tensor::zeros(Shape{8, 4}, DType::F32), true);
  const ag::RowSource none = [](int64_t, int64_t, float*) {};
  EXPECT_THROW(ag::linear_from_rows(none, 10, 7, w, ag::Variable()), Error);
  EXPECT_THROW(ag::linear_from_rows(none, 10, 8, w, ag::Variable(), 0), Error);
  EXPECT_THROW(ag::linear_from_rows(none, 10, 8, w, ag::Variable(Tensor::zeros(Shape{3}, DType::F32))), Error);
}

// Three 12-s synthetic videos (2 segments each) with the dense features, googlenet,
// places365 and affect, and mfcc, stored f16 as hl-synth writes them.
struct SmallDataset {
  test::TempDir dir;
  SegmentDataset data;
  explicit SmallDataset(const std::vector<Feature>& features) : data(make(dir, features)) {}
  static SegmentDataset make(const test::TempDir& dir, const std::vector<Feature>& features) {
    SyntheticSpec spec;
    spec.videos = 3;
    spec.min_seconds = spec.max_seconds = 12;
    spec.features = features;
    write_synthetic_dataset(spec, dir.path().string());
    SegmentScores labels;
    for (int i = 0; i < spec.videos; ++i) {
      const SyntheticVideo v = synthetic_video(spec, i);
      labels[v.id] = v.labels;
    }
    return SegmentDataset::open((dir.path() / "features").string(), labels, features);
  }
};

TEST(DenseAsStored, ScoresEqualTheF32BatchBitForBit) {
  const std::vector<Feature> features{Feature::GoogLeNet, Feature::Places365, Feature::Affect, Feature::Mfcc};
  SmallDataset set(features);
  ASSERT_EQ(set.data.size(), 6u);
  std::vector<size_t> all(set.data.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  HighlightModelConfig config;
  config.features = features;
  config.hidden = 8;
  HighlightModel model(config, 5);
  for (bool standardise : {false, true}) {
    SCOPED_TRACE(standardise ? "standardised" : "as stored");
    if (standardise) model.set_input_normalisation(compute_input_normalisation(set.data, all));
    const InputNormalisation& norm = model.input_normalisation();
    const SegmentBatch f32 = set.data.batch(all, Device::cpu(), norm);
    const SegmentBatch f16 = set.data.batch(all, Device::cpu(), norm, /*dense_as_stored=*/true);
    for (Feature f : features) {
      const bool dense = f != Feature::Mfcc;
      EXPECT_EQ(f16.inputs.at(f).dtype(), dense ? DType::F16 : DType::F32) << feature_spec(f).name;
      if (!dense) continue;
      // The rows the model produces from the f16 batch are the dataset's f32 rows.
      const Tensor& want = f32.inputs.at(f);
      const int64_t width = want.size(-1), rows = want.numel() / width;
      Tensor got = Tensor::empty(Shape{rows, width}, DType::F32);
      stored_rows(f, f16.inputs.at(f), norm)(0, rows, got.data<float>());
      EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << feature_spec(f).name;
    }
    for (bool training : {false, true}) {
      const Tensor a = model.forward(f32.inputs, training, {7, 0}).value();
      const Tensor b = model.forward(f16.inputs, training, {7, 0}).value();
      EXPECT_TRUE(same_bits(a, b)) << (training ? "training" : "evaluation");
    }
  }
}

TEST(DenseAsStored, RefusesF16WhereTheModelDoesNotTakeIt) {
  SmallDataset set({Feature::GoogLeNet, Feature::Mfcc});
  const size_t pick[] = {0, 1};
  SegmentBatch batch = set.data.batch(pick, Device::cpu(), InputNormalisation::none(), true);
  HighlightModelConfig config;
  config.features = {Feature::GoogLeNet, Feature::Mfcc};
  const HighlightModel model(config, 1);
  EXPECT_NO_THROW(model.forward(batch.inputs, false));
  // mfcc as f16 is not taken (only the dense features are).
  Tensor mfcc = Tensor::empty(batch.inputs.at(Feature::Mfcc).shape(), DType::F16);
  batch.inputs[Feature::Mfcc] = mfcc;
  const std::string message = test::error_of([&] { model.forward(batch.inputs, false); });
  EXPECT_NE(message.find("'mfcc'"), std::string::npos) << message;
}

// The f16 rows are checked as the f32 ones are: a NaN at frame 40 of googlenet is refused
// with the file, the feature and the frame.
TEST(DenseAsStored, NonFiniteRowsAreRefusedNamingTheFrame) {
  test::TempDir dir;
  const int64_t frames = 400;  // 13.3 s at 29.97 fps: 2 segments
  std::vector<float> values(static_cast<size_t>(frames * 1024), 0.25f);
  values[40 * 1024 + 7] = NAN;
  Tensor googlenet = Tensor::from_vector(Shape{frames, 1024}, values).cast(DType::F16);
  const std::string path = dir.file("v.safetensors");
  write_safetensors(path, {{"googlenet", googlenet}}, {{"fps", "30000/1001"}});
  const SegmentDataset data =
      SegmentDataset::open(dir.path().string(), {{"v", {1.0, 2.0}}}, {Feature::GoogLeNet});
  const size_t pick[] = {0};
  const std::string message =
      test::error_of([&] { data.batch(pick, Device::cpu(), InputNormalisation::none(), true); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("'googlenet'"), std::string::npos) << message;
  EXPECT_NE(message.find("frame 40"), std::string::npos) << message;
  const size_t other[] = {1};  // segment 1 (frames 149 on) is clean
  EXPECT_NO_THROW(data.batch(other, Device::cpu(), InputNormalisation::none(), true));
}

int64_t rss_anon_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("RssAnon:", 0) == 0) return std::stoll(line.substr(8)) * 1024;
  return -1;
}

// What a training forward pass keeps until the backward pass, with the dense input f16:
// not the input in f32. Measured as the growth of the process's anonymous resident
// memory with the host block cache off (blocks this large are glibc mappings of their own,
// so a freed block leaves RSS). Expected: the f16 input itself (held before the measurement
// starts) plus activations of [B*T, 64] and a small BiLSTM, a few MB; the f32 input
// would be 39 MB. Before this change the model took f32 only, and the tape kept it.
TEST(DenseAsStored, TrainingForwardKeepsNoF32CopyOfTheInput) {
#ifdef HL_TEST_ASAN
  GTEST_SKIP() << "AddressSanitizer build: no host cache";
#endif
  if (rss_anon_bytes() < 0) GTEST_SKIP() << "no /proc/self/status RssAnon";
  const size_t saved_capacity = host_cache::capacity();
  host_cache::set_capacity(0);
  const int64_t b = 32, t = 150, d = 2048;  // places365
  HighlightModelConfig config;
  config.features = {Feature::Places365};
  config.hidden = 8;
  const HighlightModel model(config, 3);
  std::vector<uint16_t> bits(static_cast<size_t>(b * t * d));
  const std::vector<float> values = pseudo_random(b * t * d, 9);
  cpu::f32_to_f16(values.data(), bits.data(), b * t * d);
  Tensor input = Tensor::empty(Shape{b, t, d}, DType::F16);
  std::memcpy(input.raw(), bits.data(), input.nbytes());
  std::vector<uint16_t>().swap(bits);
  const int64_t f32_input_bytes = b * t * d * static_cast<int64_t>(sizeof(float));

  const int64_t before = rss_anon_bytes();
  ag::Variable score = model.forward({{Feature::Places365, input}}, true, {1, 0});
  const int64_t kept = rss_anon_bytes() - before;
  EXPECT_LT(kept, f32_input_bytes / 4) << "the forward pass keeps " << kept << " bytes; the f32 input is "
                                       << f32_input_bytes;
  // The backward pass still works from the f16 rows.
  ag::sum_all(score).backward();
  EXPECT_TRUE(model.parameter("places365.dense.kernel").grad().defined());
  host_cache::set_capacity(saved_capacity);
}

}  // namespace
}  // namespace hl
