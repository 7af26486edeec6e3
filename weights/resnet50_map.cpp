#include "weights/resnet50_map.h"

#include <string>

namespace hl {

ConvertResult convert_resnet50(const NamedTensors& state_dict, bool fold_batchnorm) {
  StateDictConverter c("resnet50", state_dict, fold_batchnorm);
  const double eps = kResNet50BatchNormEps;
  c.conv_bn("conv1.weight", "bn1", "conv1", 3, 64, 7, eps);
  int64_t in = 64;
  for (size_t s = 0; s < kResNet50Blocks.size(); ++s) {
    const int64_t width = kResNet50Widths[s], out = width * kResNet50Expansion;
    for (int64_t b = 0; b < kResNet50Blocks[s]; ++b) {
      const std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      c.conv_bn(p + ".conv1.weight", p + ".bn1", p + ".conv1", in, width, 1, eps);
      c.conv_bn(p + ".conv2.weight", p + ".bn2", p + ".conv2", width, width, 3, eps);
      c.conv_bn(p + ".conv3.weight", p + ".bn3", p + ".conv3", width, out, 1, eps);
      if (b == 0) c.conv_bn(p + ".downsample.0.weight", p + ".downsample.1", p + ".downsample", in, out, 1, eps);
      in = out;
    }
  }
  const int64_t classes = c.linear("fc", "fc", kResNet50Embedding);
  return c.finish({{"hl.net", "resnet50"}, {"hl.classes", std::to_string(classes)}, {"hl.format_version", "1"}});
}

}  // namespace hl
