#include "pipeline/finite_guard.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>

#include "engine/error.h"
#include "engine/ops.h"

namespace hl::fold_training {
namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Whether every element of one f32 host tensor is finite.
bool host_finite(const Tensor& t) {
  const Tensor c = t.to(Device::cpu());
  const float* p = c.data<float>();
  for (int64_t i = 0; i < c.numel(); ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

}  // namespace

bool all_finite(const std::vector<Tensor>& tensors) {
  Tensor total;  // [1] on the tensors' device: Σ over tensors of Σ 0·x
  for (const Tensor& t : tensors) {
    if (t.numel() == 0) continue;
    const Tensor zeros = ops::scale(t.reshape({1, t.numel()}), 0.0f);  // ±0, or NaN where x is NaN or ±inf
    const Tensor s = ops::sum(zeros, 1);                                 // [1]
    total = total.defined() ? ops::add(total, s) : s;
  }
  if (!total.defined()) return true;
  return std::isfinite(total.to(Device::cpu()).data<float>()[0]);
}

std::vector<Tensor> parameter_values(const std::vector<NamedParameter>& params) {
  std::vector<Tensor> out;
  out.reserve(params.size());
  for (const NamedParameter& p : params) out.push_back(p.value.value());
  return out;
}

std::string describe_non_finite_parameters(const std::vector<NamedParameter>& params, float lr) {
  for (const NamedParameter& p : params) {
    if (host_finite(p.value.value())) continue;
    const Tensor& g = p.value.grad();
    if (g.defined() && !host_finite(g)) return "the gradient of parameter '" + p.name + "' is not finite";
    return "Adam's step (lr " + number_text(lr) + ") made parameter '" + p.name +
           "' non-finite from a finite gradient";
  }
  return "a parameter is not finite";  // all_finite said so; unreachable unless the device disagrees
}

std::string videos_of(const SegmentDataset& data, const std::vector<size_t>& segments) {
  constexpr size_t kShown = 20;
  std::set<int32_t> seen;
  std::string out;
  size_t named = 0;
  for (size_t i : segments) {
    const int32_t v = data.segment(i).video;
    if (!seen.insert(v).second) continue;
    if (named < kShown) out += (named ? ", '" : "'") + data.videos()[static_cast<size_t>(v)] + "'";
    ++named;
  }
  if (named > kShown) out += " and " + std::to_string(named - kShown) + " more";
  return out;
}

void stop_non_finite(const SegmentDataset& data, int fold, int epoch, int step, int steps, const std::string& what,
                     const std::vector<size_t>& segments, const TrainingProgress& progress) {
  const std::string saved =
      progress.epochs_done == 0
          ? "nothing of this fold was saved"
          : "nothing of this epoch was saved: the fold's checkpoint holds epoch " + std::to_string(progress.epochs_done) +
                " and its model file epoch " + std::to_string(progress.best_epoch);
  throw Error("fold " + std::to_string(fold) + ", epoch " + std::to_string(epoch) + ", step " +
              std::to_string(step) + " of " + std::to_string(steps) + ": " + what +
              "; the step's batch holds the videos " + videos_of(data, segments) + "; " + saved +
              ". Training stopped: lower --lr, or check those videos' features (--normalise on standardises them)");
}

void check_predictions(const SegmentDataset& data, int fold, const std::vector<size_t>& indices,
                       const std::vector<float>& scores, int best_epoch) {
  for (size_t i = 0; i < scores.size(); ++i) {
    if (std::isfinite(scores[i])) continue;
    const SegmentRef& s = data.segment(indices[i]);
    throw Error("fold " + std::to_string(fold) + ": the model of epoch " + std::to_string(best_epoch) +
                " scores segment " + std::to_string(s.segment) + " of held-out video '" +
                data.videos()[static_cast<size_t>(s.video)] + "' " + number_text(scores[i]) +
                "; no predictions were written. Check that video's features (--normalise on standardises them)");
  }
}

}  // namespace hl::fold_training
