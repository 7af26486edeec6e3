#include "weights/hdf5_keras.h"

#include <fstream>
#include <algorithm>
#include <iterator>
#include <utility>

#include "engine/error.h"

#ifdef HL_HAVE_HDF5
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#endif

namespace hl {

namespace {

// A published Keras model of this kind is a few MB; larger files are refused unread.
constexpr std::streamoff kMaxFileBytes = 512ll << 20;

#ifdef HL_HAVE_HDF5
// Owns one libhdf5 identifier and closes it with `close` (H5Fclose, H5Gclose, ...).
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// The strings of attribute `attr` of `obj`: a scalar or a 1-d array of fixed-length or
// variable-length strings (h5py writes both kinds).
std::vector<std::string> string_attribute(hid_t obj, const std::string& attr, const std::string& where,
                                          const std::string& file) {
  if (H5Aexists(obj, attr.c_str()) <= 0) throw FormatError(file, where + " has no attribute " + attr);
  Handle a(H5Aopen(obj, attr.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(a.ok() ? H5Aget_type(a.get()) : -1, H5Tclose);
  Handle space(a.ok() ? H5Aget_space(a.get()) : -1, H5Sclose);
  if (!type.ok() || !space.ok()) throw FormatError(file, where + ": cannot open attribute " + attr);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (rank < 0 || rank > 1 || n < 0 || n > (1 << 20))
    throw FormatError(file, where + ": attribute " + attr + " has an unexpected shape");
  std::vector<std::string> out;
  // h5py stores an empty list (a layer without weights) as an empty float array.
  if (n == 0 && rank == 1) return out;
  if (H5Tget_class(type.get()) != H5T_STRING) throw FormatError(file, where + ": attribute " + attr + " is not text");
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    if (n > 0 && H5Aread(a.get(), mem.get(), ptrs.data()) < 0)
      throw FormatError(file, where + ": cannot read attribute " + attr);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    if (n > 0) H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0 || size > (64u << 20) || static_cast<size_t>(n) * size > (64u << 20))
    throw FormatError(file, where + ": attribute " + attr + " is implausibly large");
  std::vector<char> buf(static_cast<size_t>(n) * size);
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), size);
  H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
  if (n > 0 && H5Aread(a.get(), mem.get(), buf.data()) < 0)
    throw FormatError(file, where + ": cannot read attribute " + attr);
  for (hssize_t i = 0; i < n; ++i) {
    const char* s = buf.data() + static_cast<size_t>(i) * size;
    size_t len = 0;
    while (len < size && s[len] != '\0') ++len;
    out.emplace_back(s, len);
  }
  return out;
}

// Dataset `path` under `file_id` as an f32 tensor, after checking that it is a
// little-endian IEEE float32 array of rank 1..4 with a sane element count.
Tensor float_dataset(hid_t file_id, const std::string& path, const std::string& file) {
  if (H5Lexists(file_id, path.c_str(), H5P_DEFAULT) <= 0) throw FormatError(file, "has no dataset " + path);
  Handle d(H5Dopen2(file_id, path.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ok()) throw FormatError(file, path + " is not a readable dataset");
  Handle type(H5Dget_type(d.get()), H5Tclose);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  if (!type.ok() || !space.ok()) throw FormatError(file, path + ": cannot read its type or shape");
  if (H5Tget_class(type.get()) != H5T_FLOAT || H5Tget_size(type.get()) != 4 || H5Tget_order(type.get()) != H5T_ORDER_LE)
    throw FormatError(file, path + ": not float32 (the only type a Keras 2 weight has here)");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1 || rank > 4) throw FormatError(file, path + ": rank " + std::to_string(rank) + ", expected 1 to 4");
  hsize_t dims[4] = {0, 0, 0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] == 0 || dims[i] > static_cast<hsize_t>(kMaxKerasWeightElements))
      throw FormatError(file, path + ": dimension " + std::to_string(dims[i]) + " out of range");
    numel *= static_cast<int64_t>(dims[i]);
    if (numel > kMaxKerasWeightElements) throw FormatError(file, path + ": too many elements");
    shape.push_back(static_cast<int64_t>(dims[i]));
  }
  Tensor t = Tensor::empty(Shape(shape), DType::F32);
  if (H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data<float>()) < 0)
    throw FormatError(file, path + ": cannot read the data (truncated or corrupt file?)");
  return t;
}

std::vector<std::string> inbound_names(const nlohmann::json& layer, const std::string& file) {
  std::vector<std::string> names;
  const auto it = layer.find("inbound_nodes");
  if (it == layer.end() || !it->is_array() || it->empty()) return names;
  const nlohmann::json& node = (*it)[0];
  if (!node.is_array()) throw FormatError(file, "model_config: inbound_nodes of a layer is not a list");
  for (const nlohmann::json& in : node) {
    if (!in.is_array() || in.empty() || !in[0].is_string())
      throw FormatError(file, "model_config: an inbound node entry is not [name, ...]");
    names.push_back(in[0].get<std::string>());
  }
  return names;
}

