// Helpers for the CUDA suites: device buffers from the arena, copies to and from the
// host, NaN poisoning of outputs (DESIGN section 6: an element a kernel forgets to write
// stays NaN and fails the comparison), and exact comparisons that print the first
// mismatch.
#pragma once
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/cuda_backend.h"
#include "engine/tensor.h"

namespace hl::test {

inline cudaStream_t cuda_stream(int device = 0) {
  return static_cast<cudaStream_t>(cuda_backend::current_stream(device));
}

// Uninitialised device memory for n elements of T (a u8 tensor from the arena; keep the
// returned tensor alive while the pointer is used).
template <typename T>
Tensor device_buffer(int64_t n, int device = 0) {
  return Tensor::empty({n * static_cast<int64_t>(sizeof(T))}, DType::U8, Device::cuda(device));
}

// Fills a device tensor's bytes with 0xFF: NaN as f32, f16 and bf16.
inline void poison(Tensor& t) {
  if (t.nbytes() == 0) return;
  const int device = t.device().index;
  ASSERT_EQ(cudaMemsetAsync(t.raw(), 0xFF, t.nbytes(), cuda_stream(device)), cudaSuccess);
  cuda_backend::synchronize(device);
}

template <typename T>
Tensor upload(const std::vector<T>& host, int device = 0) {
  Tensor t = device_buffer<T>(static_cast<int64_t>(host.size()), device);
  cuda_backend::copy(t.raw(), t.device(), host.data(), Device::cpu(), host.size() * sizeof(T));
  return t;
}

template <typename T>
std::vector<T> download(const Tensor& t, int64_t n) {
  std::vector<T> host(static_cast<size_t>(n));
  cuda_backend::copy(host.data(), Device::cpu(), t.raw(), t.device(), host.size() * sizeof(T));
  return host;
}

template <typename T>
T* ptr(Tensor& t) {
  return static_cast<T*>(t.raw());
}

// Bit-identical, except that any NaN matches any NaN (the payload of a NaN made by
// arithmetic differs between x86 and CUDA).
inline void expect_same_floats(const std::vector<float>& actual, const std::vector<float>& expected,
                               const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    const bool both_nan = std::isnan(actual[i]) && std::isnan(expected[i]);
    if (!both_nan && std::memcmp(&actual[i], &expected[i], sizeof(float)) != 0) {
      ADD_FAILURE() << what << ": element [" << i << "] of " << actual.size() << " is " << actual[i]
                    << ", expected " << expected[i] << " (bit-exact)";
      return;
    }
  }
}

// Byte-for-byte equality; prints the first differing element of `element_size` bytes.
inline void expect_same_bytes(const void* actual, const void* expected, size_t nbytes, size_t element_size,
                              const std::string& what) {
  const auto* a = static_cast<const uint8_t*>(actual);
  const auto* e = static_cast<const uint8_t*>(expected);
  for (size_t i = 0; i < nbytes; ++i) {
    if (a[i] != e[i]) {
      ADD_FAILURE() << what << ": element [" << i / element_size << "] differs (byte " << i << ": "
                    << int{a[i]} << " vs " << int{e[i]} << ")";
      return;
    }
  }
}

}  // namespace hl::test
