#include "kernels/cpu/parallel.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kernels/common/error.h"

namespace hl::cpu {

namespace {

int threads_from_environment() {
  if (const char* env = std::getenv("HL_NUM_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1) return static_cast<int>(std::min<long>(n, 1024));
  }
  return std::max(1, openblas_get_num_threads());
}

// The thread count, read once; reading it also puts OpenBLAS on one thread, so that its
// own workers (which busy-wait after every product) never compete with this pool: the
// products are split over this pool instead (kernels/cpu/gemm.cpp).
int threads_and_single_threaded_blas() {
  const int n = threads_from_environment();
  openblas_set_num_threads(1);
  return n;
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> n{threads_and_single_threaded_blas()};
  return n;
}

thread_local bool in_parallel_region = false;

// How long a worker keeps checking for the next task before it sleeps, and how long the
// caller checks for the workers' parts to finish before it sleeps. Waking a sleeping
// thread (a futex wake, and on a VM an interrupt to an idle virtual CPU) cost ~49 us a
// call on the 2-core development machine, against ~1 us when the thread is awake: more
// than a 64K-float loop's whole work, so at 2 threads the engine's many small loops
// lost to PyTorch, whose OpenMP threads spin the same way (GOMP_SPINCOUNT) (issue 18
// item 12: Adam 0.81x). The engine's ops run one after another a few microseconds
// apart, so the next call usually comes within the wait. 100 us is short against
// OpenBLAS's 0.1 s of busy-waiting after a product, which did cost the pool a core
// (kernels/cpu/gemm.cpp): an idle program stops spinning after at most 100 us.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(100);

// True once done() holds, false if it still did not after kSpinBeforeSleep. Between
// checks it yields the core: when the caller and a worker share one core (the other
// busy with another program, or both threads at real-time priority, which is not
// time-sliced) the thread it waits for then runs instead of waiting out the spin.
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

// Workers 1..size-1 wait for a generation number to change, run their part of the task
// if it has one for them, and report back; the caller runs part 0. Both sides first
// spin on the atomics (kSpinBeforeSleep), then sleep on a condition variable; the
// generation and the count of pending parts change under the mutex, so a thread that
// checks them under the mutex before it sleeps cannot miss the change.
class Pool {
 public:
  // Returns once every worker is running and counted.
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) std::thread([this] { work(); }).detach();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return workers_ == workers; });
  }
  int workers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return workers_;
  }
  int64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }

  // Runs part(0..parts-1) with parts - 1 <= workers(); rethrows the first exception.
  void run(int parts, CallbackRef<int> part) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = part;
      parts_ = parts;
      pending_.store(parts - 1, std::memory_order_relaxed);
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);
    }
    start_.notify_all();
    run_part(part, 0);
    const auto finished = [&] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(finished)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, finished);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    task_.reset();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_part(CallbackRef<int> part, int id) {
    in_parallel_region = true;
    try {
      part(id);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    in_parallel_region = false;
  }

  void work() {
    int id = 0;
    uint64_t seen = 0;
    {
      // Numbered in the order the threads start, counted, and answering only
      // generations from now on, in one step: a run that started before this thread was
      // counted gave no part to its number.
      std::lock_guard<std::mutex> lock(mutex_);
      id = ++workers_;
      seen = generation_.load(std::memory_order_relaxed);
    }
    done_.notify_all();
    for (;;) {
      const auto started = [&] { return generation_.load(std::memory_order_acquire) != seen; };
      if (!spin_until(started)) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!started()) sleeps_.fetch_add(1, std::memory_order_relaxed);
        start_.wait(lock, started);
      }
      // The newest generation with its task, read together under the mutex (they are
      // written together under it). A worker with a part in a generation cannot miss it:
      // its caller waits for that part before it starts the next one.
      std::optional<CallbackRef<int>> task;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        seen = generation_.load(std::memory_order_relaxed);
        if (id < parts_) task = task_;
      }
      if (!task) continue;
      run_part(*task, id);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // the caller checks pending_ under it before sleeping
        done_.notify_one();
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable start_, done_;
  std::optional<CallbackRef<int>> task_;  // the running task's parts; refers to run()'s caller's callable
  int parts_ = 0, workers_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> sleeps_{0};
  std::exception_ptr error_;
};

// One pool for the process, sized for every core; never destroyed (its threads are
// parked on a condition variable when the program exits).
Pool& pool() {
  static Pool* p = new Pool(std::max(0, static_cast<int>(std::thread::hardware_concurrency()) - 1));
  return *p;
}

std::mutex& pool_owner() {  // held by the thread whose parallel_for is using the pool
  static std::mutex m;
  return m;
}

}  // namespace

int64_t pool_worker_sleeps() { return pool().sleeps(); }

int num_threads() { return thread_setting().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (n < 1) throw Error("set_num_threads: " + std::to_string(n) + " threads");
  thread_setting().store(n, std::memory_order_relaxed);
}

void parallel_for_ref(int64_t n, int64_t grain, CallbackRef<int64_t, int64_t> fn) {
  if (n <= 0) return;
  const int64_t by_size = n / std::max<int64_t>(grain, 1);
  int parts = static_cast<int>(std::clamp<int64_t>(by_size, 1, num_threads()));
  std::unique_lock<std::mutex> owner(pool_owner(), std::defer_lock);
  if (parts > 1 && !in_parallel_region && owner.try_lock()) {
    Pool& p = pool();
    parts = std::min(parts, p.workers() + 1);
    if (parts > 1) {
      const auto part = [&](int id) {
        const int64_t begin = n * id / parts, end = n * (id + 1) / parts;
        if (begin < end) fn(begin, end);
      };
      p.run(parts, CallbackRef<int>(part));
      return;
    }
  }
  fn(0, n);
}

}  // namespace hl::cpu
