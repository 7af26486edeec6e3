// The parameter set every trainable network shares (nets/parameter_set.h): the registry's
// order and lookup, the errors for an unknown or repeated name, initialisation offsets
// against a 64-bit FNV-1a written out here from its published definition (Fowler, Noll,
// Vo: offset basis 14695981039346656037; per byte, xor it in, then multiply by the prime
// 1099511628211 mod 2^64) and its published test vectors, the models' initial values at
// those offsets, model files (round trip, missing, mistyped and unexpected tensors) and
// the metadata readers' errors.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "engine/float_text.h"
#include "engine/optim/init.h"
#include "engine/safetensors.h"
#include "nets/highlight_model.h"
#include "nets/parameter_set.h"
#include "nets/vasnet.h"
#include "support/test_support.h"

namespace hl {
namespace {

uint64_t fnv1a_written_out(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// Rounded down to a multiple of 2^32 Philox words.
uint64_t expected_offset(const std::string& name) { return fnv1a_written_out(name) / (1ull << 32) * (1ull << 32); }

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()) == 0;
}

std::vector<float> values(const ag::Variable& v) {
  return {v.value().data<float>(), v.value().data<float>() + v.value().numel()};
}

TEST(ParameterSet, KeepsTheOrderOfAddAndLooksUpByName) {
  ParameterSet set("test net", uint64_t{3});
  const ag::Variable b = set.add("b.kernel", Shape{3, 2}, initialiser::glorot_uniform());
  const ag::Variable a = set.add("a.bias", Shape{2}, initialiser::zeros());
  const ag::Variable c = set.add("c.gain", Shape{4}, initialiser::constant(1.5f));

  const std::vector<NamedParameter>& named = set.named_parameters();
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[0].name, "b.kernel");  // the order of add(), not of the names
  EXPECT_EQ(named[1].name, "a.bias");
  EXPECT_EQ(named[2].name, "c.gain");
  EXPECT_EQ(named[0].value.shape().vec(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(named[1].value.shape().vec(), (std::vector<int64_t>{2}));
  EXPECT_EQ(named[2].value.shape().vec(), (std::vector<int64_t>{4}));
  for (const NamedParameter& p : named) {
    EXPECT_TRUE(p.value.requires_grad()) << p.name;
    EXPECT_TRUE(p.value.is_leaf()) << p.name;
  }
  // add(), named_parameters(), parameters() and parameter() hand out the same Variables.
  const std::vector<ag::Variable> plain = set.parameters();
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0].data(), b.data());
  EXPECT_EQ(plain[1].data(), a.data());
  EXPECT_EQ(plain[2].data(), c.data());
  EXPECT_EQ(set.parameter("a.bias").data(), a.data());
  EXPECT_EQ(set.parameter("c.gain").data(), named[2].value.data());
  EXPECT_EQ(set.parameter_count(), 3 * 2 + 2 + 4);

  EXPECT_EQ(values(a), std::vector<float>(2, 0.0f));
  EXPECT_EQ(values(c), std::vector<float>(4, 1.5f));
  EXPECT_TRUE(same_bits(b.value(), optim::glorot_uniform(Shape{3, 2}, 3, expected_offset("b.kernel"))));
}

TEST(ParameterSet, UnknownAndRepeatedNamesAreErrors) {
  ParameterSet set("test net", uint64_t{1});
  set.add("w", Shape{2}, initialiser::constant(2.0f));
  EXPECT_EQ(test::error_of([&] { (void)set.parameter("v"); }), "test net has no parameter 'v'");
  EXPECT_EQ(test::error_of([&] { set.add("w", Shape{5}, initialiser::zeros()); }),
            "test net already has a parameter 'w'");
  EXPECT_EQ(test::error_of([&] { set.add("", Shape{5}, initialiser::zeros()); }), "test net: a parameter needs a name");
  // The failed adds left the set as it was.
  ASSERT_EQ(set.named_parameters().size(), 1u);
  EXPECT_EQ(values(set.parameter("w")), std::vector<float>(2, 2.0f));
  EXPECT_EQ(set.parameter_count(), 2);
}

