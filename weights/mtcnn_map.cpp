#include "weights/mtcnn_map.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "engine/error.h"
#include "weights/torch_file.h"

#ifdef HL_HAVE_LIBZIP
#include <zip.h>
#endif

namespace hl {

namespace {

namespace fs = std::filesystem;

constexpr const char* kNetNames[3] = {"pnet", "rnet", "onet"};
// A published file is < 2 MB; anything far larger is not one and is not inflated.
constexpr uint64_t kMaxEntryBytes = 64ull << 20;

#ifdef HL_HAVE_LIBZIP
// The bytes of entry `name` of the zip archive `wheel` (deflated or stored).
std::vector<uint8_t> read_zip_entry(zip_t* z, const std::string& wheel, const std::string& name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(z, name.c_str(), ZIP_FL_ENC_RAW, &st) != 0)
    throw FormatError(wheel, "has no " + name + " (is it the facenet-pytorch wheel?)");
  if (!(st.valid & ZIP_STAT_SIZE)) throw FormatError(wheel, name + ": the archive does not say its size");
  if (st.size > kMaxEntryBytes)
    throw FormatError(wheel, name + ": " + std::to_string(st.size) + " bytes, more than the " +
                                 std::to_string(kMaxEntryBytes) + " an MTCNN weight file can be");
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
    throw FormatError(wheel, name + " is encrypted");
  zip_file_t* f = zip_fopen(z, name.c_str(), ZIP_FL_ENC_RAW);
  if (!f) throw FormatError(wheel, name + ": cannot open the entry: " + zip_strerror(z));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
  // One byte more than declared is asked for: getting it means the size lied. libzip
  // checks the CRC when the entry has been read to its end.
  std::vector<uint8_t> probe(bytes.size() + 1);
  const zip_int64_t got = zip_fread(f, probe.data(), probe.size());
  const std::string why = got < 0 ? zip_file_strerror(f) : "";
  zip_fclose(f);
  if (got < 0) throw FormatError(wheel, name + ": cannot read the entry: " + why);
  if (static_cast<uint64_t>(got) != st.size)
    throw FormatError(wheel, name + ": " + std::to_string(got) + " bytes inflated, the archive says " +
                                 std::to_string(st.size));
  std::copy(probe.begin(), probe.begin() + static_cast<std::ptrdiff_t>(bytes.size()), bytes.begin());
  return bytes;
}
#endif

MtcnnStateDicts read_wheel(const std::string& path) {
#ifdef HL_HAVE_LIBZIP
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string why = zip_error_strerror(&e);
    zip_error_fini(&e);
    throw FormatError(path, "not a readable zip archive (a wheel is one): " + why);
  }
  MtcnnStateDicts sd;
  sd.source_format = "wheel";
  NamedTensors* dst[3] = {&sd.pnet, &sd.rnet, &sd.onet};
  try {
    for (int i = 0; i < 3; ++i) {
      const std::string entry = std::string("facenet_pytorch/data/") + kNetNames[i] + ".pt";
      const std::vector<uint8_t> bytes = read_zip_entry(z, path, entry);
      *dst[i] = read_torch_bytes(bytes, path + "!" + entry).tensors;
    }
  } catch (...) {
    zip_discard(z);
    throw;
  }
  zip_discard(z);
  return sd;
#else
  throw FormatError(path, "this build has no libzip, so it cannot read a wheel; unpack "
                          "facenet_pytorch/data/ from it and give that folder");
#endif
}

}  // namespace

