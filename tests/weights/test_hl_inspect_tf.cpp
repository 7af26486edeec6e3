// hl-inspect on TensorFlow V2 checkpoints, run as a user runs it (HL_INSPECT_PATH), on
// the fixtures TensorFlow saved (tests/weights/tf_fixtures/): the format, num_shards,
// every tensor with TensorFlow's dtype and shape, statistics computed here from the
// values TensorFlow read back (<name>.expected.json), and a corrupted checkpoint named
// in the error.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hl {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  return (test::source_dir() / "tests" / "weights" / "tf_fixtures" / name).string();
}

TEST(HlInspectTf, ShardedCheckpointAsJsonByPrefix) {
  const auto r = test::run_command({HL_INSPECT_PATH, "--json", fixture("sharded")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"], fixture("sharded"));
  EXPECT_EQ(j["format"], "tf-checkpoint");
  EXPECT_EQ(j["metadata"]["num_shards"], "2");
  std::ifstream in(fixture("sharded.expected.json"));
  const auto expected = nlohmann::json::parse(in)["tensors"];
  const auto& t = j["tensors"];
  ASSERT_EQ(t.size(), expected.size());
  const std::vector<std::string> dtypes = {"F32", "F32", "I64", "F64"};  // shard/a, b, c, d
  for (size_t i = 0; i < t.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(t[i]["name"], expected[i]["name"]);
    EXPECT_EQ(t[i]["dtype"], dtypes[i]);
    EXPECT_EQ(t[i]["shape"], expected[i]["shape"]);
    const auto v = expected[i]["values"].get<std::vector<double>>();  // all exact in float32 and double
    double sum = 0;
    for (double x : v) sum += x;
    EXPECT_EQ(t[i]["min"].get<double>(), *std::min_element(v.begin(), v.end()));
    EXPECT_EQ(t[i]["max"].get<double>(), *std::max_element(v.begin(), v.end()));
    EXPECT_EQ(t[i]["mean"].get<double>(), sum / static_cast<double>(v.size()));
  }
}

TEST(HlInspectTf, TableByIndexPath) {
  const auto r = test::run_command({HL_INSPECT_PATH, fixture("basic.index")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto size = fs::file_size(fixture("basic.index")) + fs::file_size(fixture("basic.data-00000-of-00001"));
  EXPECT_NE(r.out.find(fixture("basic.index") + ": tf-checkpoint, 35 tensors, " + std::to_string(size) + " bytes\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("im/conv1/weights"), std::string::npos);
  EXPECT_NE(r.out.find("[3, 3, 3, 2, 4]"), std::string::npos);
}

TEST(HlInspectTf, CorruptTensorIsAnErrorNamingTheShard) {
  test::TempDir dir;
  fs::copy_file(fixture("basic.index"), dir.file("basic.index"));
  auto data = test::read_file(fixture("basic.data-00000-of-00001"));
  data[data.size() / 2] ^= 0x40;
  test::write_file(dir.file("basic.data-00000-of-00001"), data);
  const auto r = test::run_command({HL_INSPECT_PATH, dir.file("basic"), fixture("sharded")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hl-inspect: error: " + dir.file("basic.data-00000-of-00001") + ": tensor '"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("CRC-32C mismatch"), std::string::npos) << r.err;
  // The other checkpoint is still inspected.
  EXPECT_NE(r.out.find(fixture("sharded") + ": tf-checkpoint, 4 tensors"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace hl
