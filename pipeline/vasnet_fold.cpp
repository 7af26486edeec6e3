#include "pipeline/vasnet_fold.h"

#include <algorithm>
#include <string>

#include "engine/autograd/loss.h"
#include "engine/error.h"
#include "engine/shuffle.h"

namespace hl {
namespace fold_training {

std::vector<std::pair<size_t, size_t>> video_runs(const SegmentDataset& data, const std::vector<size_t>& indices) {
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i + 1;
    while (j < indices.size() && data.segment(indices[j]).video == data.segment(indices[i]).video) ++j;
    runs.emplace_back(i, j);
    i = j;
  }
  return runs;
}

void VasnetFold::check(const SegmentDataset& data, const TrainConfig&) {
  if (std::find(data.features().begin(), data.features().end(), Feature::GoogLeNet) == data.features().end())
    throw Error("VASNet trains on googlenet features, which the dataset was not opened with");
}

void VasnetFold::check_init(const Model& init, const TrainConfig& config) {
  if (init.config().input != config.vasnet.input)
    throw FormatError(config.init_model, "its VASNet input width " + std::to_string(init.config().input) +
                                             " differs from the one trained");
}

VasnetFold::VasnetFold(const Fold& fold) : fold_(fold), videos_(video_runs(fold.data, fold.train)) {
  if (videos_.empty()) throw Error("fold " + std::to_string(fold.plan.fold + 1) + " has no training videos");
}

int VasnetFold::begin_epoch(int epoch) {
  order_ = seeded_permutation(videos_.size(), fold_.seed, stream_id(kEpochOrder, fold_.plan.fold, epoch));
  return static_cast<int>(videos_.size());
}

std::vector<size_t> VasnetFold::step_segments(int, int step) const {
  const auto [begin, end] = videos_[order_[static_cast<size_t>(step)]];
  return {fold_.train.begin() + static_cast<std::ptrdiff_t>(begin), fold_.train.begin() + static_cast<std::ptrdiff_t>(end)};
}

std::optional<ag::Variable> VasnetFold::step_loss(const Model& model, int epoch, int step,
                                                  uint64_t& dropout_offset) const {
  const SegmentDataset& data = fold_.data;
  const TrainConfig& config = fold_.config;
  const int64_t step_frames = config.vasnet.frame_step;
  const std::vector<size_t> idx = step_segments(epoch, step);
  const Tensor x =
      segment_frames(data, idx, model.input_normalisation(), step_frames).to(config.device);  // [T / step, 1024]
  const int64_t frames = x.size(0);
  Tensor target = Tensor::empty(Shape{frames}, DType::F32);  // kept frame k lies in segment k · step / 150
  for (int64_t k = 0; k < frames; ++k)
    target.data<float>()[k] =
        data.segment(idx[static_cast<size_t>(k * step_frames / kTicksPerSegment)]).label * config.target_scale;
  const ag::Variable scores = model.forward(x, true, {fold_.seed, dropout_offset});
  dropout_offset += model.dropout_words(frames);
  return ag::mse_loss(scores, ag::Variable(target.to(config.device)));
}

std::vector<float> VasnetFold::predict(const Model& model, const std::vector<size_t>& indices) const {
  return predict_segments(model, fold_.data, indices);
}

}  // namespace fold_training

Tensor segment_frames(const SegmentDataset& data, const std::vector<size_t>& indices,
                      const InputNormalisation& normalisation, int64_t frame_step) {
  const SegmentBatch b = data.batch(indices, Device::cpu(), normalisation);
  const auto it = b.inputs.find(Feature::GoogLeNet);
  if (it == b.inputs.end()) throw Error("VASNet needs googlenet features, which the dataset was not opened with");
  const Tensor& g = it->second;  // [n, 150, 1024]
  const Tensor all = g.reshape({g.size(0) * g.size(1), g.size(2)});
  if (frame_step == 1) return all;
  const int64_t kept = kept_frames(g.size(0), g.size(1), frame_step), width = g.size(2);
  Tensor out = Tensor::empty(Shape{kept, width}, DType::F32);
  for (int64_t k = 0; k < kept; ++k)
    std::copy_n(all.data<float>() + k * frame_step * width, width, out.data<float>() + k * width);
  return out;
}

std::vector<float> predict_segments(const Vasnet& model, const SegmentDataset& data, const std::vector<size_t>& indices) {
  ag::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(indices.size());
  for (const auto& [begin, end] : fold_training::video_runs(data, indices)) {
    const std::vector<size_t> idx(indices.begin() + static_cast<std::ptrdiff_t>(begin),
                                  indices.begin() + static_cast<std::ptrdiff_t>(end));
    const Tensor x = segment_frames(data, idx, model.input_normalisation(), model.config().frame_step)
                         .to(fold_training::parameter_device(model.named_parameters()));
    const Tensor scores = model.forward(x, /*training=*/false).value().to(Device::cpu());
    const std::vector<float> means =
        segment_means(scores, static_cast<int64_t>(idx.size()), kTicksPerSegment, model.config().frame_step);
    out.insert(out.end(), means.begin(), means.end());
  }
  return out;
}

}  // namespace hl
