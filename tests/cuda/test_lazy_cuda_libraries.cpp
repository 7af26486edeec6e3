// kernels/cuda/lazy_libraries.cpp: a CUDA build does not load cuBLAS (nor the 540-MB
// cuBLASLt it needs), cuDNN or cuFFT when a program starts, only on the first call into
// each. Checked with the process's own memory map (/proc/self/maps), not with anything
// the code under test reports. Needs no GPU: the calls made here (a status name, an
// error string, creating an FFT plan handle) work, or fail cleanly, without a device.
// Each test runs in its own process under ctest (gtest_discover_tests), so "at start"
// means at the start of this program, which links the whole engine like the tools do.
#include <gtest/gtest.h>

#include <cublas_v2.h>
#include <cudnn.h>
#include <cufft.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

// Whether a file whose name starts with `prefix` (e.g. "libcublas.") is mapped.
bool mapped(const std::string& prefix) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t slash = line.rfind('/');
    if (slash != std::string::npos && line.compare(slash + 1, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

TEST(LazyCudaLibraries, NoneIsLoadedAtStart) {
  ASSERT_TRUE(mapped("libc.so") || mapped("libc-")) << "the scanner must see the C library";
  EXPECT_FALSE(mapped("libcublas.")) << "cuBLAS was loaded before any call into it";
  EXPECT_FALSE(mapped("libcublasLt.")) << "cuBLASLt was loaded before any call into cuBLAS";
  EXPECT_FALSE(mapped("libcudnn")) << "cuDNN was loaded before any call into it";
  EXPECT_FALSE(mapped("libcufft.")) << "cuFFT was loaded before any call into it";
}

TEST(LazyCudaLibraries, CublasLoadsOnItsFirstCall) {
  ASSERT_FALSE(mapped("libcublas."));
  EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_SUCCESS), "CUBLAS_STATUS_SUCCESS");
  EXPECT_TRUE(mapped("libcublas."));
  EXPECT_STREQ(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE");  // again
  EXPECT_FALSE(mapped("libcudnn")) << "only the library called is loaded";
}

TEST(LazyCudaLibraries, CudnnLoadsOnItsFirstCall) {
  ASSERT_FALSE(mapped("libcudnn"));
  EXPECT_STREQ(cudnnGetErrorString(CUDNN_STATUS_SUCCESS), "CUDNN_STATUS_SUCCESS");
  EXPECT_TRUE(mapped("libcudnn"));
}

TEST(LazyCudaLibraries, CufftLoadsOnItsFirstCall) {
  ASSERT_FALSE(mapped("libcufft."));
  cufftHandle plan = 0;
  const cufftResult created = cufftCreate(&plan);  // without a GPU it may fail: loading is the point
  if (created == CUFFT_SUCCESS) cufftDestroy(plan);
  EXPECT_TRUE(mapped("libcufft."));
}

}  // namespace