std::vector<KerasLayer> parse_layers(const std::string& text, const std::string& file) {
  const nlohmann::json cfg = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object()) throw FormatError(file, "model_config is not JSON");
  const auto c = cfg.find("config");
  nlohmann::json layers_json;
  if (c != cfg.end() && c->is_object() && c->contains("layers"))
    layers_json = (*c)["layers"];
  else if (c != cfg.end() && c->is_array())
    layers_json = *c;  // Keras 2 Sequential
  if (!layers_json.is_array()) throw FormatError(file, "model_config has no layer list");
  std::vector<KerasLayer> layers;
  for (const nlohmann::json& l : layers_json) {
    if (!l.is_object() || !l.contains("class_name") || !l["class_name"].is_string() || !l.contains("config") ||
        !l["config"].is_object())
      throw FormatError(file, "model_config: a layer without class_name or config");
    KerasLayer k;
    k.class_name = l["class_name"].get<std::string>();
    k.config = l["config"];
    const auto n = l.find("name");
    if (n != l.end() && n->is_string())
      k.name = n->get<std::string>();
    else if (k.config.contains("name") && k.config["name"].is_string())
      k.name = k.config["name"].get<std::string>();
    else
      throw FormatError(file, "model_config: a " + k.class_name + " layer without a name");
    k.inbound = inbound_names(l, file);
    layers.push_back(std::move(k));
  }
  return layers;
}

KerasModelFile read_open_file(hid_t f, const std::string& file, std::string* config_out) {
  KerasModelFile m;
  m.keras_version = string_attribute(f, "keras_version", "the root group", file).at(0);
  if (H5Aexists(f, "backend") > 0) m.backend = string_attribute(f, "backend", "the root group", file).at(0);
  const std::vector<std::string> config = string_attribute(f, "model_config", "the root group", file);
  if (config.size() != 1) throw FormatError(file, "model_config is not one string");
  m.layers = parse_layers(config[0], file);
  *config_out = config[0];
  if (H5Lexists(f, "model_weights", H5P_DEFAULT) <= 0) throw FormatError(file, "has no model_weights group");
  Handle weights(H5Gopen2(f, "model_weights", H5P_DEFAULT), H5Gclose);
  if (!weights.ok()) throw FormatError(file, "model_weights is not a group");
  for (const KerasLayer& layer : m.layers) {
    if (layer.name.empty() || layer.name.find('/') != std::string::npos || layer.name == "." || layer.name == "..")
      throw FormatError(file, "model_config: invalid layer name \"" + layer.name + "\"");
    if (H5Lexists(weights.get(), layer.name.c_str(), H5P_DEFAULT) <= 0) continue;  // a layer without weights
    Handle g(H5Gopen2(weights.get(), layer.name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!g.ok()) throw FormatError(file, "model_weights/" + layer.name + " is not a group");
    for (const std::string& w : string_attribute(g.get(), "weight_names", "model_weights/" + layer.name, file)) {
      // "conv2d_1_1/kernel:0" -> "kernel"
      std::string base = w.substr(w.rfind('/') == std::string::npos ? 0 : w.rfind('/') + 1);
      if (base.size() > 2 && base.compare(base.size() - 2, 2, ":0") == 0) base.resize(base.size() - 2);
      if (w.empty() || base.empty() || w.find("..") != std::string::npos)
        throw FormatError(file, "model_weights/" + layer.name + ": invalid weight name \"" + w + "\"");
      const std::string key = layer.name + "/" + base;
      if (m.weights.count(key)) throw FormatError(file, "weight " + key + " appears twice");
      m.weights.emplace(key, float_dataset(f, "model_weights/" + layer.name + "/" + w, file));
    }
  }
  return m;
}

// libhdf5 1.10 trusts the offsets inside a file: a corrupt one can crash it (a flipped
// global-heap address did in our tests) or, in principle, make it loop. So the file is
// read in a forked child that sends the model back through a pipe; the parent turns a
// crash, a timeout or an error into a FormatError naming the file.
constexpr unsigned kChildSeconds = 60;
constexpr size_t kMaxReplyBytes = 1ull << 30;

void put_u64(std::string& o, uint64_t v) { o.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& o, const std::string& s) {
  put_u64(o, s.size());
  o += s;
}

// The child's reply: 'K' version backend config n {key rank dims... floats}, or 'E' problem.
std::string serialize(const KerasModelFile& m, const std::string& config) {
  std::string o = "K";
  put_str(o, m.keras_version);
  put_str(o, m.backend);
  put_str(o, config);
  put_u64(o, m.weights.size());
  for (const auto& [key, t] : m.weights) {
    put_str(o, key);
    put_u64(o, static_cast<uint64_t>(t.shape().ndim()));
    for (int i = 0; i < t.shape().ndim(); ++i) put_u64(o, static_cast<uint64_t>(t.size(i)));
    o.append(reinterpret_cast<const char*>(t.data<float>()), t.nbytes());
  }
  return o;
}

class Reply {
 public:
  Reply(const std::string& b, const std::string& file) : b_(b), file_(file) {}
  uint64_t u64() {
    uint64_t v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  std::string str() {
    const uint64_t n = u64();
    return std::string(take(n), n);
  }
  const char* take(uint64_t n) {
    if (n > b_.size() - at_) throw FormatError(file_, "the HDF5 reader process sent a short reply");
    const char* p = b_.data() + at_;
    at_ += n;
    return p;
  }

 private:
  const std::string& b_;
  const std::string& file_;
  size_t at_ = 1;
};

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    done += static_cast<size_t>(w);
  }
}

