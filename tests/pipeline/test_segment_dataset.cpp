// The segment dataset over feature files written here: the held-frame upsampling to
// 30 fps and the 120-Hz MFCC alignment (checked against the defining inequalities, not
// a formula shared with the code), feature selection, and every error case.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "kernels/cpu/cast.h"
#include "pipeline/feature_file.h"
#include "pipeline/feature_rows.h"
#include "pipeline/input_statistics.h"
#include "pipeline/segment_dataset.h"
#include "support/test_support.h"

namespace hl {
namespace {

using test::error_of;

// A feature file whose every row holds its own row index, so a batch shows which
// native row was picked for each tick; stored as `dtype` (row indices are exact in f16
// below 2048 and in bf16 up to 256).
void write_features(const std::string& path, int64_t frames, const std::string& fps, bool with_mfcc = true,
                    int64_t mfcc_rows = -1, DType dtype = DType::F32) {
  auto indexed = [dtype](std::vector<int64_t> dims) {
    Tensor t = Tensor::empty(Shape(dims), DType::F32);
    int64_t per_row = t.numel() / dims[0];
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(i / per_row);
    return t.cast(dtype);
  };
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"googlenet", indexed({frames, 1024})}, {"cam", indexed({frames, 14, 14})}, {"faces", indexed({frames})}};
  if (with_mfcc) tensors.push_back({"mfcc", indexed({mfcc_rows < 0 ? 4 * frames : mfcc_rows, 13})});
  std::map<std::string, std::string> meta;
  if (!fps.empty()) meta["fps"] = fps;
  write_safetensors(path, tensors, meta);
}

// Resident bytes of this process's mappings of `path`: the Rss lines of /proc/self/smaps
// under each mapping header ("start-end perms offset dev inode path") naming the file.
int64_t resident_bytes_of_mapping(const std::string& path) {
  const std::string canonical = std::filesystem::canonical(path).string();
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  int64_t kib = 0;
  while (std::getline(smaps, line)) {
    const std::string first = line.substr(0, line.find(' '));
    if (first.find('-') != std::string::npos && first.back() != ':')  // a mapping's header
      inside = line.size() > canonical.size() &&
               line.compare(line.size() - canonical.size(), canonical.size(), canonical) == 0;
    else if (inside && first == "Rss:")
      kib += std::stoll(line.substr(4));
  }
  return kib * 1024;
}

// release_mapped_range drops the pages of a read range from the process, not the whole
// mapping: the rows of an 8-MiB mapped tensor are read, one MiB of them is released, and
// the mapping's resident bytes fall by at least that MiB but stay above half. (The
// kernel may drop more than the range: a file mapped in 2-MiB folios loses the whole
// folio's mapping, harmless since the pages come back from the page cache.) What lets
// SegmentDataset::batch give back each segment's pages as soon as it has read them
// (issue 18: a batch of 300 held 1 GB of file pages until its end).
TEST(FeatureRows, ReleasedRangeLeavesTheProcessButNotTheWholeMapping) {
  test::TempDir dir;
  const std::string path = dir.file("big.safetensors");
  write_safetensors(path, {{"x", Tensor::zeros({2048, 1024}, DType::F32)}}, {});  // 8 MiB: rows of 4 KiB
  const SafetensorsFile file = SafetensorsFile::open(path);
  const Tensor x = file.get("x");
  ASSERT_TRUE(x.storage() && x.storage()->read_only()) << "the tensor must view the mapped file";
  const auto* rows = static_cast<const unsigned char*>(x.raw());
  const int64_t mib = int64_t(1) << 20;
  volatile unsigned sum = 0;
  for (int64_t i = 0; i < 8 * mib; i += 4096) sum = sum + rows[i];  // touch every page
  const int64_t before = resident_bytes_of_mapping(path);
  ASSERT_GE(before, 8 * mib);
  release_mapped_range(*x.storage(), rows + 9 * mib / 4, rows + 13 * mib / 4);  // rows 576..831
  const int64_t after = resident_bytes_of_mapping(path);
  EXPECT_LE(after, before - mib) << "the range's pages are still mapped";
  EXPECT_GE(after, before / 2) << "far more than the range went";
  for (int64_t i = 2 * mib; i < 4 * mib; i += 4096) ASSERT_EQ(rows[i], 0);  // back from the page cache
}