MtcnnStateDicts read_mtcnn_state_dicts(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    if (!fs::is_regular_file(path, ec)) throw FormatError(path, "no such file or folder");
    return read_wheel(path);
  }
  // The data folder itself, the installed package's folder, or a folder above it.
  fs::path dir = path;
  for (const fs::path& below : {fs::path("data"), fs::path("facenet_pytorch") / "data"})
    if (!fs::exists(dir / "pnet.pt", ec) && fs::exists(dir / below / "pnet.pt", ec)) dir = dir / below;
  MtcnnStateDicts sd;
  sd.source_format = "folder";
  NamedTensors* dst[3] = {&sd.pnet, &sd.rnet, &sd.onet};
  for (int i = 0; i < 3; ++i) {
    const fs::path file = dir / (std::string(kNetNames[i]) + ".pt");
    if (!fs::is_regular_file(file, ec))
      throw FormatError(path, std::string("has no ") + kNetNames[i] +
                                  ".pt (expected facenet-pytorch's pnet.pt, rnet.pt and onet.pt)");
    *dst[i] = read_torch_file(file.string()).tensors;
  }
  return sd;
}

namespace {

// Reorders the input rows of a dense weight already in our [in, out] layout from
// facenet-pytorch's (w, h, c) flattening to our (h, w, c) one (see the header).
Tensor flatten_order_hwc(const Tensor& w_in_out, int64_t h, int64_t w, int64_t c) {
  const int64_t out = w_in_out.size(1);
  Tensor r = Tensor::empty(w_in_out.shape(), DType::F32);
  const float* src = w_in_out.data<float>();
  float* dst = r.data<float>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) {
        const int64_t ours = (y * w + x) * c + k, theirs = (x * h + y) * c + k;
        std::copy(src + theirs * out, src + (theirs + 1) * out, dst + ours * out);
      }
  return r;
}

struct ConvSpec {
  const char* name;
  int64_t c_in, c_out, k;
};
struct DenseSpec {
  const char* name;
  int64_t in;
  int64_t out;
  int64_t flat_h, flat_w, flat_c;  // > 0: a flattened feature map (reordered)
};

// One net's layers, in forward order. PReLU K follows conv/dense K of the same number.
struct NetSpec {
  std::vector<ConvSpec> convs;
  std::vector<DenseSpec> denses;
  std::vector<std::pair<const char*, int64_t>> prelus;
};

NetSpec net_spec(int net) {
  if (net == 0)
    return {{{"conv1", 3, 10, 3},
             {"conv2", 10, 16, 3},
             {"conv3", 16, 32, 3},
             {"conv4_1", 32, 2, 1},
             {"conv4_2", 32, 4, 1}},
            {},
            {{"prelu1", 10}, {"prelu2", 16}, {"prelu3", 32}}};
  if (net == 1)
    return {{{"conv1", 3, 28, 3}, {"conv2", 28, 48, 3}, {"conv3", 48, 64, 2}},
            {{"dense4", 576, 128, 3, 3, 64}, {"dense5_1", 128, 2, 0, 0, 0}, {"dense5_2", 128, 4, 0, 0, 0}},
            {{"prelu1", 28}, {"prelu2", 48}, {"prelu3", 64}, {"prelu4", 128}}};
  return {{{"conv1", 3, 32, 3}, {"conv2", 32, 64, 3}, {"conv3", 64, 64, 3}, {"conv4", 64, 128, 2}},
          {{"dense5", 1152, 256, 3, 3, 128},
           {"dense6_1", 256, 2, 0, 0, 0},
           {"dense6_2", 256, 4, 0, 0, 0},
           {"dense6_3", 256, 10, 0, 0, 0}},
          {{"prelu1", 32}, {"prelu2", 64}, {"prelu3", 64}, {"prelu4", 128}, {"prelu5", 256}}};
}

// Our name of tensor `key` of net `net` ("pnet.conv1.weight").
std::string ours(int net, const std::string& key) { return std::string(kNetNames[net]) + "." + key; }

}  // namespace

