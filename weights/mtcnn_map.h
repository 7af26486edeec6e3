// facenet-pytorch's MTCNN weights (P-Net, R-Net, O-Net: facenet_pytorch/data/{pnet,rnet,
// onet}.pt, plain state dicts in the legacy torch.save format) and their converter to
// our weight file mtcnn.safetensors (specs/nets.md "Faces", docs/weights.md).
//
// Our names: "<net>.<module>" with the publisher's module names, e.g. "pnet.conv1",
// "rnet.dense4", "onet.prelu5". Layouts:
//   conv   <net>.convK.weight  HWIO [k, k, c_in, c_out] (publisher: OIHW), .bias [c_out]
//   prelu  <net>.preluK.weight [channels]
//   dense  <net>.denseK.weight [in, out] (publisher: [out, in]), .bias [out]
// R-Net's dense4 and O-Net's dense5 read a flattened feature map. facenet-pytorch
// flattens it as x.permute(0, 3, 2, 1) of NCHW, i.e. in (w, h, c) order; our nets run in
// NHWC and flatten in (h, w, c) order, so the converter reorders those weights' input
// rows: ours[(h * W + w) * C + c] = theirs[(w * H + h) * C + c].
//
// Tests: tests/nets/test_mtcnn_golden.cpp (the converted nets against facenet-pytorch's
// own MTCNN), tests/weights/test_mtcnn_convert.cpp (hostile and mismatched inputs).
#pragma once
#include <string>

#include "weights/cnn_map.h"

namespace hl {

inline constexpr const char* kMtcnnWeightsFile = "mtcnn.safetensors";

struct MtcnnStateDicts {
  NamedTensors pnet, rnet, onet;
  std::string source_format;  // "folder" or "wheel"
};

// Reads pnet.pt, rnet.pt and onet.pt from `path`: a folder holding them (or holding
// data/ or facenet_pytorch/data/ with them: the installed package), or the facenet-pytorch wheel (a zip; the entries
// facenet_pytorch/data/*.pt are inflated in memory, at most 64 MiB each, sizes and CRCs
// checked by libzip). Throws hl::FormatError naming the file and the problem.
MtcnnStateDicts read_mtcnn_state_dicts(const std::string& path);

// Throws hl::Error listing every missing or unexpected key and wrong shape or dtype of
// the three nets. Metadata: hl.net "mtcnn", hl.format_version "1".
ConvertResult convert_mtcnn(const MtcnnStateDicts& sd);

}  // namespace hl
