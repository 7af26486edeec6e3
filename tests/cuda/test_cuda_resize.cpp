// The CUDA preprocessing kernels (kernels/cuda/resize.h) against the CPU kernels
// (kernels/cpu/resize.cpp, the specification, itself equal to PIL and torchvision:
// tests/nets/test_preprocess_golden.cpp), on fresh random frames, exactly:
//  - resize_bilinear_u8 on batches: upscaling, downscaling by large and odd factors, one
//    axis only, no change at all, one channel. A u8 output cannot be poisoned with a
//    value no pixel has, so each case runs twice, the output filled with 0x00 and then
//    0xFF first: a byte the kernel forgets keeps one of them and fails one run;
//  - crop_normalize_u8_f32 with the output poisoned with NaN, compared bit for bit;
//  - preprocess_batch into a CUDA tensor (frames of two sizes, so two device runs)
//    against preprocess_batch into a CPU tensor, bit for bit.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "kernels/cpu/resize.h"
#include "kernels/cuda/resize.h"
#include "nets/preprocess.h"
#include "support/test_support.h"

namespace hl {
namespace {

std::vector<uint8_t> random_bytes(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

cudaStream_t stream() { return test::cuda_stream(); }

TEST(CudaResize, BilinearMatchesCpuExactly) {
  HL_REQUIRE_CUDA();
  struct Case {
    int64_t n, h, w, c, out_h, out_w;
  };
  const std::vector<Case> cases = {
      {3, 37, 53, 3, 256, 365},   // upscale (< 224 -> 256)
      {2, 720, 1280, 3, 256, 455},  // a video frame, GoogLeNet's Resize(256)
      {2, 401, 333, 3, 256, 256},   // Places365's squash, odd sizes
      {1, 64, 64, 3, 64, 20},       // horizontal only
      {1, 64, 64, 3, 21, 64},       // vertical only
      {2, 256, 300, 3, 256, 300},   // no change
      {2, 97, 203, 1, 33, 300},     // one channel
  };
  uint32_t seed = 1;
  for (const Case& k : cases) {
    const std::string what = "resize " + std::to_string(k.n) + "x" + std::to_string(k.h) + "x" + std::to_string(k.w) +
                             "x" + std::to_string(k.c) + " -> " + std::to_string(k.out_h) + "x" + std::to_string(k.out_w);
    const int64_t in_frame = k.h * k.w * k.c, out_frame = k.out_h * k.out_w * k.c;
    const std::vector<uint8_t> x = random_bytes(k.n * in_frame, ++seed);
    std::vector<uint8_t> want(static_cast<size_t>(k.n * out_frame));
    for (int64_t i = 0; i < k.n; ++i)
      cpu::resize_bilinear_u8(x.data() + i * in_frame, k.h, k.w, k.c, want.data() + i * out_frame, k.out_h, k.out_w);

    const cuda::ResizeTable table = cuda::resize_table(k.h, k.w, k.out_h, k.out_w);
    Tensor gx = test::upload(x), ints = test::upload(table.ints);
    Tensor scratch = test::device_buffer<uint8_t>(std::max<int64_t>(cuda::resize_scratch_bytes(table, k.n, k.c), 1));
    Tensor gy = test::device_buffer<uint8_t>(k.n * out_frame);
    for (const int fill : {0x00, 0xFF}) {
      ASSERT_EQ(cudaMemsetAsync(gy.raw(), fill, gy.nbytes(), stream()), cudaSuccess);
      ASSERT_EQ(cudaMemsetAsync(scratch.raw(), fill, scratch.nbytes(), stream()), cudaSuccess);
      cuda::resize_bilinear_u8(test::ptr<uint8_t>(gx), k.n, k.c, test::ptr<uint8_t>(gy), table,
                               test::ptr<int32_t>(ints), test::ptr<uint8_t>(scratch), stream());
      const std::vector<uint8_t> got = test::download<uint8_t>(gy, k.n * out_frame);
      test::expect_same_bytes(got.data(), want.data(), want.size(), 1, what + " (output filled with " +
                                                                           std::to_string(fill) + " first)");
    }
  }
}

TEST(CudaResize, CropNormalizeMatchesCpuExactly) {
  HL_REQUIRE_CUDA();
  const cpu::Normalization norm{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  struct Case {
    int64_t n, h, w, top, left, crop;
  };
  for (const Case& k : {Case{3, 256, 300, 16, 38, 224}, Case{2, 341, 256, 58, 16, 224}, Case{1, 224, 224, 0, 0, 224},
                        Case{2, 9, 7, 2, 1, 5}}) {
    const std::string what = "crop_normalize " + std::to_string(k.h) + "x" + std::to_string(k.w) + " at " +
                             std::to_string(k.top) + "," + std::to_string(k.left);
    const int64_t in_frame = k.h * k.w * 3, out_frame = k.crop * k.crop * 3;
    const std::vector<uint8_t> x = random_bytes(k.n * in_frame, static_cast<uint32_t>(k.h * 31 + k.w));
    std::vector<float> want(static_cast<size_t>(k.n * out_frame));
    for (int64_t i = 0; i < k.n; ++i)
      cpu::crop_normalize_u8_f32(x.data() + i * in_frame, k.h, k.w, k.top, k.left, k.crop, k.crop, norm,
                                 want.data() + i * out_frame);
    Tensor gx = test::upload(x), gy = test::device_buffer<float>(k.n * out_frame);
    test::poison(gy);
    cuda::crop_normalize_u8_f32(test::ptr<uint8_t>(gx), k.n, k.h, k.w, k.top, k.left, k.crop, k.crop, norm,
                                test::ptr<float>(gy), stream());
    test::expect_same_floats(test::download<float>(gy, k.n * out_frame), want, what);
  }
}

TEST(CudaResize, PreprocessBatchOnCudaEqualsCpu) {
  HL_REQUIRE_CUDA();
  std::vector<Tensor> frames;
  uint32_t seed = 77;
  for (const auto& [h, w] : {std::pair{480, 640}, std::pair{480, 640}, std::pair{480, 640}, std::pair{123, 301}}) {
    Tensor f = Tensor::empty({h, w, 3}, DType::U8);
    const std::vector<uint8_t> bytes = random_bytes(f.numel(), ++seed);
    std::copy(bytes.begin(), bytes.end(), f.data<uint8_t>());
    frames.push_back(f);
  }
  const int64_t n = static_cast<int64_t>(frames.size());
  for (const Preprocess kind : {Preprocess::GoogLeNet, Preprocess::Places365}) {
    Tensor want = Tensor::empty({n, kPreprocessCrop, kPreprocessCrop, 3}, DType::F32);
    preprocess_batch(frames, kind, want);
    Tensor got = Tensor::empty(want.shape(), DType::F32, Device::cuda(0));
    test::poison(got);
    preprocess_batch(frames, kind, got);
    const Tensor host = got.to(Device::cpu());
    test::expect_same_floats({host.data<float>(), host.data<float>() + host.numel()},
                             {want.data<float>(), want.data<float>() + want.numel()},
                             std::string("preprocess_batch on CUDA, ") + preprocess_name(kind));
  }
}

}  // namespace
}  // namespace hl
