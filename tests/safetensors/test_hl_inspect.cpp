// hl-inspect run as a user runs it: the built binary (HL_INSPECT_PATH) on files this test
// writes, checking exit codes, the table, the JSON and the error messages. Expected
// statistics are computed here, independently of the tool.
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "kernels/common/half.h"
#include "st_test_util.h"
#include "support/test_support.h"

namespace hl {
namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  const auto b = test::read_file(path);
  return {b.begin(), b.end()};
}

Result run_inspect(const test::TempDir& dir, const std::vector<std::string>& args) {
  std::string cmd = quote(HL_INSPECT_PATH);
  for (const auto& a : args) cmd += " " + quote(a);
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  cmd += " >" + quote(out) + " 2>" + quote(err);
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// weights: f32 [2, 3] with a NaN and an Inf; ids: i64 with values beyond 2^53;
// half: bf16; flags: u8; none: f32 [0].
const std::vector<float> kWeights = {-1.5f, 2.0f, 3.25f, NAN, INFINITY, 0.5f};
const std::vector<int64_t> kIds = {-(int64_t{1} << 62) - 1, 5, (int64_t{1} << 60) + 3};

std::string write_good_file(const test::TempDir& dir) {
  const std::string path = dir.file("good.safetensors");
  Tensor ids = Tensor::empty(Shape{3}, DType::I64);
  std::copy(kIds.begin(), kIds.end(), ids.data<int64_t>());
  Tensor half = Tensor::empty(Shape{2}, DType::BF16);
  half.data<uint16_t>()[0] = f32_to_bf16_bits(0.25f);
  half.data<uint16_t>()[1] = f32_to_bf16_bits(-8.0f);
  Tensor flags = Tensor::empty(Shape{4}, DType::U8);
  for (int i = 0; i < 4; ++i) flags.data<uint8_t>()[i] = static_cast<uint8_t>(10 * i);
  write_safetensors(path,
                    {{"weights", Tensor::from_vector(Shape{2, 3}, kWeights)},
                     {"ids", ids},
                     {"half", half},
                     {"flags", flags},
                     {"none", Tensor::empty(Shape{0}, DType::F32)}},
                    {{"fps", "29.97"}, {"source", "test"}});
  return path;
}

// min, max and mean of the finite values, in double.
struct Expected {
  double min = INFINITY, max = -INFINITY, mean = 0;
};
Expected finite_stats(const std::vector<double>& values) {
  Expected e;
  double sum = 0;
  int n = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    e.min = std::min(e.min, v);
    e.max = std::max(e.max, v);
    sum += v;
    ++n;
  }
  e.mean = sum / n;
  return e;
}