TEST(SegmentDataset, HoldsTheLatestFrameAndAlignsMfcc) {
  test::TempDir dir;
  write_features(dir.file("a.safetensors"), 400, "30000/1001");  // 13.35 s: 2 segments
  write_features(dir.file("b.safetensors"), 300, "25");          // 12 s: 2 segments
  const SegmentScores labels = {{"a", {0.5, 1.5}}, {"b", {2.0, 0.0}}};
  const auto ds = SegmentDataset::open(dir.path().string(), labels, parse_feature_list("googlenet,faces,mfcc"));
  ASSERT_EQ(ds.size(), 4u);
  const size_t pick[] = {1, 3};  // a segment 1, b segment 1
  const SegmentBatch batch = ds.batch(pick);
  EXPECT_EQ(batch.inputs.count(Feature::Cam), 0u);  // only what the model uses
  const Tensor& g = batch.inputs.at(Feature::GoogLeNet);
  ASSERT_EQ(g.shape(), Shape({2, 150, 1024}));
  ASSERT_EQ(batch.inputs.at(Feature::Faces).shape(), Shape({2, 150, 1}));
  const Tensor& m = batch.inputs.at(Feature::Mfcc);
  ASSERT_EQ(m.shape(), Shape({2, 600, 13}));
  EXPECT_EQ(batch.labels.data<float>()[0], 1.5f);
  EXPECT_EQ(batch.labels.data<float>()[1], 0.0f);
  struct Rate {
    int64_t num, den;
  };
  const Rate rates[] = {{30000, 1001}, {25, 1}};
  for (int v = 0; v < 2; ++v) {
    const int64_t frames = v == 0 ? 400 : 300;
    for (int64_t r = 0; r < 150; ++r) {
      const int64_t t = 150 + r;  // 30-fps tick (segment 1)
      const auto j = static_cast<int64_t>(g.data<float>()[(v * 150 + r) * 1024 + 7]);
      // Frame j is shown at tick t: j/fps <= t/30 < (j+1)/fps (or j is the last frame).
      EXPECT_LE(j * rates[v].den * 30, t * rates[v].num) << v << " " << r;
      if (j < frames - 1) {
        EXPECT_GT((j + 1) * rates[v].den * 30, t * rates[v].num) << v << " " << r;
      }
      EXPECT_EQ(batch.inputs.at(Feature::Faces).data<float>()[v * 150 + r], static_cast<float>(j));
    }
    for (int64_t r = 0; r < 600; ++r) {
      const int64_t u = 600 + r;  // 120-Hz sub-tick
      const auto q = static_cast<int64_t>(m.data<float>()[(v * 600 + r) * 13 + 12]);
      // MFCC rows run at 4 × fps: q/(4 fps) <= u/120 < (q+1)/(4 fps).
      EXPECT_LE(q * rates[v].den * 120, u * 4 * rates[v].num) << v << " " << r;
      EXPECT_GT((q + 1) * rates[v].den * 120, u * 4 * rates[v].num) << v << " " << r;
    }
  }
}

TEST(SegmentDataset, ErrorsNameTheVideoFileAndProblem) {
  test::TempDir dir;
  write_features(dir.file("a.safetensors"), 400, "30000/1001");
  const auto use = parse_feature_list("googlenet,mfcc");
  auto open = [&](const SegmentScores& labels, const std::vector<Feature>& features) {
    return error_of([&] { SegmentDataset::open(dir.path().string(), labels, features, "labels.csv"); });
  };
  EXPECT_NE(open({{"zz", {1}}}, use).find("no feature file for video 'zz'"), std::string::npos);
  // An id that would lead out of the features folder is refused before any path is built
  // (a file a/../outside.safetensors exists: without the check it would be opened).
  write_features(dir.path().parent_path().string() + "/" + dir.path().filename().string() + "-outside.safetensors", 400,
                 "30000/1001");
  const std::string escape = "../" + dir.path().filename().string() + "-outside";
  const std::string escaped = open({{escape, {1}}}, use);
  std::filesystem::remove(dir.path().string() + "-outside.safetensors");
  EXPECT_EQ(escaped.rfind("labels.csv", 0), 0u) << escaped;
  EXPECT_NE(escaped.find("video id"), std::string::npos) << escaped;
  EXPECT_EQ(open({{"/etc/passwd", {1}}}, use).rfind("labels.csv", 0), 0u);
  EXPECT_NE(open({{"a", {1, 1, 1}}}, use).find("labels.csv: video 'a' has labels for segment 2 but its features"),
            std::string::npos);
  EXPECT_NE(open({{"a", {1}}}, parse_feature_list("places365")).find("no 'places365' tensor"), std::string::npos);

  write_features(dir.file("nofps.safetensors"), 400, "");
  EXPECT_NE(open({{"nofps", {1}}}, use).find("no 'fps' in the metadata"), std::string::npos);
  write_features(dir.file("badmfcc.safetensors"), 400, "25", true, 1599);
  EXPECT_NE(open({{"badmfcc", {1}}}, use).find("'mfcc' has 1599 rows, not a multiple of 4"), std::string::npos);
  write_features(dir.file("short_mfcc.safetensors"), 400, "25", true, 1200);
  EXPECT_NE(open({{"short_mfcc", {1}}}, use).find("'mfcc' covers 300 frames but the other features cover 400"),
            std::string::npos);
  write_safetensors(dir.file("shape.safetensors"), {{"googlenet", Tensor::zeros(Shape({10, 512}), DType::F32)}},
                    {{"fps", "25"}});
  EXPECT_NE(open({{"shape", {1}}}, parse_feature_list("googlenet")).find("has shape [10, 512], expected [T, 1024]"),
            std::string::npos);
}

