// Asking for a CUDA tensor where none can exist is a clear hl::Error, never a crash
// (DESIGN section 3). Runs in every build and on every machine (label cpu):
//   HL_CUDA=OFF build:           the message says the build has no CUDA backend;
//   CUDA build, no GPU/driver:   the message says no device is visible, and why;
//   CUDA build on a GPU machine: the same path is exercised with an out-of-range index.
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace hl {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs `fn`, expects hl::Error and returns its message (printed, so the log shows it).
template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    std::cout << "hl::Error: " << e.what() << "\n";
    return e.what();
  }
  ADD_FAILURE() << "expected hl::Error";
  return "";
}

TEST(CudaUnavailable, AskingForACudaTensorIsAClearError) {
  if (cuda_available()) {
    const int count = cuda_device_count();
    EXPECT_TRUE(cuda_backend::built_with_cuda());
    const std::string msg = error_of([&] { Tensor::empty({4}, DType::F32, Device::cuda(count)); });
    EXPECT_TRUE(contains(msg, "index " + std::to_string(count))) << msg;
    EXPECT_TRUE(contains(msg, std::to_string(count) + " device(s) visible")) << msg;
    return;
  }
  EXPECT_EQ(cuda_device_count(), 0);
  const std::string expected = cuda_backend::built_with_cuda() ? "no CUDA device is visible" : "no CUDA backend";
  const Tensor host = Tensor::from_vector({2}, {1.0f, 2.0f});
  const std::string messages[] = {
      error_of([] { Tensor::empty({4}, DType::F32, Device::cuda()); }),
      error_of([&] { host.to(Device::cuda()); }),
      error_of([] { ops::uniform({3}, 1, 0, 0.0f, 1.0f, Device::cuda(0)); }),
      error_of([] { cuda_backend::current_stream(0); }),
  };
  for (const std::string& msg : messages) {
    EXPECT_TRUE(contains(msg, expected)) << msg;
    EXPECT_TRUE(contains(msg, "--device cpu")) << "the message says what to do instead: " << msg;
  }
}

TEST(CudaUnavailable, PinnedHostBuffersWorkWithOrWithoutADevice) {
  Tensor pinned = Tensor::empty_pinned({1000}, DType::F32);
  float* p = pinned.data<float>();
  for (int i = 0; i < 1000; ++i) p[i] = static_cast<float>(i);
  EXPECT_EQ(pinned.clone().data<float>()[999], 999.0f);
  EXPECT_TRUE(pinned.device().is_cpu());
}

}  // namespace
}  // namespace hl
