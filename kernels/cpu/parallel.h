// Spreading the CPU kernels' own loops over threads (the products already are: OpenBLAS
// and the skinny GEMM kernel split their work).
//
// How many: $HL_NUM_THREADS if set (≥ 1), else as many as OpenBLAS would use
// ($OPENBLAS_NUM_THREADS, or one per core), so one setting governs the whole step.
// This is the engine's only pool: the first num_threads() puts OpenBLAS itself on one
// thread, and the products are split over this pool (kernels/cpu/gemm.cpp; OpenBLAS's
// workers busy-wait after each product and took a core from this pool's, issue 18).
//
// parallel_for splits [0, n) into contiguous ranges, one per thread, and runs
// fn(begin, end) on each: the calling thread takes the first range, the others go to a
// pool of threads started once and parked between calls. Ranges are at least `grain`
// items, so small loops stay on one thread (waking the pool costs a few microseconds).
// The kernels that use it write disjoint outputs per range, or (LayerNorm's parameter
// gradients) sum per-chunk partials in a fixed order, so results do not depend on the
// thread count. A parallel_for inside another, or while another thread of the program is
// in one, runs serially on its caller: nothing waits on the pool twice.
// No CUDA twin: CPU threads (a CUDA kernel is parallel by its launch).
// Tests: tests/kernels/test_parallel.cpp.
#pragma once
#include <cstdint>
#include <functional>

namespace hl::cpu {

int num_threads();
// Overrides the environment for the rest of the process (n >= 1).
void set_num_threads(int n);

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Elements per range for simple elementwise loops: below ~64K elements (a few tens of
// microseconds) waking another thread costs more than it saves.
inline constexpr int64_t kElementwiseGrain = int64_t(1) << 16;

}  // namespace hl::cpu