ConvertResult convert_mtcnn(const MtcnnStateDicts& sd) {
  std::vector<std::string> problems;
  ConvertResult out;
  const NamedTensors* nets[3] = {&sd.pnet, &sd.rnet, &sd.onet};
  for (int n = 0; n < 3; ++n) {
    std::map<std::string, Tensor> by_key;
    for (const auto& [key, t] : *nets[n])
      if (!by_key.emplace(key, t).second) problems.push_back(ours(n, key) + " is given twice");
    std::set<std::string> used;
    // The tensor `key` as f32 if it has exactly `shape`; records the problem otherwise.
    auto take = [&](const std::string& key, const std::vector<int64_t>& shape) -> Tensor {
      const auto it = by_key.find(key);
      if (it == by_key.end()) {
        problems.push_back(ours(n, key) + " is missing");
        return {};
      }
      used.insert(key);
      const Tensor& t = it->second;
      if (t.shape() != Shape(shape)) {
        problems.push_back(ours(n, key) + " is " + t.shape().str() + ", expected " + Shape(shape).str());
        return {};
      }
      if (!dtype_is_float(t.dtype())) {
        problems.push_back(ours(n, key) + " is " + std::string(dtype_name(t.dtype())) + ", expected a float type");
        return {};
      }
      return t.to(Device::cpu()).cast(DType::F32);
    };
    const NetSpec spec = net_spec(n);
    for (const ConvSpec& c : spec.convs) {
      const Tensor w = take(std::string(c.name) + ".weight", {c.c_out, c.c_in, c.k, c.k});
      const Tensor b = take(std::string(c.name) + ".bias", {c.c_out});
      if (!w.defined() || !b.defined()) continue;
      // OIHW [c_out, c_in, k, k] -> HWIO [k, k, c_in, c_out]
      Tensor hwio = Tensor::empty({c.k, c.k, c.c_in, c.c_out}, DType::F32);
      const float* src = w.data<float>();
      float* dst = hwio.data<float>();
      for (int64_t o = 0; o < c.c_out; ++o)
        for (int64_t i = 0; i < c.c_in; ++i)
          for (int64_t p = 0; p < c.k; ++p)
            for (int64_t q = 0; q < c.k; ++q)
              dst[((p * c.k + q) * c.c_in + i) * c.c_out + o] = src[((o * c.c_in + i) * c.k + p) * c.k + q];
      out.tensors.emplace_back(ours(n, c.name) + ".weight", hwio);
      out.tensors.emplace_back(ours(n, c.name) + ".bias", b.clone());
    }
    for (const auto& [p, ch] : spec.prelus) {
      const Tensor a = take(std::string(p) + ".weight", {ch});
      if (a.defined()) out.tensors.emplace_back(ours(n, p) + ".weight", a.clone());
    }
    for (const DenseSpec& d : spec.denses) {
      const Tensor w = take(std::string(d.name) + ".weight", {d.out, d.in});
      const Tensor b = take(std::string(d.name) + ".bias", {d.out});
      if (!w.defined() || !b.defined()) continue;
      Tensor wt = Tensor::empty({d.in, d.out}, DType::F32);  // [out, in] -> [in, out]
      for (int64_t o = 0; o < d.out; ++o)
        for (int64_t i = 0; i < d.in; ++i) wt.data<float>()[i * d.out + o] = w.data<float>()[o * d.in + i];
      if (d.flat_h > 0) wt = flatten_order_hwc(wt, d.flat_h, d.flat_w, d.flat_c);
      out.tensors.emplace_back(ours(n, d.name) + ".weight", wt);
      out.tensors.emplace_back(ours(n, d.name) + ".bias", b.clone());
    }
    for (const auto& [key, t] : by_key)
      if (!used.count(key)) problems.push_back(ours(n, key) + " is not part of facenet-pytorch's " + kNetNames[n]);
  }
  if (!problems.empty()) {
    std::string message = "the state dicts do not match facenet-pytorch's MTCNN (" +
                          std::to_string(problems.size()) + (problems.size() == 1 ? " problem):" : " problems):");
    for (size_t i = 0; i < problems.size() && i < 20; ++i) message += "\n  " + problems[i];
    if (problems.size() > 20) message += "\n  ... and " + std::to_string(problems.size() - 20) + " more";
    throw Error(message);
  }
  out.metadata = {{"hl.net", "mtcnn"}, {"hl.format_version", "1"}};
  return out;
}

}  // namespace hl
