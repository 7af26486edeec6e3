// An uninitialised scratch array for a kernel's temporaries (im2col columns, LSTM
// gradients), from the host block cache (kernels/cpu/host_cache.h).
//
// Why not std::vector: it zeroes its elements, and a large one is a fresh mmap whose
// pages the kernel zeroes again on first touch; at the paper's batch those temporaries
// are tens of MB per op per step. Here a block of the same size comes back from the
// cache untouched. Callers must write every element they later read.
// No CUDA twin: CUDA temporaries come from the device arena (engine/cuda/arena.cpp).
// Tests: through its callers (conv1d, conv2d, the LSTM, the skinny GEMM):
// tests/ops/test_op_table.cpp, tests/kernels/test_gemm_skinny.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/host_cache.h"

namespace hl::cpu {

template <typename T>
class Scratch {
 public:
  explicit Scratch(int64_t n) : n_(n > 0 ? static_cast<size_t>(n) : 0) {
    if (n_) p_ = static_cast<T*>(host_cache::allocate(n_ * sizeof(T)));
  }
  ~Scratch() {
    if (p_) host_cache::release(p_, n_ * sizeof(T));
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  T* data() { return p_; }        // null when empty
  size_t size() const { return n_; }

 private:
  size_t n_ = 0;
  T* p_ = nullptr;
};

}  // namespace hl::cpu