TEST(FeatureList, ParsesAndRejects) {
  EXPECT_EQ(parse_feature_list("all").size(), 6u);
  EXPECT_EQ(parse_feature_list("mfcc,faces"), (std::vector<Feature>{Feature::Mfcc, Feature::Faces}));
  EXPECT_THROW(parse_feature_list("googlenet,foo"), Error);
  EXPECT_THROW(parse_feature_list("mfcc,mfcc"), Error);
  EXPECT_THROW(parse_feature_list(""), Error);
}

TEST(FrameRate, Parses) {
  EXPECT_EQ(parse_frame_rate("30000/1001").num, 30000);
  EXPECT_EQ(parse_frame_rate("29.97").den, 100);
  EXPECT_EQ(parse_frame_rate("25").num, 25);
  EXPECT_THROW(parse_frame_rate("0"), Error);
  EXPECT_THROW(parse_frame_rate("abc"), Error);
  EXPECT_THROW(parse_frame_rate("30/0"), Error);
}

// Features stay as stored and are converted a row at a time: f16 and bf16 files give
// exactly the rows of the same values stored as f32, raw and standardised.
TEST(SegmentDataset, HalfPrecisionFilesGiveTheRowsOfF32Files) {
  test::TempDir dir;
  // 200 frames at 25 fps: 8 s, one segment; indices up to 199 and MFCC rows up to 799.
  write_features(dir.file("f32.safetensors"), 200, "25", true, -1, DType::F32);
  write_features(dir.file("f16.safetensors"), 200, "25", true, -1, DType::F16);
  write_features(dir.file("bf16.safetensors"), 200, "25", true, -1, DType::BF16);
  const size_t pick[] = {0};
  auto batch_of = [&](const std::string& video, const std::vector<Feature>& use, const InputNormalisation& n) {
    return SegmentDataset::open(dir.path().string(), {{video, {1.0}}}, use).batch(pick, Device::cpu(), n);
  };
  auto expect_same = [](const SegmentBatch& a, const SegmentBatch& b, const std::string& what) {
    for (const auto& [f, t] : a.inputs) {
      const Tensor& u = b.inputs.at(f);
      ASSERT_EQ(t.shape(), u.shape()) << what;
      EXPECT_EQ(std::memcmp(t.data<float>(), u.data<float>(), t.nbytes()), 0) << what << " " << feature_spec(f).name;
    }
  };
  const auto all = parse_feature_list("googlenet,cam,faces,mfcc");
  ChannelStatistics g{std::vector<double>(1024, 50.0), std::vector<double>(1024, 4.0)};
  ChannelStatistics one{{50.0}, {4.0}}, m{std::vector<double>(13, 300.0), std::vector<double>(13, 8.0)};
  const InputNormalisation norm(std::map<Feature, ChannelStatistics>{
      {Feature::GoogLeNet, g}, {Feature::Cam, one}, {Feature::Faces, one}, {Feature::Mfcc, m}});
  for (const InputNormalisation* n : {&InputNormalisation::none(), &norm}) {
    expect_same(batch_of("f32", all, *n), batch_of("f16", all, *n), "f16");
    // bf16 holds integers exactly only up to 256: the MFCC rows (up to 799) are left out.
    const auto small = parse_feature_list("googlenet,cam,faces");
    expect_same(batch_of("f32", small, *n), batch_of("bf16", small, *n), "bf16");
  }
  // And the values are the row indices themselves (frame 0 at tick 0, frame 24 at tick 29 = 0.967 s).
  const SegmentBatch b = batch_of("f16", all, InputNormalisation::none());
  EXPECT_EQ(b.inputs.at(Feature::Faces).data<float>()[0], 0.0f);
  EXPECT_EQ(b.inputs.at(Feature::Faces).data<float>()[29], 24.0f);
}