TEST(HlInspect, TableShowsEveryTensorAndMetadata) {
  test::TempDir dir;
  const std::string path = write_good_file(dir);
  const Result r = run_inspect(dir, {path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(contains(r.out, path + ": safetensors, 5 tensors")) << r.out;
  EXPECT_TRUE(contains(r.out, "fps")) << r.out;
  EXPECT_TRUE(contains(r.out, "29.97")) << r.out;
  for (const char* name : {"weights", "ids", "half", "flags", "none"}) EXPECT_TRUE(contains(r.out, name)) << name;
  EXPECT_TRUE(contains(r.out, "[2, 3]")) << r.out;
  // weights: finite values -1.5, 2, 3.25, 0.5 -> min -1.5, max 3.25, mean 1.0625.
  const Expected w = finite_stats({kWeights.begin(), kWeights.end()});
  EXPECT_EQ(w.mean, 1.0625);
  std::string weights_line;
  for (size_t p = 0, q; p < r.out.size(); p = q + 1) {
    q = r.out.find('\n', p);
    if (q == std::string::npos) q = r.out.size();
    if (r.out.compare(p, 8, "weights ") == 0) weights_line = r.out.substr(p, q - p);
  }
  ASSERT_FALSE(weights_line.empty()) << r.out;
  for (const char* part : {"F32", "-1.5", "3.25", "1.0625"}) EXPECT_TRUE(contains(weights_line, part)) << weights_line;
  // One NaN and one Inf are counted, in the last two columns (nan, inf).
  std::istringstream tokens(weights_line);
  std::vector<std::string> words{std::istream_iterator<std::string>(tokens), std::istream_iterator<std::string>()};
  ASSERT_GE(words.size(), 2u);
  EXPECT_EQ(words[words.size() - 2], "1") << weights_line;
  EXPECT_EQ(words[words.size() - 1], "1") << weights_line;
  EXPECT_TRUE(contains(r.out.substr(0, r.out.find('\n', r.out.find("name")) + 1), "nan")) << r.out;
  // I64 extremes are printed exactly, not rounded through a double.
  EXPECT_TRUE(contains(r.out, std::to_string(kIds[0]))) << r.out;
  EXPECT_TRUE(contains(r.out, std::to_string(kIds[2]))) << r.out;
}

TEST(HlInspect, JsonIsMachineReadable) {
  test::TempDir dir;
  const std::string path = write_good_file(dir);
  const Result r = run_inspect(dir, {"--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["file"], path);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["metadata"]["fps"], "29.97");
  EXPECT_EQ(j["metadata"]["source"], "test");
  ASSERT_EQ(j["tensors"].size(), 5u);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& t : j["tensors"]) by_name[t["name"].get<std::string>()] = t;

  const auto& w = by_name.at("weights");
  const Expected ew = finite_stats({kWeights.begin(), kWeights.end()});
  EXPECT_EQ(w["dtype"], "F32");
  EXPECT_EQ(w["shape"], nlohmann::json::array({2, 3}));
  EXPECT_DOUBLE_EQ(w["min"].get<double>(), ew.min);
  EXPECT_DOUBLE_EQ(w["max"].get<double>(), ew.max);
  EXPECT_DOUBLE_EQ(w["mean"].get<double>(), ew.mean);
  EXPECT_EQ(w["nan_count"], 1);
  EXPECT_EQ(w["inf_count"], 1);

  const auto& ids = by_name.at("ids");
  EXPECT_EQ(ids["min"].get<int64_t>(), kIds[0]);
  EXPECT_EQ(ids["max"].get<int64_t>(), kIds[2]);
  const long double ids_mean = (static_cast<long double>(kIds[0]) + kIds[1] + kIds[2]) / 3;
  EXPECT_NEAR(ids["mean"].get<double>(), static_cast<double>(ids_mean), 1e-12 * std::fabs(static_cast<double>(ids_mean)));

  const auto& half = by_name.at("half");
  EXPECT_EQ(half["dtype"], "BF16");
  EXPECT_DOUBLE_EQ(half["min"].get<double>(), -8.0);
  EXPECT_DOUBLE_EQ(half["max"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(half["mean"].get<double>(), -3.875);

  const auto& flags = by_name.at("flags");
  EXPECT_EQ(flags["min"], 0);
  EXPECT_EQ(flags["max"], 30);
  EXPECT_DOUBLE_EQ(flags["mean"].get<double>(), 15.0);

  const auto& none = by_name.at("none");
  EXPECT_EQ(none["shape"], nlohmann::json::array({0}));
  EXPECT_TRUE(none["min"].is_null());
  EXPECT_TRUE(none["mean"].is_null());
  EXPECT_EQ(none["nan_count"], 0);
}

TEST(HlInspect, DtypesWithoutATensorTypeAreStillShown) {
  // F64 and BOOL are decoded for statistics; F4 (packed) is listed with "-".
  test::TempDir dir;
  const std::string path = dir.file("other.safetensors");
  const std::string header =
      R"({"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]},)"
      R"("p":{"dtype":"F4","shape":[2],"data_offsets":[19,20]}})";
  const double d[2] = {-0.125, 1e300};
  std::vector<uint8_t> data(reinterpret_cast<const uint8_t*>(d), reinterpret_cast<const uint8_t*>(d) + 16);
  data.insert(data.end(), {1, 0, 1, 0x12});
  test::write_file(path, test::st_file(header, data));
  const Result r = run_inspect(dir, {"--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& t : j["tensors"]) by_name[t["name"].get<std::string>()] = t;
  EXPECT_DOUBLE_EQ(by_name["d"]["min"].get<double>(), -0.125);
  EXPECT_DOUBLE_EQ(by_name["d"]["max"].get<double>(), 1e300);
  EXPECT_EQ(by_name["b"]["max"], 1);
  EXPECT_DOUBLE_EQ(by_name["b"]["mean"].get<double>(), 2.0 / 3.0);
  EXPECT_TRUE(by_name["p"]["min"].is_null());
  EXPECT_TRUE(by_name["p"]["nan_count"].is_null());
}

TEST(HlInspect, BadFileNamesTheFileAndTheProblem) {
  test::TempDir dir;
  const std::string truncated = dir.file("truncated.safetensors");
  test::write_file(truncated, std::vector<uint8_t>{0x10, 0, 0});
  Result r = run_inspect(dir, {truncated});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "hl-inspect: error: " + truncated + ": file is 3 bytes: too short")) << r.err;

  const std::string gap = dir.file("gap.safetensors");
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})";
  test::write_file(gap, test::st_file(header, std::vector<uint8_t>(6)));
  r = run_inspect(dir, {"--json", gap});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "hl-inspect: error: " + gap + ": gap of 2 bytes between tensors 'a' and 'b'")) << r.err;

  r = run_inspect(dir, {dir.file("missing.safetensors")});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, dir.file("missing.safetensors") + ": cannot open: No such file or directory")) << r.err;
}

