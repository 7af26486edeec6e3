// What a steady faces or affect hl::HighlightStream allocates (include/hl/highlights.h,
// "Allocation"), counted as tests/embed/test_stream_allocations.cpp counts it (every
// operator new of this program, a global replacement; hence a program of its own): a
// faces + mfcc model and an affect + mfcc model with the published MTCNN and mini-Xception
// weights (tests/pipeline/face_test_weights.h), fed the three 640x360 frames of
// tests/golden/mtcnn_ref.py's generated video (a head moving and shrinking: MTCNN finds
// a face in each, so every stage and fer's crop run) over and over at 3 fps with their
// audio. The number of candidate boxes differs between the frames, so the detector's
// buffers grow during the first segment (the warm-up); from then on a push that
// completes no segment must make zero operator new calls (with a fresh MTCNN scratch per
// detection, as before the detector kept its buffers: 1896 over the 28 quiet pushes).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "../pipeline/face_test_weights.h"
#include "counting_new.h"
#include "hl/highlights.h"
#include "nets/highlight_model.h"

// Every allocation of this program goes through tests/embed/counting_new.cpp; counting
// is on only while a test asks.
using hl::test::g_allocations;
using hl::test::g_counting;

namespace hl {
namespace {

// As test_stream_allocations.cpp: the model's forward pass on a completing push is not
// this test's subject, hence the room.
constexpr int64_t kCompletingPushBound = 1000;

struct PushCounts {
  std::vector<int64_t> quiet;       // pushes that completed no segment
  std::vector<int64_t> completing;  // pushes after which a segment was polled
};

// Pushes `frames` frames (frames[k % 3]) at 3 fps with their audio; counts the pushes
// from frame `first_counted` on.
PushCounts run(const HighlightDetector& detector, const std::vector<Tensor>& video, int64_t frames,
               int64_t first_counted) {
  const VideoRate rate{3, 1};
  HighlightStream s = detector.stream(rate, 16000);
  std::vector<float> audio(4096);
  const auto samples_until = [&](int64_t k) { return (k + 2) * 16000 * rate.den / rate.num; };
  int64_t audio_done = 0;
  PushCounts counts;
  for (int64_t k = 0; k < frames; ++k) {
    const Tensor& frame = video[static_cast<size_t>(k) % video.size()];
    const bool count = k >= first_counted;
    if (count) g_allocations = 0, g_counting = true;
    const int64_t end = samples_until(k);
    while (audio_done < end) {
      const auto n = static_cast<size_t>(std::min<int64_t>(end - audio_done, static_cast<int64_t>(audio.size())));
      for (size_t i = 0; i < n; ++i)
        audio[i] = 0.2f * std::sin(0.05f * static_cast<float>(audio_done + static_cast<int64_t>(i)));
      s.push_audio(audio.data(), n, audio_done * 1'000'000 / 16000);
      audio_done += static_cast<int64_t>(n);
    }
    s.push_video_frame(frame.data<uint8_t>(), static_cast<int>(frame.size(1)), static_cast<int>(frame.size(0)),
                       k * 1'000'000 * rate.den / rate.num);
    bool completed = false;
    while (s.poll()) completed = true;
    g_counting = false;
    if (count) (completed ? counts.completing : counts.quiet).push_back(g_allocations.load());
  }
  return counts;
}

void print(const char* what, const PushCounts& c) {
  int64_t quiet = 0, completing_max = 0;
  for (int64_t n : c.quiet) quiet += n;
  for (int64_t n : c.completing) completing_max = std::max(completing_max, n);
  std::printf("%s: %zu quiet pushes, %lld allocations in all; %zu completing pushes, at most %lld allocations each\n",
              what, c.quiet.size(), static_cast<long long>(quiet), c.completing.size(),
              static_cast<long long>(completing_max));
}

class FaceStreamAllocations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    nlohmann::json manifest;
    missing_ = new std::string(test::write_face_weights(*dir_, &manifest));
    video_ = new std::vector<Tensor>;
    if (!missing_->empty()) return;
    for (const auto& img : manifest["images"])
      if (img["name"].get<std::string>().rfind("frame", 0) == 0) video_->push_back(test::manifest_image(*dir_, img));
    HighlightModel(HighlightModelConfig::paper({Feature::Faces, Feature::Mfcc}), 3).save(dir_->file("faces.safetensors"));
    HighlightModel(HighlightModelConfig::paper({Feature::Affect, Feature::Mfcc}), 3)
        .save(dir_->file("affect.safetensors"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete missing_;
    delete video_;
  }
  void SetUp() override {
    if (!missing_->empty()) GTEST_SKIP() << *missing_;
    ASSERT_EQ(video_->size(), 3u) << "mtcnn_ref.py's frame0..frame2";
  }
  static void expect_quiet_pushes_allocate_nothing(const char* model, const char* what) {
    DetectorOptions options;
    options.weights_dir = dir_->file("weights");
    const HighlightDetector detector(dir_->file(model), options);
    // 15 frames a segment; frames 20..49 (after the first segment's warm-up) include two
    // completions.
    const PushCounts c = run(detector, *video_, 50, 20);
    print(what, c);
    ASSERT_EQ(c.completing.size(), 2u);
    for (size_t i = 0; i < c.quiet.size(); ++i) EXPECT_EQ(c.quiet[i], 0) << "quiet push " << i;
    for (int64_t n : c.completing) EXPECT_LE(n, kCompletingPushBound);
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline std::string* missing_ = nullptr;
  static inline std::vector<Tensor>* video_ = nullptr;
};

TEST_F(FaceStreamAllocations, FacesMfccStream) { expect_quiet_pushes_allocate_nothing("faces.safetensors", "faces + mfcc"); }

TEST_F(FaceStreamAllocations, AffectMfccStream) {
  expect_quiet_pushes_allocate_nothing("affect.safetensors", "affect + mfcc");
}

}  // namespace
}  // namespace hl