// The f16 conversion of the batch path (F16C where the CPU has it) against the scalar
// kernel, which tests/kernels/test_cpu_kernels.cpp checks for every bit pattern by the
// IEEE definition: every f16 value, in rows of 8 (the vector width) and of 13 (a tail);
// and the position of the first inf or NaN it reports against the f16 bits themselves.
TEST(FeatureRows, EveryF16ValueConvertsAsTheScalarKernel) {
  for (const int64_t width : {8, 13}) {
    const int64_t rows = 65536 / width;
    Tensor stored = Tensor::empty(Shape({rows, width}), DType::F16);
    auto* bits = stored.data<uint16_t>();
    for (int64_t i = 0; i < rows * width; ++i) bits[i] = static_cast<uint16_t>(i);
    std::vector<float> want(static_cast<size_t>(rows * width)), got(static_cast<size_t>(width));
    cpu::f16_to_f32(bits, want.data(), rows * width);
    for (int64_t r = 0; r < rows; ++r) {
      // The first element whose f16 exponent bits are all ones (inf or NaN), or -1.
      int64_t want_bad = -1;
      for (int64_t e = width - 1; e >= 0; --e)
        if ((bits[r * width + e] & 0x7c00) == 0x7c00) want_bad = e;
      EXPECT_EQ(row_to_f32(stored, r, got.data()), want_bad) << "row " << r << " of width " << width;
      for (int64_t e = 0; e < width; ++e) {
        const float w = want[static_cast<size_t>(r * width + e)], g = got[static_cast<size_t>(e)];
        if (std::isnan(w)) {
          EXPECT_TRUE(std::isnan(g)) << r * width + e;
        } else {
          EXPECT_EQ(std::memcmp(&w, &g, 4), 0) << "bits " << r * width + e << ": " << w << " vs " << g;
        }
      }
    }
  }
}

TEST(FeatureRows, FirstNonFiniteFindsNanAndInfinities) {
  std::vector<float> x(37, 1.0f);
  EXPECT_EQ(first_non_finite(x.data(), 37), -1);
  x[30] = -std::numeric_limits<float>::infinity();
  x[21] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(first_non_finite(x.data(), 37), 21);
  EXPECT_EQ(first_non_finite(x.data(), 21), -1);
  x[0] = std::numeric_limits<float>::max();  // large but finite
  EXPECT_EQ(first_non_finite(x.data(), 21), -1);
}