TEST(HlInspect, UnsupportedFormatsSayWhatIsSupported) {
  test::TempDir dir;
  const std::string npy = dir.file("array.npy");
  test::write_file(npy, std::vector<uint8_t>{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0});
  Result r = run_inspect(dir, {npy});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, npy + ": this looks like a NumPy .npy file")) << r.err;
  EXPECT_TRUE(contains(r.err, "supported formats: safetensors")) << r.err;

  const std::string text = dir.file("notes.txt");
  test::write_file(text, std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'});
  r = run_inspect(dir, {text});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, text + ": unknown file format; supported formats: safetensors")) << r.err;
}

TEST(HlInspect, GoodFilesAreShownEvenWhenAnotherIsBad) {
  test::TempDir dir;
  const std::string good = write_good_file(dir);
  const std::string bad = dir.file("bad.safetensors");
  test::write_file(bad, std::vector<uint8_t>{1});
  const Result r = run_inspect(dir, {bad, good});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.out, "weights")) << r.out;
  EXPECT_TRUE(contains(r.err, bad + ": file is 1 byte: too short")) << r.err;
}

TEST(HlInspect, UsageHelpAndVersion) {
  test::TempDir dir;
  Result r = run_inspect(dir, {});
  EXPECT_EQ(r.code, 2) << "a missing FILE is a usage error";
  EXPECT_TRUE(contains(r.err, "hl-inspect: error: ")) << r.err;
  EXPECT_TRUE(contains(r.err, "--help")) << r.err;

  r = run_inspect(dir, {"--no-such-option", "x"});
  EXPECT_EQ(r.code, 2);

  r = run_inspect(dir, {"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* part : {"FILE", "--json", "--log-level", "--version", "safetensors"})
    EXPECT_TRUE(contains(r.out, part)) << part << " missing from --help:\n" << r.out;

  r = run_inspect(dir, {"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "hl-inspect ")) << r.out;

  r = run_inspect(dir, {"--log-level", "loud", "x"});
  EXPECT_EQ(r.code, 2) << r.err;
}

}  // namespace
}  // namespace hl