TEST(ParameterSet, InitialisersAreCheckedAgainstTheirShape) {
  ParameterSet set("test net", uint64_t{1});
  EXPECT_NE(test::error_of([&] { set.add("r", Shape{2, 3, 4}, initialiser::orthogonal()); }).find("is not [rows, cols]"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { set.add("l", Shape{6}, initialiser::lstm_bias(true)); }).find("is not [4h]"),
            std::string::npos);
  const Initialiser wrong = [](const Shape&, uint64_t, uint64_t) { return Tensor::zeros(Shape{3}, DType::F32); };
  EXPECT_EQ(test::error_of([&] { set.add("x", Shape{2}, wrong); }),
            "test net: the initialiser of 'x' made f32[3] on cpu; expected f32[2]");
  EXPECT_TRUE(set.named_parameters().empty());
  // lstm_bias: gate order i, f, g, o; the forget block at 1 only when asked.
  const ag::Variable with = set.add("with", Shape{8}, initialiser::lstm_bias(true));
  const ag::Variable without = set.add("without", Shape{8}, initialiser::lstm_bias(false));
  EXPECT_EQ(values(with), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(values(without), std::vector<float>(8, 0.0f));
}

TEST(ParameterSet, OffsetsAreTheNamesFnv1aRoundedDownTo2To32Words) {
  // The published FNV-1a 64 test vectors, through the loop written out above.
  EXPECT_EQ(fnv1a_written_out(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a_written_out("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a_written_out("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(parameter_init_offset(""), 0xcbf29ce400000000ull);
  EXPECT_EQ(parameter_init_offset("a"), 0xaf63dc4c00000000ull);
  EXPECT_EQ(parameter_init_offset("foobar"), 0x8594417100000000ull);
  for (const std::string name : {"googlenet.dense.kernel", "cam.conv.kernel", "mfcc.conv2.kernel",
                                 "bilstm.forward.kernel", "bilstm.backward.recurrent_kernel", "head.dense2.kernel",
                                 "attention.key.kernel", "dense2.kernel", "norm1.gain"})
    EXPECT_EQ(parameter_init_offset(name), expected_offset(name)) << name;

  // add() hands the initialiser the set's seed and the name's offset; without a seed the
  // initialiser is not called and the parameter starts at zero.
  struct Call {
    Shape shape;
    uint64_t seed = 0, offset = 0;
  };
  std::vector<Call> calls;
  const Initialiser recording = [&](const Shape& shape, uint64_t seed, uint64_t offset) {
    calls.push_back({shape, seed, offset});
    return initialiser::constant(7.0f)(shape, seed, offset);
  };
  ParameterSet seeded("seeded", uint64_t{42});
  seeded.add("attention.query.kernel", Shape{2, 3}, recording);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].shape, (Shape{2, 3}));
  EXPECT_EQ(calls[0].seed, 42u);
  EXPECT_EQ(calls[0].offset, expected_offset("attention.query.kernel"));
  EXPECT_EQ(values(seeded.parameter("attention.query.kernel")), std::vector<float>(6, 7.0f));

  ParameterSet to_load("to load", std::nullopt);
  to_load.add("attention.query.kernel", Shape{2, 3}, recording);
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(values(to_load.parameter("attention.query.kernel")), std::vector<float>(6, 0.0f));
}

TEST(ParameterSet, ModelsDrawEachKernelAtItsNamesOffset) {
  // The initial values of both models, rebuilt here from the initialisers of
  // engine/optim/init.h at the offsets computed above.
  const uint64_t seed = 11;
  const HighlightModel model(HighlightModelConfig::paper(all_features()), seed);
  int kernels = 0;
  for (const NamedParameter& p : model.named_parameters()) {
    const Tensor& v = p.value.value();
    Tensor want;
    if (p.name.ends_with(".recurrent_kernel"))
      want = optim::orthogonal(v.size(0), v.size(1), seed, expected_offset(p.name));
    else if (p.name.ends_with(".kernel"))
      want = optim::glorot_uniform(v.shape(), seed, expected_offset(p.name));
    else
      want = Tensor::zeros(v.shape(), DType::F32);  // biases (unit_forget_bias is off)
    EXPECT_TRUE(same_bits(v, want)) << p.name;
    kernels += p.name.ends_with("kernel");
  }
  EXPECT_EQ(kernels, 13);  // googlenet, places365, affect 1 each, cam 2, mfcc 2; BiLSTM 2 x 2; head 2

  VasnetConfig config;
  config.input = 16;
  const Vasnet vasnet(config, seed);
  for (const NamedParameter& p : vasnet.named_parameters()) {
    if (!p.name.ends_with(".kernel")) continue;
    Tensor want = optim::glorot_uniform(p.value.shape(), seed, expected_offset(p.name));
    for (int64_t i = 0; i < want.numel(); ++i) want.data<float>()[i] *= config.kernel_gain;
    EXPECT_TRUE(same_bits(p.value.value(), want)) << p.name;
  }
}

TEST(ParameterSet, FilesRoundTripAndNameWhatIsWrong) {
  test::TempDir dir;
  ParameterSet set("test net", uint64_t{5});
  set.add("w.kernel", Shape{3, 2}, initialiser::glorot_uniform());
  set.add("w.bias", Shape{2}, initialiser::constant(0.25f));
  const std::vector<std::pair<std::string, Tensor>> stats = {
      {"stats.mean", Tensor::from_vector(Shape{2}, std::vector<float>{1, 2})}};
  const std::string path = dir.file("set.safetensors");
  set.save(path, {{"format", "test"}}, {{"fold", "2"}}, "test", stats);

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"w.kernel", "w.bias", "stats.mean"}));
  EXPECT_EQ(file.metadata().at("format"), "test");
  EXPECT_EQ(file.metadata().at("fold"), "2");
  auto missing = [](const std::string& n) { return "no '" + n + "' here"; };
  auto unexpected = [](const std::string& n) { return "'" + n + "' is not ours"; };
  ParameterSet loaded("test net", std::nullopt);
  loaded.add("w.kernel", Shape{3, 2}, initialiser::glorot_uniform());
  loaded.add("w.bias", Shape{2}, initialiser::zeros());
  loaded.load(file, path, missing, unexpected, {"stats.mean"});
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(same_bits(loaded.named_parameters()[i].value.value(), set.named_parameters()[i].value.value()));
  // The loaded values are copies that training may update in place.
  ag::Variable writable = loaded.parameter("w.bias");
  writable.value_mut().data<float>()[0] = 9.0f;

  EXPECT_EQ(test::error_of([&] { set.save(dir.file("x.safetensors"), {{"format", "test"}}, {{"format", "y"}}, "test"); }),
            "saving " + dir.file("x.safetensors") + ": extra metadata key 'format' is part of the test configuration");
  // The statistics tensor is not declared: unexpected.
  EXPECT_EQ(test::error_of([&] { loaded.load(file, path, missing, unexpected); }), path + ": 'stats.mean' is not ours");
  ParameterSet more("test net", std::nullopt);
  more.add("w.kernel", Shape{3, 2}, initialiser::zeros());
  more.add("w.bias", Shape{2}, initialiser::zeros());
  more.add("w.gain", Shape{2}, initialiser::zeros());
  EXPECT_EQ(test::error_of([&] { more.load(file, path, missing, unexpected, {"stats.mean"}); }),
            path + ": no 'w.gain' here");
  ParameterSet other_shape("test net", std::nullopt);
  other_shape.add("w.kernel", Shape{2, 3}, initialiser::zeros());
  EXPECT_EQ(test::error_of([&] { other_shape.load(file, path, missing, unexpected, {"stats.mean", "w.bias"}); }),
            path + ": tensor 'w.kernel' is F32[3, 2]; expected F32[2, 3]");
}

