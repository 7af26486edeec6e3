// One training epoch of the paper's model on the CPU, data loading included: 5,000
// synthetic segments with all six features (pipeline/synthetic.h, written as f32 feature
// files to a temporary folder) read through the real SegmentDataset (memory-mapped files,
// held rows at 30 fps, standardised with input statistics as hl-train does), shuffled,
// in batches of 300 (the last holds 200): forward with dropout on, CCC loss, backward,
// Adam (lr 1e-3, eps 1e-7), zero_grad — hl-train's epoch without the validation pass.
//
// The 5,000 segments are 100 videos of 50 segments whose feature files are 10 distinct
// files, each linked under 10 names: 1 GB of features in the page cache instead of
// 10 GB, the same reads per segment (a real 10-GB set would also be served from the
// page cache after the first epoch, memory allowing). Writing them and the statistics
// (from 300 segments) is set-up, not timed. Counter: segments/s.
// Peer: bench/peers/torch_train_epoch.py (the same model, batches gathered from
// in-memory tensors).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/autograd/loss.h"
#include "engine/optim/adam.h"
#include "engine/shuffle.h"
#include "nets/highlight_model.h"
#include "nets/input_normalisation.h"
#include "pipeline/segment_dataset.h"
#include "pipeline/synthetic.h"
#include "pipeline/input_statistics.h"

namespace {

namespace fs = std::filesystem;

constexpr int kDistinctVideos = 10, kCopies = 10, kSegmentsPerVideo = 50, kBatch = 300;

// The data set, written once per process and removed at exit.
struct EpochData {
  fs::path dir;
  std::unique_ptr<hl::SegmentDataset> data;
  hl::InputNormalisation normalisation;

  EpochData() {
    char name[] = "/tmp/hl-bench-epoch-XXXXXX";
    dir = ::mkdtemp(name);
    hl::SyntheticSpec spec;
    spec.videos = kDistinctVideos;
    spec.min_seconds = spec.max_seconds = kSegmentsPerVideo * 5 + 2;  // 50 complete segments
    spec.dtype = hl::DType::F32;  // mapped as they are: no conversion at open
    hl::write_synthetic_dataset(spec, dir.string());
    hl::SegmentScores labels;
    for (int v = 0; v < kDistinctVideos; ++v) {
      const hl::SyntheticVideo video = hl::synthetic_video(spec, v);
      for (int c = 0; c < kCopies; ++c) {
        const std::string id = video.id + "_" + std::to_string(c);
        fs::create_symlink(video.id + ".safetensors", dir / "features" / (id + ".safetensors"));
        labels[id].assign(video.labels.begin(), video.labels.begin() + kSegmentsPerVideo);
      }
    }
    data = std::make_unique<hl::SegmentDataset>(
        hl::SegmentDataset::open((dir / "features").string(), labels, hl::all_features()));
    std::vector<size_t> sample;
    for (size_t i = 0; i < 300; ++i) sample.push_back(i * data->size() / 300);
    normalisation = hl::compute_input_normalisation(*data, sample);
  }
  ~EpochData() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

void BM_train_epoch(benchmark::State& state) {
  static EpochData set;  // built on first use, outside the timing
  const hl::SegmentDataset& data = *set.data;
  if (data.size() != static_cast<size_t>(kDistinctVideos * kCopies * kSegmentsPerVideo))
    state.SkipWithError("the synthetic set does not hold 5,000 segments");
  hl::HighlightModel model(hl::HighlightModelConfig::paper(hl::all_features()), 1);
  model.set_input_normalisation(set.normalisation);
  hl::optim::Adam adam(model.parameters());  // lr 1e-3, eps 1e-7
  uint64_t offset = 0, epoch = 0;
  for (auto _ : state) {
    const std::vector<size_t> order = hl::seeded_permutation(data.size(), 7, ++epoch);
    for (size_t start = 0; start < order.size(); start += kBatch) {
      const std::vector<size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(start),
                                    order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + kBatch)));
      const hl::SegmentBatch b = data.batch(idx, hl::Device::cpu(), model.input_normalisation());
      const auto n = static_cast<int64_t>(idx.size());
      const hl::ag::Variable scores = model.forward(b.inputs, /*training=*/true, {7, offset});
      offset += model.dropout_words(n, hl::kTicksPerSegment);
      const hl::ag::Variable loss = hl::ag::ccc_loss(scores, hl::ag::Variable(b.labels));
      loss.backward();
      adam.step();
      adam.zero_grad();
      benchmark::DoNotOptimize(loss.value().raw());
    }
  }
  state.counters["segments/s"] = benchmark::Counter(static_cast<double>(data.size()) * static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}
// One epoch is long (about a minute): one iteration, one repetition whatever
// --benchmark_repetitions says.
BENCHMARK(BM_train_epoch)->Iterations(1)->Repetitions(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
