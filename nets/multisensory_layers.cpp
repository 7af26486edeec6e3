#include "nets/multisensory_layers.h"

#include <vector>

#include "engine/error.h"

namespace hl {

namespace {

class Resolver {
 public:
  Resolver(const std::map<std::string, Tensor>& t, const std::string& path) : t_(t), path_(path) {}

  const Tensor& get(const std::string& name) const {
    auto it = t_.find(name);
    if (it == t_.end()) throw FormatError(path_, "has no tensor " + name + " (not a Multisensory weight file?)");
    if (it->second.dtype() != DType::F32) throw FormatError(path_, name + " is not f32");
    return it->second;
  }

  bool has_conv(const std::string& name) const { return t_.count(name + ".weight") > 0; }

  MultisensoryConv conv(const std::string& name) const {
    MultisensoryConv c;
    c.name = name;
    c.weight = get(name + ".weight");
    c.bias = get(name + ".bias");
    const std::vector<int64_t> k = c.weight.shape().vec();
    if (k.size() == 5) {
      c.kd = k[0], c.kh = k[1], c.kw = k[2];
    } else if (k.size() == 4) {
      if (k[1] != 1) throw FormatError(path_, name + ".weight is not a kernel along time [k, 1, in, out]");
      c.kd = 1, c.kh = k[0], c.kw = 1;
    } else {
      throw FormatError(path_, name + ".weight is not a conv kernel");
    }
    c.c_in = k[k.size() - 2];
    c.c_out = k.back();
    if (c.bias.numel() != c.c_out)
      throw FormatError(path_, name + ".bias has " + std::to_string(c.bias.numel()) + " values for " +
                                   std::to_string(c.c_out) + " output channels");
    return c;
  }

  MultisensoryBn bn(const std::string& name) const {
    MultisensoryBn b;
    b.name = name;
    b.scale = get(name + ".scale");
    b.shift = get(name + ".shift");
    if (b.scale.numel() != b.shift.numel())
      throw FormatError(path_, name + ": " + std::to_string(b.scale.numel()) + " scales but " +
                                   std::to_string(b.shift.numel()) + " shifts");
    b.c = b.scale.numel();
    return b;
  }

  MultisensoryBlock block(const std::string& scope, int64_t filters, MultisensoryStride stride) const {
    MultisensoryBlock b;
    b.scope = scope;
    b.filters = filters;
    b.stride = stride;
    b.conv1 = conv(scope + "_1");
    b.conv2 = conv(scope + "_2");
    // Only blocks that change the width, or stride with another width, have one; run()
    // says which tensor is missing when a block needs it.
    if (has_conv(scope + "_short")) b.shortcut = conv(scope + "_short");
    b.bn = bn(scope + "_bn");
    return b;
  }

 private:
  const std::map<std::string, Tensor>& t_;
  const std::string& path_;
};

}  // namespace

MultisensoryLayers resolve_multisensory_layers(const std::map<std::string, Tensor>& tensors, const std::string& path,
                                               int64_t divisor, bool cam_model) {
  const Resolver r(tensors, path);
  auto wd = [&](int64_t n) { return n / divisor; };
  const MultisensoryStride one{1, 1, 1}, two{2, 2, 2}, time4{1, 4, 1};  // the sound's time is the height
  MultisensoryLayers l;
  l.sf_conv1_1 = r.conv("sf.conv1_1");
  l.sf_blocks = {r.block("sf.conv2_1", wd(128), time4), r.block("sf.conv3_1", wd(128), time4),
                 r.block("sf.conv4_1", wd(256), time4)};
  l.sf_conv5_1 = r.conv("sf.conv5_1");
  l.im_conv1 = r.conv("im.conv1");
  l.im_blocks_before_merge = {r.block("im.conv2_1", wd(64), one), r.block("im.conv2_2", wd(64), two)};
  l.merge1 = r.conv("im.merge1");
  l.merge2 = r.conv("im.merge2");
  l.merge_bn = r.bn("im.merge_block_bn");
  l.im_blocks_after_merge = {r.block("im.conv3_1", wd(128), one),
                             r.block("im.conv3_2", wd(128), one),
                             r.block("im.conv4_1", wd(256), two),
                             r.block("im.conv4_2", wd(256), one),
                             r.block("im.conv5_1", wd(512), cam_model ? one : MultisensoryStride{1, 2, 2}),
                             r.block("im.conv5_2", wd(512), one)};
  l.joint_logits = r.conv("joint.logits");
  l.merge_half = wd(64);
  return l;
}

}  // namespace hl
