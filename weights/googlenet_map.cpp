#include "weights/googlenet_map.h"

namespace hl {

ConvertResult convert_googlenet(const NamedTensors& state_dict, bool fold_batchnorm) {
  StateDictConverter c("googlenet", state_dict, fold_batchnorm);
  const auto basic = [&](const std::string& prefix, int64_t c_in, int64_t c_out, int64_t kernel) {
    c.conv_bn(prefix + ".conv.weight", prefix + ".bn", prefix, c_in, c_out, kernel, kGoogLeNetBatchNormEps);
  };
  basic("conv1", 3, 64, 7);
  basic("conv2", 64, 64, 1);
  basic("conv3", 64, 192, 3);
  for (const InceptionWidths& b : kGoogLeNetInception) {
    const std::string p = b.name;
    basic(p + ".branch1", b.in, b.ch1x1, 1);
    basic(p + ".branch2.0", b.in, b.ch3x3red, 1);
    basic(p + ".branch2.1", b.ch3x3red, b.ch3x3, 3);
    basic(p + ".branch3.0", b.in, b.ch5x5red, 1);
    basic(p + ".branch3.1", b.ch5x5red, b.ch5x5, 3);
    basic(p + ".branch4.1", b.in, b.pool_proj, 1);
  }
  const int64_t classes = c.linear("fc", "fc", kGoogLeNetEmbedding);
  c.ignore_prefix("aux1.");
  c.ignore_prefix("aux2.");
  return c.finish({{"hl.net", "googlenet"}, {"hl.classes", std::to_string(classes)}, {"hl.format_version", "1"}});
}

}  // namespace hl
