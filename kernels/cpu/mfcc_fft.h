// The real FFT of the CPU MFCC (kernels/cpu/mfcc.cpp), done on kLanes frames at once:
// every value is a FloatLanes vector whose lane l belongs to frame l, so each line of the
// transform is the scalar textbook line applied to 8 frames with SIMD instructions and no
// shuffles. Power-of-two sizes only.
//
// Method: the n real samples are packed as n/2 complex ones z[k] = x[2k] + i·x[2k+1],
// transformed by an iterative radix-2 decimation-in-time FFT of size n/2 (bit-reversed
// load, twiddles exp(−2πik/(n/2)) computed in double and rounded once to f32), and split
// into bins 0..n/2 of the real signal's spectrum (Numerical Recipes' realft). f32
// throughout, as kissfft (which this replaced: about 4× faster, by perf) and cuFFT are.
// No CUDA twin: the CUDA MFCC uses cuFFT (kernels/cuda/mfcc.h).
// Tests: tests/nets/test_mfcc.cpp against a double-precision DFT; the whole MFCC against
// python_speech_features (numpy's FFT) in tests/nets/test_mfcc_golden.cpp.
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace hl::cpu {

constexpr int kLanes = 8;
using FloatLanes = float __attribute__((vector_size(kLanes * sizeof(float))));

// Storage for FloatLanes on 32-byte boundaries. The kernels also come as AVX2 clones
// (target_clones), which move whole vectors with aligned loads; std::allocator would
// align them to 16 bytes only, the baseline x86-64 ABI's alignment of this type.
template <typename T>
struct LaneAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{sizeof(FloatLanes)};
  LaneAllocator() = default;
  template <typename U>
  LaneAllocator(const LaneAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  bool operator==(const LaneAllocator&) const = default;
};
using LaneVector = std::vector<FloatLanes, LaneAllocator<FloatLanes>>;

class RealFftLanes {
 public:
  // n: a power of two, at least 4. Throws std::invalid_argument otherwise.
  explicit RealFftLanes(int n);
  int size() const { return n_; }

  // x [n] real samples -> re, im [n/2 + 1]: X[k] = Σ_t x[t]·exp(−2πi·kt/n), k = 0..n/2.
  // work: scratch of n lanes, overlapping none of x, re and im.
  void forward(const FloatLanes* x, FloatLanes* re, FloatLanes* im, FloatLanes* work) const;

 private:
  int n_;
  std::vector<int> bit_reversed_;  // [n/2]: where complex sample k goes before the butterflies
  // The constants, each broadcast to every lane (a splat in the inner loop costs more).
  LaneVector twiddle_re_, twiddle_im_;  // [n/4]: exp(−2πik/(n/2))
  LaneVector split_re_, split_im_;      // [n/2]: exp(−2πik/n), for the real split
};

}  // namespace hl::cpu
