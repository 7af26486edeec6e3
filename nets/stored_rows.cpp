#include "nets/stored_rows.h"

#include <algorithm>
#include <memory>

#include "engine/error.h"
#include "kernels/cpu/cast_f16c.h"
#include "kernels/cpu/parallel.h"

namespace hl {

namespace {

constexpr int64_t kRowsGrainElements = 32 * 1024;  // per thread's share at least: ~30 us of work

}  // namespace

ag::RowSource stored_rows(Feature f, const Tensor& stored, const InputNormalisation& normalisation) {
  if (stored.dtype() != DType::F16 || !stored.device().is_cpu() || stored.ndim() < 1)
    throw Error(std::string("stored_rows: '") + feature_spec(f).name + "' is " + stored.str() + ", not f16 on the CPU");
  const int64_t width = stored.size(-1);
  // Shared, not copied per call: std::function copies its target when the tape stores it.
  auto statistics = normalisation.enabled() ? std::make_shared<const InputNormalisation>(normalisation) : nullptr;
  // Rows are independent: split over the engine's threads (the same bits with any count).
  // The dataset assembled its f32 batch on one thread; this runs twice a step (forward and
  // weight gradient), so on one thread the epoch was about 10% slower than before.
  const int64_t grain = std::max<int64_t>(1, kRowsGrainElements / std::max<int64_t>(width, 1));
  return [f, stored, width, statistics, grain](int64_t first, int64_t count, float* dst) {
    const uint16_t* src = stored.data<uint16_t>() + first * width;
    cpu::parallel_for(count, grain, [&](int64_t r0, int64_t r1) {
      cpu::f16_to_f32_fast(src + r0 * width, dst + r0 * width, (r1 - r0) * width);
      if (statistics) statistics->normalise_rows(f, dst + r0 * width, dst + r0 * width, r1 - r0);
    });
  };
}

}  // namespace hl
