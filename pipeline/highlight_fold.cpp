#include "pipeline/highlight_fold.h"

#include <algorithm>
#include <span>
#include <string>

#include "engine/autograd/loss.h"
#include "engine/error.h"
#include "engine/shuffle.h"

namespace hl {
namespace fold_training {

void HighlightFold::check(const SegmentDataset&, const TrainConfig& config) {
  if (config.batch < 2) throw Error("the batch must hold at least 2 segments or pairs");
}

void HighlightFold::check_init(const Model& init, const TrainConfig& config) {
  if (init.config().features != config.model.features || init.config().hidden != config.model.hidden)
    throw FormatError(config.init_model, "its model (" + feature_list_string(init.config().features) + ", hidden " +
                                             std::to_string(init.config().hidden) + ") differs from the one trained");
}

HighlightFold::HighlightFold(const Fold& fold) : fold_(fold) {
  if (fold.train.size() < 2)
    throw Error("fold " + std::to_string(fold.plan.fold + 1) + " has fewer than 2 training segments");
  for (size_t i : fold.train) by_video_[fold.data.segment(i).video].push_back(i);
}

int HighlightFold::begin_epoch(int epoch) {
  const size_t n = fold_.train.size(), batch = static_cast<size_t>(fold_.config.batch);
  order_ = seeded_permutation(n, fold_.seed, stream_id(kEpochOrder, fold_.plan.fold, epoch));
  return static_cast<int>((n + batch - 1) / batch);
}

std::optional<ag::Variable> HighlightFold::step_loss(const Model& model, int epoch, int step,
                                                     uint64_t& dropout_offset) const {
  return fold_.config.loss == LossKind::Ccc ? ccc_step(model, step, dropout_offset)
                                            : ranking_step(model, epoch, step, dropout_offset);
}

std::vector<size_t> HighlightFold::step_segments(int epoch, int step) const {
  if (fold_.config.loss == LossKind::Ccc) return ccc_batch(step);
  std::vector<size_t> hi, lo;
  ranking_pairs(epoch, step, hi, lo);
  hi.insert(hi.end(), lo.begin(), lo.end());
  return hi;
}

std::vector<size_t> HighlightFold::ccc_batch(int step) const {
  const std::vector<size_t>& train = fold_.train;
  const size_t start = static_cast<size_t>(step) * static_cast<size_t>(fold_.config.batch);
  const size_t n = std::min(train.size() - start, static_cast<size_t>(fold_.config.batch));
  std::vector<size_t> idx;
  for (size_t i = 0; i < n; ++i) idx.push_back(train[order_[start + i]]);
  return idx;
}

// CCC over the step's batch of segments in the epoch's order.
std::optional<ag::Variable> HighlightFold::ccc_step(const Model& model, int step, uint64_t& dropout_offset) const {
  const std::vector<size_t> idx = ccc_batch(step);
  const size_t n = idx.size();
  if (n < 2) return std::nullopt;  // CCC of one segment is undefined: the last batch is dropped
  // The dense features as stored (f16): the model standardises them inside its dense
  // layers, and the step never holds them in f32 (issue 18).
  const SegmentBatch b = fold_.data.batch(idx, fold_.config.device, model.input_normalisation(), true);
  const ag::Variable scores = model.forward(b.inputs, true, {fold_.seed, dropout_offset});
  dropout_offset += model.dropout_words(static_cast<int64_t>(n), kTicksPerSegment);
  return ag::ccc_loss(scores, ag::Variable(b.labels));
}

// The step's pairs: draw 2k picks a training segment, draw 2k+1 another segment of its
// video; the higher-labelled one should score higher.
void HighlightFold::ranking_pairs(int epoch, int step, std::vector<size_t>& hi, std::vector<size_t>& lo) const {
  const std::vector<size_t>& train = fold_.train;
  const SegmentDataset& data = fold_.data;
  const int batch = fold_.config.batch;
  const uint64_t stream = stream_id(kPairs, fold_.plan.fold, epoch);
  for (int p = 0; p < batch; ++p) {
    const uint64_t draw = static_cast<uint64_t>(step) * static_cast<uint64_t>(batch) + static_cast<uint64_t>(p);
    const size_t a = train[seeded_index(train.size(), fold_.seed, stream, 2 * draw)];
    const auto& same = by_video_.at(data.segment(a).video);
    const size_t b = same[seeded_index(same.size(), fold_.seed, stream, 2 * draw + 1)];
    const float la = data.segment(a).label, lb = data.segment(b).label;
    if (la == lb) continue;  // only strictly ordered pairs carry a ranking
    hi.push_back(la > lb ? a : b);
    lo.push_back(la > lb ? b : a);
  }
}

// Margin ranking over the step's pairs.
std::optional<ag::Variable> HighlightFold::ranking_step(const Model& model, int epoch, int step,
                                                        uint64_t& dropout_offset) const {
  const SegmentDataset& data = fold_.data;
  std::vector<size_t> hi, lo;
  ranking_pairs(epoch, step, hi, lo);
  if (hi.empty()) return std::nullopt;
  const InputNormalisation& normalisation = model.input_normalisation();
  const SegmentBatch bh = data.batch(hi, fold_.config.device, normalisation, true),  // dense features f16, as ccc_step
                     bl = data.batch(lo, fold_.config.device, normalisation, true);
  const auto n = static_cast<int64_t>(hi.size());
  const ag::Variable sh = model.forward(bh.inputs, true, {fold_.seed, dropout_offset});
  dropout_offset += model.dropout_words(n, kTicksPerSegment);
  const ag::Variable sl = model.forward(bl.inputs, true, {fold_.seed, dropout_offset});
  dropout_offset += model.dropout_words(n, kTicksPerSegment);
  return ag::margin_ranking_loss(sh, sl, 1.0f);
}

std::vector<float> HighlightFold::predict(const Model& model, const std::vector<size_t>& indices) const {
  return predict_segments(model, fold_.data, indices, fold_.config.batch);
}

}  // namespace fold_training

std::vector<float> predict_segments(const HighlightModel& model, const SegmentDataset& data,
                                    const std::vector<size_t>& indices, int batch) {
  ag::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(indices.size());
  for (size_t start = 0; start < indices.size(); start += static_cast<size_t>(batch)) {
    const size_t n = std::min(indices.size() - start, static_cast<size_t>(batch));
    const SegmentBatch b = data.batch(std::span<const size_t>(indices.data() + start, n),
                                      fold_training::parameter_device(model.named_parameters()),
                                      model.input_normalisation(), /*dense_as_stored=*/true);
    const Tensor scores = model.forward(b.inputs, /*training=*/false).value().to(Device::cpu());
    out.insert(out.end(), scores.data<float>(), scores.data<float>() + scores.numel());
  }
  return out;
}

}  // namespace hl