// One NaN in a feature file must stop whatever reads it through the dataset, with the
// file, the feature and the first bad frame named, stored as f16 or f32, in a batch and
// in the statistics of the input normalisation.
TEST(SegmentDataset, NonFiniteValuesAreRefusedNamingFileFeatureAndFrame) {
  for (const DType dtype : {DType::F16, DType::F32}) {
    test::TempDir dir;
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    Tensor g = Tensor::zeros(Shape({400, 1024}), DType::F32), m = Tensor::zeros(Shape({1600, 13}), DType::F32);
    Tensor faces = Tensor::zeros(Shape({400}), DType::F32);
    g.data<float>()[17 * 1024 + 5] = nan;
    g.data<float>()[30 * 1024] = inf;
    m.data<float>()[70 * 13 + 2] = -inf;  // MFCC row 70: frame 17
    faces.data<float>()[399] = nan;        // the last frame: after the labelled segments
    const std::string path = dir.file("v.safetensors");
    write_safetensors(path, {{"googlenet", g.cast(dtype)}, {"faces", faces.cast(dtype)}, {"mfcc", m.cast(dtype)}},
                      {{"fps", "25"}});  // 16 s: 3 segments (frames 0-374)
    const SegmentScores labels = {{"v", {1.0, 0.5, 2.0}}};
    const size_t all[] = {0, 1, 2}, later[] = {1, 2};
    auto batch_error = [&](const char* use, std::span<const size_t> pick) {
      return error_of([&] { SegmentDataset::open(dir.path().string(), labels, parse_feature_list(use)).batch(pick); });
    };
    const std::string what = std::string(dtype_name(dtype)) + ": ";
    EXPECT_EQ(batch_error("googlenet", all),
              path + ": feature 'googlenet' holds a non-finite value (NaN) at frame 17, element 5 of the row; "
                     "2 of its 400 rows hold one. Extract the video again, or remove its labels")
        << what;
    // Segments 1 and 2 show frames 125-374: both bad googlenet frames (17, 30) lie in segment 0.
    EXPECT_EQ(batch_error("googlenet", later), "(no error)") << what;
    EXPECT_NE(batch_error("mfcc", all).find(path + ": feature 'mfcc' holds a non-finite value (-inf) at row 70 (frame 17)"),
              std::string::npos)
        << what;
    // The NaN in faces lies in frame 399, which no labelled segment shows.
    EXPECT_EQ(batch_error("faces", all), "(no error)") << what;
    // The statistics of the input normalisation read through batch() too.
    const std::string stats = error_of([&] {
      const SegmentDataset ds = SegmentDataset::open(dir.path().string(), labels, parse_feature_list("googlenet,faces"));
      compute_input_normalisation(ds, all);
    });
    EXPECT_EQ(stats.rfind(path + ": feature 'googlenet' holds a non-finite value (NaN) at frame 17", 0), 0u)
        << what << stats;
  }
}

// Resident memory of this process in KiB (VmRSS), or -1 where /proc has none.
int64_t resident_kib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kib = -1;
      status >> kib;
      return kib;
    }
    status.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return -1;
}

// The dataset keeps the features as stored and hands the pages of the rows a batch used
// back to the page cache: reading every segment of a 37-MB f16 file grows the resident
// memory by much less than the file (an f32 copy of it would be 74 MB).
TEST(SegmentDataset, ResidentMemoryStaysBoundedByTheBatch) {
  test::TempDir dir;
  // 6000 frames at 25 fps: 240 s, 48 segments; googlenet + places365 in f16 = 36.9 MB.
  write_safetensors(dir.file("big.safetensors"),
                    {{"googlenet", Tensor::zeros(Shape({6000, 1024}), DType::F16)},
                     {"places365", Tensor::zeros(Shape({6000, 2048}), DType::F16)}},
                    {{"fps", "25"}});
  const SegmentScores labels = {{"big", std::vector<double>(48, 1.0)}};
  const int64_t before = resident_kib();
  if (before < 0) GTEST_SKIP() << "no /proc/self/status";
  const SegmentDataset ds = SegmentDataset::open(dir.path().string(), labels, parse_feature_list("googlenet,places365"));
  for (size_t i = 0; i < ds.size(); ++i) {
    const SegmentBatch b = ds.batch(std::span<const size_t>(&i, 1));  // 1.8 MB of f32
    ASSERT_EQ(b.inputs.at(Feature::Places365).data<float>()[149 * 2048], 0.0f);
  }
  const int64_t grown_kib = resident_kib() - before;
  // One batch and its buffers are about 2 MB; a third of the file leaves room for
  // allocator slack but not for the file's pages or a converted copy.
  EXPECT_LT(grown_kib, 12 * 1024) << "resident memory grew by " << grown_kib << " KiB";
}

// open() hands back the pages it touched (the header, and what the kernel maps around a
// fault): with 2,000 videos they were 75-130 MB resident for the whole run (issue 18).
TEST(SegmentDataset, OpenLeavesNoPagesOfTheFilesMapped) {
  test::TempDir dir;
  write_features(dir.file("a.safetensors"), 400, "30000/1001", true, -1, DType::F16);  // ~1 MB
  const SegmentDataset ds =
      SegmentDataset::open(dir.path().string(), {{"a", {1.0, 0.5}}}, parse_feature_list("googlenet,mfcc"));
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(resident_bytes_of_mapping(dir.file("a.safetensors")), 0);
  const size_t pick[] = {1};
  // Tick 150 (5 s) holds frame floor(5 × 29.97) = 149: the pages come back when read.
  EXPECT_EQ(ds.batch(pick).inputs.at(Feature::GoogLeNet).data<float>()[0], 149.0f);
}

}  // namespace
}  // namespace hl
