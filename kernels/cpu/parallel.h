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
// items, so small loops stay on one thread. A worker checks for the next call for 100 us
// after each one before it sleeps (the caller likewise waits awake for the workers'
// parts): a call then costs ~1-2 us, against ~49 us when the worker has to be woken on
// the 2-core development VM (issue 18 item 12). An idle program spins no longer than that.
// The kernels that use it write disjoint outputs per range, or (LayerNorm's parameter
// gradients) sum per-chunk partials in a fixed order, so results do not depend on the
// thread count. A parallel_for inside another, or while another thread of the program is
// in one, runs serially on its caller: nothing waits on the pool twice.
// parallel_for takes any callable (a lambda, a std::function) by reference, without
// copying it into a std::function: a call allocates nothing (a steady-state stream makes
// no allocation per frame, include/hl/highlights.h). The callable must outlive the call,
// which it does as an argument.
// No CUDA twin: CPU threads (a CUDA kernel is parallel by its launch).
// Tests: tests/kernels/test_parallel.cpp (BackToBackCallsDoNotWakeASleepingWorker: the
// waiting); tests/embed/test_stream_allocations.cpp (a call allocates nothing).
#pragma once
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>

namespace hl::cpu {

int num_threads();
// Overrides the environment for the rest of the process (n >= 1).
void set_num_threads(int n);

// A non-owning reference to a callable taking Args... (its result ignored): a pointer to
// it and a function that calls it, so that passing one never allocates. It must not
// outlive the callable it refers to.
template <class... Args>
class CallbackRef {
 public:
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, CallbackRef> && std::invocable<F&, Args...>)
  CallbackRef(F& f)  // NOLINT(google-explicit-constructor): a parameter type, like std::function
      : callable_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* c, Args... args) { (*static_cast<F*>(c))(args...); }) {}
  void operator()(Args... args) const { call_(callable_, args...); }

 private:
  void* callable_;
  void (*call_)(void*, Args...);
};

// The work of parallel_for, on a reference to its callable.
void parallel_for_ref(int64_t n, int64_t grain, CallbackRef<int64_t, int64_t> fn);

template <class F>
  requires std::invocable<F&, int64_t, int64_t>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  parallel_for_ref(n, grain, CallbackRef<int64_t, int64_t>(fn));
}

// How many times the pool's workers have gone to sleep (blocked in the kernel) waiting
// for work since the program started: a diagnostic for tests of the wake-up path.
int64_t pool_worker_sleeps();

// Elements per range for simple elementwise loops: 32K, PyTorch's grain
// (at::internal::GRAIN_SIZE). A 32K-float add takes ~4 us and a call to an awake
// worker ~1-2 us; the grain was 64K while waking a sleeping worker cost ~49 us a call,
// which kept 64K-element loops on one thread and made the add and sigmoid on 64K floats
// 0.86x and 0.70x of PyTorch's at 2 threads (issue 18 item 12).
inline constexpr int64_t kElementwiseGrain = int64_t(1) << 15;

}  // namespace hl::cpu
