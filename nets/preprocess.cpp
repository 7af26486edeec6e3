// The visual networks' preprocessing (nets/preprocess.h): resize, centre crop, normalise.
#include "nets/preprocess.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "engine/cuda_backend.h"
#include "engine/dispatch.h"
#include "kernels/cpu/resize.h"
#include "kernels/cuda/resize.h"

namespace hl {
namespace {

// torchvision's ImageNet statistics, used by both publishers; Normalize makes them f32.
constexpr cpu::Normalization kImageNet{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};

void check_frame(const Tensor& rgb, const char* what) {
  if (!rgb.defined() || rgb.dtype() != DType::U8 || rgb.ndim() != 3 || rgb.size(2) != 3 || rgb.size(0) <= 0 ||
      rgb.size(1) <= 0 || !rgb.device().is_cpu())
    throw Error(std::string(what) + ": expects a CPU u8 [H, W, 3] image, got " +
                (rgb.defined() ? rgb.str() : std::string("an undefined tensor")));
}

// CPU: resize then crop + normalise one frame into y f32 [224, 224, 3]. The resized
// image, the resize's taps and its intermediate rows are kept per thread and grown as
// needed (a few hundred KiB), so that a stream's frames of one size allocate nothing.
void preprocess_cpu(const Tensor& rgb, Preprocess kind, float* y) {
  const int64_t h = rgb.size(0), w = rgb.size(1);
  const ImageSize r = preprocess_resized_size(h, w, kind);
  static thread_local cpu::ResizeScratch scratch;
  static thread_local std::vector<uint8_t> resized;  // [256', 256', 3]
  const auto resized_bytes = static_cast<size_t>(r.height * r.width * 3);
  if (resized.size() < resized_bytes) resized.resize(resized_bytes);
  cpu::resize_bilinear_u8(rgb.data<uint8_t>(), h, w, 3, resized.data(), r.height, r.width, scratch);
  cpu::crop_normalize_u8_f32(resized.data(), r.height, r.width,
                             cpu::center_crop_offset(r.height, kPreprocessCrop),
                             cpu::center_crop_offset(r.width, kPreprocessCrop), kPreprocessCrop, kPreprocessCrop,
                             kImageNet, y);
}

// CUDA: frames[begin, end) (all h x w) -> out[begin, end), on out's device.
void preprocess_cuda_run(const std::vector<Tensor>& frames, size_t begin, size_t end, Preprocess kind, Tensor& out,
                         cudaStream_t stream) {
  const Device dev = out.device();
  const int64_t n = static_cast<int64_t>(end - begin), h = frames[begin].size(0), w = frames[begin].size(1);
  const int64_t frame_bytes = h * w * 3;
  // The frames go up through one page-locked staging buffer per thread, grown as needed:
  // page-locking a new buffer for every batch (cudaHostAlloc) would cost more than the
  // copy. It is free again when this returns (the device is synchronised below).
  static thread_local std::shared_ptr<Storage> staging;
  const auto bytes = static_cast<size_t>(n * frame_bytes);
  if (!staging || staging->nbytes() < bytes) staging = Tensor::empty_pinned({n * frame_bytes}, DType::U8).storage();
  Tensor host(staging, 0, Shape{n, h, w, 3}, DType::U8);  // [n, h, w, 3]
  for (size_t i = begin; i < end; ++i)
    std::memcpy(host.data<uint8_t>() + static_cast<int64_t>(i - begin) * frame_bytes, frames[i].data<uint8_t>(),
                static_cast<size_t>(frame_bytes));
  const Tensor x = host.to(dev);
  const ImageSize r = preprocess_resized_size(h, w, kind);
  const cuda::ResizeTable table = cuda::resize_table(h, w, r.height, r.width);
  Tensor ints = Tensor::empty({static_cast<int64_t>(table.ints.size())}, DType::I32);
  std::memcpy(ints.data<int32_t>(), table.ints.data(), table.ints.size() * sizeof(int32_t));
  const Tensor dev_ints = ints.to(dev);
  Tensor scratch = Tensor::empty({cuda::resize_scratch_bytes(table, n, 3)}, DType::U8, dev);
  Tensor resized = Tensor::empty({n, r.height, r.width, 3}, DType::U8, dev);  // [n, 256', 256', 3]
  cuda::resize_bilinear_u8(x.data<uint8_t>(), n, 3, resized.data<uint8_t>(), table, dev_ints.data<int32_t>(),
                           scratch.data<uint8_t>(), stream);
  Tensor slot = out.narrow(static_cast<int64_t>(begin), n);
  cuda::crop_normalize_u8_f32(resized.data<uint8_t>(), n, r.height, r.width,
                              cpu::center_crop_offset(r.height, kPreprocessCrop),
                              cpu::center_crop_offset(r.width, kPreprocessCrop), kPreprocessCrop, kPreprocessCrop,
                              kImageNet, slot.data<float>(), stream);
  // The temporaries go back to the arena when this returns; wait until the kernels are done with them.
  cuda_backend::synchronize(dev.index);
}

// CPU: each frame into its slot of out [n, 224, 224, 3].
void preprocess_cpu_batch(const std::vector<Tensor>& frames, Preprocess kind, Tensor& out) {
  const int64_t slot = kPreprocessCrop * kPreprocessCrop * 3;
  for (size_t i = 0; i < frames.size(); ++i)
    preprocess_cpu(frames[i], kind, out.data<float>() + static_cast<int64_t>(i) * slot);
}

// CUDA: one batch per run of equal-sized frames (the resize table depends on the size).
void preprocess_cuda_batch(const std::vector<Tensor>& frames, Preprocess kind, Tensor& out, cudaStream_t stream) {
  for (size_t begin = 0; begin < frames.size();) {
    size_t end = begin + 1;
    while (end < frames.size() && frames[end].shape() == frames[begin].shape()) ++end;
    preprocess_cuda_run(frames, begin, end, kind, out, stream);
    begin = end;
  }
}

}  // namespace

const char* preprocess_name(Preprocess kind) { return kind == Preprocess::GoogLeNet ? "googlenet" : "places365"; }

ImageSize preprocess_resized_size(int64_t height, int64_t width, Preprocess kind) {
  if (height <= 0 || width <= 0)
    throw Error("preprocess: image size must be positive, got " + std::to_string(height) + "x" + std::to_string(width));
  if (kind == Preprocess::Places365) return {kPreprocessResize, kPreprocessResize};
  // torchvision _compute_resized_output_size: int(256 * long / short), the division in
  // double as Python's true division (exact operands below 2^53, correctly rounded).
  const int64_t shorter = std::min(height, width), longer = std::max(height, width);
  const auto scaled = static_cast<int64_t>(static_cast<double>(kPreprocessResize * longer) / static_cast<double>(shorter));
  return width <= height ? ImageSize{scaled, kPreprocessResize} : ImageSize{kPreprocessResize, scaled};
}

Tensor preprocess_image(const Tensor& rgb, Preprocess kind) {
  check_frame(rgb, "preprocess_image");
  Tensor out = Tensor::empty({kPreprocessCrop, kPreprocessCrop, 3}, DType::F32);  // [224, 224, 3]
  preprocess_cpu(rgb, kind, out.data<float>());
  return out;
}

void preprocess_batch(const std::vector<Tensor>& frames, Preprocess kind, Tensor& out) {
  const auto n = static_cast<int64_t>(frames.size());
  if (!out.defined() || out.dtype() != DType::F32 ||
      !(out.shape() == Shape{n, kPreprocessCrop, kPreprocessCrop, 3}))
    throw Error("preprocess_batch: expects an f32 [" + std::to_string(n) + ", 224, 224, 3] output for " +
                std::to_string(n) + " frames, got " + (out.defined() ? out.str() : std::string("an undefined tensor")));
  for (const Tensor& f : frames) check_frame(f, "preprocess_batch");
  dispatch::on_device(
      out, "preprocess_batch", [&] { preprocess_cpu_batch(frames, kind, out); },
      [&](cudaStream_t stream) { preprocess_cuda_batch(frames, kind, out, stream); });
}

}  // namespace hl
