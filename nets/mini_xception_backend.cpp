#include "nets/mini_xception_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <utility>

#include "engine/error.h"
#include "kernels/cpu/separable_conv.h"
#include "nets/cnn_backend_cuda.h"

namespace hl {

// One node's output: convs applied in order (a separable conv: depthwise, pointwise; an
// add: the identity with the second input as residual), a max pool, or a global average
// pool.
struct MiniXceptionOnBackend::Step {
  enum class Kind { Convs, Pool, Gap } kind = Kind::Convs;
  std::string name;
  std::vector<std::string> inputs;  // Convs: x and, for an add, the residual
  std::vector<std::unique_ptr<PreparedLayer>> convs;
  MaxPoolSpec pool;
};

namespace {

using json = nlohmann::json;
using Step = MiniXceptionOnBackend::Step;

struct MapShape {
  int64_t h = 0, w = 0, c = 0;
};

// Keras padding of one axis as a symmetric pad; throws when it is not symmetric.
int64_t symmetric_pad(const std::string& node, int64_t in, int64_t k, int64_t s, bool same, int64_t* out) {
  const cpu::KerasPad p = cpu::keras_pad(in, k, s, same);
  const int64_t total = same ? std::max<int64_t>((p.out - 1) * s + k - in, 0) : 0;
  if (total - p.before != p.before)
    throw Error("mini-Xception on " + node + ": asymmetric \"same\" padding, which the CNN backends cannot run");
  *out = p.out;
  return p.before;
}

Tensor identity_weight(int64_t c) {
  Tensor w = Tensor::zeros({1, 1, c, c}, DType::F32);
  for (int64_t i = 0; i < c; ++i) w.data<float>()[i * c + i] = 1.0f;
  return w;
}

}  // namespace

MiniXceptionOnBackend::MiniXceptionOnBackend(const MiniXception& net, std::unique_ptr<CnnBackend> backend)
    : backend_(std::move(backend)), in_h_(net.in_h_), in_w_(net.in_w_) {
  if (!backend_) throw Error("mini-Xception: no backend");
  CnnBackend& b = *backend_;
  const json& graph = net.graph_;
  // Who reads each node: a conv read only by a ReLU takes the ReLU in.
  std::map<std::string, std::vector<std::string>> readers;
  std::map<std::string, std::string> op_of;
  for (const json& n : graph) {
    op_of[n["name"].get<std::string>()] = n["op"].get<std::string>();
    for (const json& i : n["inputs"]) readers[i.get<std::string>()].push_back(n["name"].get<std::string>());
  }
  std::map<std::string, std::string> alias;  // a folded ReLU -> the conv that applies it
  auto resolve = [&](const std::string& name) {
    const auto it = alias.find(name);
    return it == alias.end() ? name : it->second;
  };
  std::map<std::string, MapShape> shape;
  auto conv_layer = [&](const std::string& name, const Tensor& w, const Tensor& bias, int64_t k, int64_t s,
                        int64_t pad, int64_t c_in, int64_t c_out, bool relu) {
    ConvLayer c;
    c.name = name;
    c.c_in = c_in, c.c_out = c_out, c.kernel = k, c.stride = s, c.pad = pad;
    c.weight = w;
    c.bias = bias;
    c.relu = relu;
    return b.prepare(c);
  };
  for (const json& n : graph) {
    const std::string nm = n["name"].get<std::string>(), op = n["op"].get<std::string>();
    std::vector<std::string> in;
    for (const json& i : n["inputs"]) in.push_back(resolve(i.get<std::string>()));
    if (op == "input") {
      input_node_ = nm;
      shape[nm] = {in_h_, in_w_, 1};
      continue;
    }
    if (op == "softmax") {
      if (&n != &graph.back()) throw Error("mini-Xception: softmax " + nm + " is not the last node");
      output_node_ = in.at(0);
      continue;
    }
    const MapShape x = shape.at(in.at(0));
    Step st;
    st.name = nm;
    st.inputs = {in[0]};
    if (op == "conv" || op == "separable_conv") {
      const bool same = n["padding"] == "same";
      const int64_t kh = n["kernel"][0], kw = n["kernel"][1], sh = n["strides"][0], sw = n["strides"][1];
      const int64_t f = n["filters"];
      if (kh != kw || sh != sw) throw Error("mini-Xception on " + nm + ": a non-square kernel or stride");
      int64_t oh = 0, ow = 0;
      const int64_t pad = symmetric_pad(nm, x.h, kh, sh, same, &oh);
      if (symmetric_pad(nm, x.w, kw, sw, same, &ow) != pad) throw Error("mini-Xception on " + nm + ": unequal pads");
      const auto& r = readers[nm];
      const bool fuse_relu = r.size() == 1 && op_of[r[0]] == "relu";
      const bool relu = fuse_relu || n["activation"] == "relu";
      const Tensor& bias = net.tensors_.at(nm + ".bias");
      if (op == "conv") {
        st.convs.push_back(conv_layer(nm, net.tensors_.at(nm + ".kernel"), bias, kh, sh, pad, x.c, f, relu));
      } else {
        // depthwise [k, k, c, 1] -> dense [k, k, c, c], zero off the diagonal
        const float* dw = net.tensors_.at(nm + ".depthwise").data<float>();
        Tensor dense = Tensor::zeros({kh, kw, x.c, x.c}, DType::F32);
        for (int64_t t = 0; t < kh * kw; ++t)
          for (int64_t c = 0; c < x.c; ++c) dense.data<float>()[(t * x.c + c) * x.c + c] = dw[t * x.c + c];
        st.convs.push_back(conv_layer(nm + " depthwise", dense, Tensor::zeros({x.c}, DType::F32), kh, sh, pad, x.c,
                                      x.c, false));
        st.convs.push_back(conv_layer(nm + " pointwise", net.tensors_.at(nm + ".pointwise"), bias, 1, 1, 0, x.c, f,
                                      relu));
      }
      if (fuse_relu) alias[r[0]] = nm;
      shape[nm] = {oh, ow, f};
    } else if (op == "relu") {
      st.convs.push_back(conv_layer(nm, identity_weight(x.c), Tensor::zeros({x.c}, DType::F32), 1, 1, 0, x.c, x.c,
                                    true));
      shape[nm] = x;
    } else if (op == "add") {
      if (in.size() != 2) throw Error("mini-Xception on " + nm + ": an add of other than two maps");
      st.inputs.push_back(in[1]);
      st.convs.push_back(conv_layer(nm, identity_weight(x.c), Tensor::zeros({x.c}, DType::F32), 1, 1, 0, x.c, x.c,
                                    false));
      shape[nm] = x;
    } else if (op == "max_pool") {
      st.kind = Step::Kind::Pool;
      const bool same = n["padding"] == "same";
      const int64_t ph = n["pool"][0], pw = n["pool"][1], sh = n["strides"][0], sw = n["strides"][1];
      if (ph != pw || sh != sw) throw Error("mini-Xception on " + nm + ": a non-square pool");
      const cpu::KerasPad kh = cpu::keras_pad(x.h, ph, sh, same), kw = cpu::keras_pad(x.w, pw, sw, same);
      if (kh.before != kw.before) throw Error("mini-Xception on " + nm + ": unequal pads");
      st.pool.kernel = ph, st.pool.stride = sh, st.pool.pad = kh.before;
      const Shape want{1, kh.out, kw.out, x.c};
      st.pool.ceil_mode = false;
      if (!(maxpool_output_shape(st.pool, Shape{1, x.h, x.w, x.c}, nm) == want)) st.pool.ceil_mode = true;
      if (!(maxpool_output_shape(st.pool, Shape{1, x.h, x.w, x.c}, nm) == want))
        throw Error("mini-Xception on " + nm + ": a max pool the CNN backends cannot run");
      shape[nm] = {kh.out, kw.out, x.c};
    } else if (op == "global_avg_pool") {
      st.kind = Step::Kind::Gap;
      shape[nm] = {1, 1, x.c};
    } else {
      throw Error("mini-Xception: op " + op + " of " + nm + " has no backend form");
    }
    steps_.push_back(std::move(st));
  }
  embedding_node_ = resolve(net.embedding_node_);
  if (output_node_.empty()) throw Error("mini-Xception: the graph has no softmax");
}

MiniXceptionOnBackend::~MiniXceptionOnBackend() = default;

std::vector<AffectOutput> MiniXceptionOnBackend::run(const std::vector<std::vector<float>>& crops) {
  const int64_t n = static_cast<int64_t>(crops.size());
  if (n == 0) return {};
  const int64_t px = in_h_ * in_w_;
  Tensor host = Tensor::empty({n, in_h_, in_w_, 1}, DType::F32);
  for (int64_t i = 0; i < n; ++i) {
    if (static_cast<int64_t>(crops[i].size()) != px)
      throw Error("mini-Xception: crop " + std::to_string(i) + " has " + std::to_string(crops[i].size()) +
                  " values, expected " + std::to_string(px));
    std::memcpy(host.data<float>() + i * px, crops[i].data(), static_cast<size_t>(px) * sizeof(float));
  }
  const DType dt = backend_->activation_dtype();
  auto activation = [&](const Shape& s) {
    return Tensor(backend_->allocate(static_cast<size_t>(s.numel()) * dtype_size(dt)), 0, s, dt);
  };
  std::map<std::string, Tensor> maps;
  maps[input_node_] = activation(host.shape());
  backend_->upload(host, maps[input_node_]);
  auto get = [&](const std::string& name) -> const Tensor& {
    const auto it = maps.find(name);
    if (it == maps.end()) throw Error("mini-Xception: node " + name + " has not been computed");
    return it->second;
  };
  for (const Step& st : steps_) {
    Tensor x = get(st.inputs[0]);
    if (st.kind == Step::Kind::Pool) {
      Tensor y = activation(maxpool_output_shape(st.pool, x.shape(), st.name));
      backend_->maxpool2d(st.pool, x, y);
      x = y;
    } else if (st.kind == Step::Kind::Gap) {
      Tensor y = activation(Shape{x.size(0), x.size(3)});
      backend_->global_avgpool(x, y);
      x = y;
    } else {
      for (size_t i = 0; i < st.convs.size(); ++i) {
        const ConvLayer& spec = static_cast<const PreparedConv&>(*st.convs[i]).spec;
        Tensor y = activation(conv_output_shape(spec, x.shape()));
        const bool last = i + 1 == st.convs.size();
        const Tensor* residual = last && st.inputs.size() > 1 ? &get(st.inputs[1]) : nullptr;
        backend_->conv2d(*st.convs[i], x, y, 0, residual);
        x = y;
      }
    }
    maps[st.name] = x;
  }
  const Tensor& e = get(embedding_node_);
  Tensor pooled = activation(Shape{n, e.size(3)});
  backend_->global_avgpool(e, pooled);
  const Tensor emb = backend_->download(pooled);
  const Tensor logits = backend_->download(get(output_node_));
  const int64_t classes = logits.numel() / n, dim = emb.numel() / n;
  std::vector<AffectOutput> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    // MiniXception::run's softmax: exp in f32, the sum in double.
    std::vector<float> p(logits.data<float>() + i * classes, logits.data<float>() + (i + 1) * classes);
    const float m = *std::max_element(p.begin(), p.end());
    double s = 0;
    for (float& v : p) s += (v = std::exp(v - m));
    for (float& v : p) v = static_cast<float>(v / s);
    out[i].probabilities = std::move(p);
    out[i].embedding.assign(emb.data<float>() + i * dim, emb.data<float>() + (i + 1) * dim);
  }
  return out;
}

std::unique_ptr<MiniXceptionOnBackend> make_cuda_mini_xception(const MiniXception& net,
                                                               const MiniXceptionCudaOptions& options) {
  CudaCnnOptions o;
  o.device = options.device;
  o.f16 = options.f16;
  return std::make_unique<MiniXceptionOnBackend>(net, make_cuda_cnn_backend(o));
}

std::unique_ptr<MiniXceptionOnBackend> make_cpu_backend_mini_xception(const MiniXception& net) {
  return std::make_unique<MiniXceptionOnBackend>(net, make_cpu_cnn_backend());
}

}  // namespace hl
