// The host side of the Multisensory network's cuDNN 3-D convolution
// (kernels/cuda/cudnn_conv3d.h), checked without a GPU (label cpu, CUDA builds only):
// cuDNN's descriptors are made and sized on the host, so for every shape below cuDNN
// itself must compute TensorFlow's output size from our descriptors (the constructor
// compares cudnnGetConvolutionNdForwardOutputDim with the SAME / VALID rule and throws on
// a difference), with the input grown by the zero appended on each axis whose SAME pad is
// odd. Without that zero, cuDNN's size comes out one short on such an axis. (The values
// are compared on a GPU: test_cuda_multisensory_ops.) Also MultisensoryCuda::load's
// checks that come before any device use.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/safetensors.h"
#include "kernels/cpu/conv3d.h"
#include "kernels/cuda/cudnn_conv3d.h"
#include "nets/multisensory_cuda.h"
#include "support/test_support.h"
#include "weights/multisensory_map.h"
#include "weights/tf_checkpoint.h"

namespace hl {
namespace {

cpu::Conv3dShape shape(int64_t d, int64_t h, int64_t w, int64_t k, int64_t s, bool same) {
  cpu::Conv3dShape c;
  c.batch = 1, c.depth = d, c.height = h, c.width = w, c.c_in = 2, c.c_out = 3;
  c.kd = k, c.kh = k + 2, c.kw = 1 + k / 2, c.sd = s, c.sh = s + 1, c.sw = s;
  c.same = same;
  return c;
}

TEST(CudaMultisensoryPlan, CudnnComputesTensorFlowsOutputSizes) {
  int checked = 0;
  for (const bool same : {true, false})
    for (int64_t k = 1; k <= 7; k += 2)
      for (int64_t s = 1; s <= 4; ++s)
        for (int64_t d : {1, 4, 7, 12})
          for (int64_t h : {9, 10, 23}) {
            const cpu::Conv3dShape c = shape(d, h, d + 3, k, s, same);
            if (!same && (d < c.kd || h < c.kh || d + 3 < c.kw)) continue;  // VALID needs the kernel to fit
            SCOPED_TRACE(std::to_string(d) + "x" + std::to_string(h) + " k" + std::to_string(k) + " s" +
                         std::to_string(s) + (same ? " SAME" : " VALID"));
            for (const auto precision : {cuda::ConvPrecision::F32Exact, cuda::ConvPrecision::F16}) {
              const std::string e = test::error_of([&] {
                cuda::CudnnConv3d conv(precision, c, "probe");
                EXPECT_EQ(conv.output_elements(), c.pad_d().out * c.pad_h().out * c.pad_w().out * c.c_out);
              });
              EXPECT_EQ(e, "(no error)");
            }
            ++checked;
          }
  EXPECT_EQ(checked, 324);  // 192 SAME, 132 VALID
  // The network's own: sf/conv1_1 (87,588 samples, [65, 1] stride 4) and im/conv1 at 224.
  cpu::Conv3dShape sound;
  sound.batch = 1, sound.depth = 1, sound.height = 87588, sound.width = 1, sound.c_in = 2, sound.c_out = 64;
  sound.kd = 1, sound.kh = 65, sound.kw = 1, sound.sd = 1, sound.sh = 4, sound.sw = 1;
  EXPECT_EQ(cuda::CudnnConv3d(cuda::ConvPrecision::F16, sound, "sf.conv1_1").output_elements(), 21897 * 64);
  cpu::Conv3dShape video;
  video.batch = 1, video.depth = 125, video.height = 224, video.width = 224, video.c_in = 3, video.c_out = 64;
  video.kd = 5, video.kh = 7, video.kw = 7, video.sd = video.sh = video.sw = 2;
  EXPECT_EQ(cuda::CudnnConv3d(cuda::ConvPrecision::F32Exact, video, "im.conv1").output_elements(),
            63 * 112 * 112 * 64);
}

// MultisensoryCuda::load checks the file before it touches a device (the CPU's message,
// naming the file), and without a device says so instead of failing later.
TEST(CudaMultisensoryPlan, LoadChecksTheFileFirstAndNeedsADevice) {
  test::TempDir dir;
  const std::string other = dir.file("other.safetensors");
  write_safetensors(other, {{"x", Tensor::from_vector(Shape({1}), {1.0f})}}, {{"hl.net", "mtcnn"}});
  const std::string e = test::error_of([&] { MultisensoryCuda::load(other); });
  EXPECT_NE(e.find("other.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("not a Multisensory weight file"), std::string::npos) << e;
  if (cuda_available()) GTEST_SKIP() << "a CUDA device is visible: the no-device message cannot be checked here";
  const ConvertResult r = convert_multisensory(
      TfCheckpoint::open((test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / "cam_w32").string()),
      MultisensoryNet::Cam);
  write_safetensors(dir.file("ms.safetensors"), r.tensors, r.metadata);
  const std::string e2 = test::error_of([&] { MultisensoryCuda::load(dir.file("ms.safetensors")); });
  EXPECT_NE(e2.find("no CUDA device is visible"), std::string::npos) << e2;
}

}  // namespace
}  // namespace hl