// In the child: reads the image and returns the reply.
std::string read_in_child(const std::vector<uint8_t>& bytes, const std::string& name) {
  try {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    // H5LTopen_file_image copies the image (flags 0).
    std::vector<uint8_t> image = bytes;
    Handle f(H5LTopen_file_image(image.data(), image.size(), 0), H5Fclose);
    if (!f.ok()) return "E" + std::string("libhdf5 cannot open it (truncated or corrupt HDF5 file?)");
    std::string config;
    const KerasModelFile m = read_open_file(f.get(), name, &config);
    return serialize(m, config);
  } catch (const FormatError& e) {
    return "E" + e.problem();
  } catch (const nlohmann::json::exception& e) {
    return "E" + std::string("model_config: ") + e.what();
  } catch (const std::exception& e) {
    return "E" + std::string(e.what());
  }
}
#endif

}  // namespace

KerasModelFile read_keras_hdf5_bytes(const std::vector<uint8_t>& bytes, const std::string& name) {
#ifdef HL_HAVE_HDF5
  // libhdf5 would print its error stack to stderr; our messages say what went wrong.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  static const uint8_t kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8 || !std::equal(kSignature, kSignature + 8, bytes.begin()))
    throw FormatError(name, "not an HDF5 file (no HDF5 signature at its start)");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(name + ": cannot create a pipe: " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(name + ": cannot start the HDF5 reader process: " + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::signal(SIGALRM, SIG_DFL);  // an inherited handler or SIG_IGN would defeat the alarm
    ::alarm(kChildSeconds);          // a looping libhdf5 is killed by SIGALRM
    write_all(fds[1], read_in_child(bytes, name));
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string reply;
  char buf[1 << 16];
  bool too_long = false;
  for (;;) {
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (reply.size() + static_cast<size_t>(r) > kMaxReplyBytes) {
      too_long = true;
      ::kill(pid, SIGKILL);
      break;
    }
    reply.append(buf, static_cast<size_t>(r));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (too_long) throw FormatError(name, "the model's weights are implausibly large");
  if (WIFSIGNALED(status))
    throw FormatError(
        name,
        WTERMSIG(status) == SIGALRM
            ? "libhdf5 did not finish reading it in " + std::to_string(kChildSeconds) + " s (corrupt HDF5 file?)"
            : "libhdf5 crashed reading it (signal " + std::to_string(WTERMSIG(status)) + "): a corrupt HDF5 file");
  // A sanitizer build's child reports the crash itself and exits non-zero instead.
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw FormatError(name, "the HDF5 reader process exited with status " + std::to_string(WEXITSTATUS(status)) +
                                " (libhdf5 crashed on a corrupt HDF5 file?)");
  if (!WIFEXITED(status) || reply.empty()) throw FormatError(name, "the HDF5 reader process failed");
  if (reply[0] == 'E') throw FormatError(name, reply.substr(1));
  Reply in(reply, name);
  KerasModelFile m;
  m.keras_version = in.str();
  m.backend = in.str();
  m.layers = parse_layers(in.str(), name);
  const uint64_t n = in.u64();
  for (uint64_t i = 0; i < n; ++i) {
    const std::string key = in.str();
    const uint64_t rank = in.u64();
    if (rank < 1 || rank > 4) throw FormatError(name, "the HDF5 reader process sent a bad reply");
    std::vector<int64_t> shape;
    for (uint64_t d = 0; d < rank; ++d) shape.push_back(static_cast<int64_t>(in.u64()));
    Tensor t = Tensor::empty(Shape(shape), DType::F32);
    std::memcpy(t.data<float>(), in.take(t.nbytes()), t.nbytes());
    m.weights.emplace(key, std::move(t));
  }
  return m;
#else
  (void)bytes;
  throw FormatError(name, "this build has no libhdf5 (Debian: libhdf5-dev), so it cannot read Keras HDF5 files");
#endif
}

KerasModelFile read_keras_hdf5_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(path, "cannot open the file");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0 || size > kMaxFileBytes) throw FormatError(path, "cannot read the file, or it is far too large");
  in.seekg(0);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw FormatError(path, "cannot read the file");
  return read_keras_hdf5_bytes(bytes, path);
}

}  // namespace hl