TEST(MetadataReader, ReadsKeysAndNamesTheFileAndKeyInErrors) {
  const std::map<std::string, std::string> m = {{"n", "12"},        {"bad_n", "12x"}, {"x", "0.5"},
                                                {"bad_x", "half"},   {"t", "true"},    {"f", "false"},
                                                {"bad_b", "yes"},    {"big", "99999999999999999999"}};
  const MetadataReader meta(m, "model.safetensors", "test");
  EXPECT_EQ(meta.integer("n"), 12);
  EXPECT_EQ(meta.real("x"), 0.5f);
  EXPECT_TRUE(meta.boolean("t"));
  EXPECT_FALSE(meta.boolean("f"));
  EXPECT_EQ(meta.required("bad_x"), "half");
  EXPECT_TRUE(meta.has("n"));
  EXPECT_FALSE(meta.has("absent"));
  EXPECT_EQ(meta.optional("absent"), std::nullopt);
  EXPECT_EQ(meta.optional("bad_b"), "yes");

  EXPECT_EQ(test::error_of([&] { (void)meta.required("absent"); }), "model.safetensors: the test metadata has no 'absent'");
  EXPECT_EQ(test::error_of([&] { (void)meta.integer("absent"); }), "model.safetensors: the test metadata has no 'absent'");
  EXPECT_EQ(test::error_of([&] { (void)meta.integer("bad_n"); }),
            "model.safetensors: test metadata 'bad_n' is '12x', not a number");
  EXPECT_EQ(test::error_of([&] { (void)meta.integer("x"); }),
            "model.safetensors: test metadata 'x' is '0.5', not a number");
  EXPECT_EQ(test::error_of([&] { (void)meta.integer("big"); }),
            "model.safetensors: test metadata 'big' is '99999999999999999999', not a number");
  EXPECT_EQ(test::error_of([&] { (void)meta.real("bad_x"); }),
            "model.safetensors: test metadata 'bad_x' is 'half', not a number");
  EXPECT_EQ(test::error_of([&] { (void)meta.boolean("bad_b"); }),
            "model.safetensors: test metadata 'bad_b' is 'yes', not true or false");
}

TEST(MetadataReader, ParsesWholeNumbersOnly) {
  EXPECT_EQ(parse_integer("-7"), -7);
  EXPECT_EQ(parse_integer("9223372036854775807"), std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", " 1", "1 ", "+1", "1.0", "1e3", "0x10", "9223372036854775808"})
    EXPECT_EQ(parse_integer(bad), std::nullopt) << "'" << bad << "'";
  EXPECT_EQ(parse_float("1e3"), 1000.0f);
  EXPECT_EQ(parse_float("-0.25"), -0.25f);
  for (const char* bad : {"", " 1", "1 ", "+1", "0.5f", "1e99", "half"})
    EXPECT_EQ(parse_float(bad), std::nullopt) << "'" << bad << "'";
  // float_text writes the shortest text that reads back as the same float.
  for (const float v : {0.1f, 0.2f, 1e-6f, 1.41421356f, 3.4028235e38f, -1.17549435e-38f})
    EXPECT_EQ(parse_float(float_text(v)), v) << float_text(v);
}

}  // namespace
}  // namespace hl
