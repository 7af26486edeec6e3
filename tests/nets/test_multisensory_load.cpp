// MultisensoryCpu::load (nets/multisensory.h) on damaged and hostile weight files: every
// one is an hl::FormatError naming the file, found at load (not in the middle of a video),
// never a crash or an out-of-bounds read. The good file is the 1/32-width TensorFlow
// fixture (multisensory_fixtures/cam_w32) converted as hl-convert multisensory-cam does.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "nets/multisensory.h"
#include "support/test_support.h"
#include "weights/multisensory_map.h"
#include "weights/tf_checkpoint.h"

namespace hl {
namespace {

class MultisensoryLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string prefix = (test::source_dir() / "tests" / "nets" / "multisensory_fixtures" / "cam_w32").string();
    converted_ = convert_multisensory(TfCheckpoint::open(prefix), MultisensoryNet::Cam);
  }
  // Writes the converted tensors with `edit` applied, returns the path.
  std::string write(const std::string& name, const std::function<void(NamedTensors&, std::map<std::string,
                                                                                          std::string>&)>& edit) {
    NamedTensors t = converted_.tensors;
    std::map<std::string, std::string> meta(converted_.metadata.begin(), converted_.metadata.end());
    edit(t, meta);
    const std::string path = dir_.file(name);
    write_safetensors(path, t, meta);
    return path;
  }
  // The FormatError's message (the test fails when load succeeds or throws anything else).
  static std::string load_error(const std::string& path) {
    try {
      MultisensoryCpu::load(path);
    } catch (const FormatError& e) {
      return e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not an hl::FormatError: " << e.what();
      return e.what();
    }
    ADD_FAILURE() << path << " loaded";
    return "";
  }
  static void replace(NamedTensors& t, const std::string& name, Tensor value) {
    for (auto& [n, v] : t)
      if (n == name) v = std::move(value);
  }

  ConvertResult converted_;
  test::TempDir dir_;
};

TEST_F(MultisensoryLoad, TheConvertedFixtureLoads) {
  const std::string path = write("good.safetensors", [](NamedTensors&, std::map<std::string, std::string>&) {});
  EXPECT_EQ(MultisensoryCpu::load(path).width_divisor(), 32);
}

TEST_F(MultisensoryLoad, TruncatedFileNamesIt) {
  const std::string good = write("good.safetensors", [](NamedTensors&, std::map<std::string, std::string>&) {});
  const std::vector<uint8_t> bytes = test::read_file(good);
  for (size_t keep : {size_t{0}, size_t{7}, size_t{100}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = dir_.file("cut.safetensors");
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(keep));
    const std::string e = load_error(path);
    EXPECT_NE(e.find("cut.safetensors"), std::string::npos) << keep << ": " << e;
  }
}

TEST_F(MultisensoryLoad, MissingTensorIsFoundAtLoad) {
  const std::string path = write("missing.safetensors", [](NamedTensors& t, std::map<std::string, std::string>&) {
    std::erase_if(t, [](const auto& p) { return p.first == "im.conv5_2_2.bias"; });
  });
  const std::string e = load_error(path);
  EXPECT_NE(e.find("missing.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("im.conv5_2_2.bias"), std::string::npos) << e;
}

TEST_F(MultisensoryLoad, ShortBatchNormIsRefusedNotReadPastItsEnd) {
  const std::string path = write("short_bn.safetensors", [](NamedTensors& t, std::map<std::string, std::string>&) {
    replace(t, "im.merge_block_bn.scale", Tensor::from_vector(Shape({1}), {1.0f}));
  });
  const std::string e = load_error(path);
  EXPECT_NE(e.find("short_bn.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("im.merge_block_bn"), std::string::npos) << e;
}

TEST_F(MultisensoryLoad, WrongDtypeIsRefused) {
  const std::string path = write("dtype.safetensors", [](NamedTensors& t, std::map<std::string, std::string>&) {
    for (auto& [n, v] : t)
      if (n == "joint.logits.bias") v = Tensor::zeros(v.shape(), DType::I32);
  });
  const std::string e = load_error(path);
  EXPECT_NE(e.find("dtype.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("not f32"), std::string::npos) << e;
}

TEST_F(MultisensoryLoad, WidthDivisorThatIsNotANumberOrDoesNotMatchIsRefused) {
  for (const char* value : {"abc", "", "99999999999999999999", "3"}) {
    const std::string path = write("div.safetensors", [&](NamedTensors&, std::map<std::string, std::string>& m) {
      m["hl.width_divisor"] = value;
    });
    const std::string e = load_error(path);
    EXPECT_NE(e.find("hl.width_divisor"), std::string::npos) << value << ": " << e;
  }
  // A power of two that disagrees with the tensors (1/32 width, said to be 1/16).
  const std::string path = write("div16.safetensors", [](NamedTensors&, std::map<std::string, std::string>& m) {
    m["hl.width_divisor"] = "16";
  });
  EXPECT_NE(load_error(path).find("div16.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace hl
