#include "nets/mini_xception.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <string>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "kernels/cpu/separable_conv.h"

namespace hl {

namespace {

using json = nlohmann::json;

// One feature map of one image, HWC.
struct Map {
  int64_t h = 0, w = 0, c = 0;
  std::vector<float> d;
};

Map make_map(int64_t h, int64_t w, int64_t c) {
  return Map{h, w, c, std::vector<float>(static_cast<size_t>(h * w * c))};
}

}  // namespace

MiniXception::MiniXception(std::map<std::string, Tensor> tensors, const std::map<std::string, std::string>& metadata,
                           const std::string& name)
    : tensors_(std::move(tensors)) {
  const auto net = metadata.find("hl.net");
  if (net == metadata.end() || net->second != "fer-emotion")
    throw FormatError(name, "not a fer-emotion weight file (metadata hl.net; make it with hl-convert fer-emotion)");
  const auto g = metadata.find("hl.graph");
  const auto e = metadata.find("hl.embedding");
  if (g == metadata.end() || e == metadata.end()) throw FormatError(name, "has no hl.graph or hl.embedding metadata");
  graph_ = json::parse(g->second, nullptr, false);
  embedding_node_ = e->second;
  if (graph_.is_discarded() || !graph_.is_array() || graph_.empty()) throw FormatError(name, "hl.graph is not a list");
  // Dry run of shapes: every node's tensors must exist with the shapes its inputs need,
  // so run() can index without checks. The first node must be the input.
  std::map<std::string, int64_t> ch;
  bool embedding_seen = false;
  for (const json& n : graph_) {
    if (!n.is_object() || !n.contains("name") || !n.contains("op") || !n.contains("inputs"))
      throw FormatError(name, "hl.graph: a node without name, op or inputs");
    const std::string nm = n["name"].get<std::string>(), op = n["op"].get<std::string>();
    std::vector<int64_t> in;
    for (const json& i : n["inputs"]) {
      if (!i.is_string() || !ch.count(i.get<std::string>()))
        throw FormatError(name, "hl.graph: node " + nm + " reads an unknown node");
      in.push_back(ch[i.get<std::string>()]);
    }
    auto need = [&](const std::string& t, const Shape& s) {
      const auto it = tensors_.find(nm + "." + t);
      if (it == tensors_.end() || it->second.shape() != s || it->second.dtype() != DType::F32)
        throw FormatError(name, "tensor " + nm + "." + t + " missing or not f32 " + s.str());
    };
    int64_t c = in.empty() ? 0 : in[0];
    if (op == "input") {
      if (&n != &graph_[0]) throw FormatError(name, "hl.graph: input is not the first node");
      in_h_ = n["height"].get<int64_t>();
      in_w_ = n["width"].get<int64_t>();
      c = n["channels"].get<int64_t>();
      if (c != 1) throw FormatError(name, "the net's input is not one grey channel");
    } else if (op == "conv" || op == "separable_conv") {
      if (in.size() != 1) throw FormatError(name, "hl.graph: " + nm + " needs one input");
      const int64_t kh = n["kernel"][0], kw = n["kernel"][1], f = n["filters"];
      if (op == "conv") {
        need("kernel", Shape{kh, kw, c, f});
      } else {
        need("depthwise", Shape{kh, kw, c, 1});
        need("pointwise", Shape{1, 1, c, f});
      }
      need("bias", Shape{f});
      c = f;
    } else if (op == "add") {
      if (in.size() < 2 || std::any_of(in.begin(), in.end(), [&](int64_t v) { return v != c; }))
        throw FormatError(name, "hl.graph: add " + nm + " of unequal channels");
    } else if (op != "relu" && op != "softmax" && op != "max_pool" && op != "global_avg_pool") {
      throw FormatError(name, "hl.graph: unknown op " + op);
    }
    if (op != "input" && op != "add" && in.size() != 1) throw FormatError(name, "hl.graph: " + nm + " needs one input");
    if (nm == embedding_node_) {
      if (c != kAffectEmbeddingDim) throw FormatError(name, "the embedding node " + nm + " does not have 128 channels");
      embedding_seen = true;
    }
    ch[nm] = c;
  }
  if (!embedding_seen) throw FormatError(name, "hl.embedding names no node of hl.graph");
  if (graph_.back()["op"] != "softmax" || ch[graph_.back()["name"].get<std::string>()] != kEmotionClasses)
    throw FormatError(name, "the graph does not end in a softmax over 7 emotions");
  if (in_h_ < 1 || in_w_ < 1 || in_h_ > 4096 || in_w_ > 4096) throw FormatError(name, "bad input size");
}

MiniXception MiniXception::load(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  std::map<std::string, Tensor> t;
  for (const std::string& n : f.names()) t.emplace(n, f.get(n));
  return MiniXception(std::move(t), f.metadata(), path);
}

MiniXception MiniXception::from_converted(const ConvertResult& converted, const std::string& name) {
  std::map<std::string, Tensor> t(converted.tensors.begin(), converted.tensors.end());
  return MiniXception(std::move(t), converted.metadata, name);
}

AffectOutput MiniXception::run(const std::vector<float>& grey) const {
  if (static_cast<int64_t>(grey.size()) != in_h_ * in_w_)
    throw Error("mini-Xception: input has " + std::to_string(grey.size()) + " values, expected " +
                std::to_string(in_h_ * in_w_));
  std::map<std::string, Map> maps;
  AffectOutput out;
  for (const json& n : graph_) {
    const std::string nm = n["name"].get<std::string>(), op = n["op"].get<std::string>();
    const Map* x = n["inputs"].empty() ? nullptr : &maps.at(n["inputs"][0].get<std::string>());
    Map y;
    if (op == "input") {
      y = Map{in_h_, in_w_, 1, grey};
    } else if (op == "conv" || op == "separable_conv") {
      const bool same = n["padding"] == "same";
      const int64_t kh = n["kernel"][0], kw = n["kernel"][1], sh = n["strides"][0], sw = n["strides"][1];
      const int64_t f = n["filters"];
      const int64_t oh = cpu::keras_pad(x->h, kh, sh, same).out, ow = cpu::keras_pad(x->w, kw, sw, same).out;
      y = make_map(oh, ow, f);
      const float* bias = tensors_.at(nm + ".bias").data<float>();
      if (op == "conv") {
        cpu::conv2d_nhwc(x->d.data(), x->h, x->w, x->c, tensors_.at(nm + ".kernel").data<float>(), kh, kw, f, bias, sh,
                         sw, same, y.d.data(), oh, ow);
      } else {
        // depthwise [oh, ow, c], then the 1x1 pointwise conv with the folded bias.
        Map dw = make_map(oh, ow, x->c);
        cpu::depthwise_conv2d_nhwc(x->d.data(), x->h, x->w, x->c, tensors_.at(nm + ".depthwise").data<float>(), kh, kw,
                                   sh, sw, same, dw.d.data(), oh, ow);
        cpu::conv2d_nhwc(dw.d.data(), oh, ow, x->c, tensors_.at(nm + ".pointwise").data<float>(), 1, 1, f, bias, 1, 1,
                         false, y.d.data(), oh, ow);
      }
      if (n["activation"] == "relu")
        for (float& v : y.d) v = std::max(v, 0.f);
    } else if (op == "relu") {
      y = *x;
      for (float& v : y.d) v = std::max(v, 0.f);
    } else if (op == "max_pool") {
      const bool same = n["padding"] == "same";
      const int64_t ph = n["pool"][0], pw = n["pool"][1], sh = n["strides"][0], sw = n["strides"][1];
      const int64_t oh = cpu::keras_pad(x->h, ph, sh, same).out, ow = cpu::keras_pad(x->w, pw, sw, same).out;
      y = make_map(oh, ow, x->c);
      cpu::max_pool_nhwc(x->d.data(), x->h, x->w, x->c, ph, pw, sh, sw, same, y.d.data(), oh, ow);
    } else if (op == "add") {
      y = *x;
      for (size_t i = 1; i < n["inputs"].size(); ++i) {
        const Map& z = maps.at(n["inputs"][i].get<std::string>());
        if (z.h != y.h || z.w != y.w) throw Error("mini-Xception: add " + nm + " of maps of different sizes");
        for (size_t k = 0; k < y.d.size(); ++k) y.d[k] += z.d[k];
      }
    } else if (op == "global_avg_pool") {
      y = make_map(1, 1, x->c);
      for (int64_t p = 0; p < x->h * x->w; ++p)
        for (int64_t ch = 0; ch < x->c; ++ch) y.d[ch] += x->d[p * x->c + ch];
      for (float& v : y.d) v /= static_cast<float>(x->h * x->w);
    } else if (op == "softmax") {
      y = *x;
      const float m = *std::max_element(y.d.begin(), y.d.end());
      double s = 0;
      for (float& v : y.d) s += (v = std::exp(v - m));
      for (float& v : y.d) v = static_cast<float>(v / s);
    }
    if (nm == embedding_node_) {
      // The affect embedding: global average pool of this block's output [h, w, 128].
      out.embedding.assign(static_cast<size_t>(y.c), 0.f);
      for (int64_t p = 0; p < y.h * y.w; ++p)
        for (int64_t ch = 0; ch < y.c; ++ch) out.embedding[ch] += y.d[p * y.c + ch];
      for (float& v : out.embedding) v /= static_cast<float>(y.h * y.w);
    }
    maps[nm] = std::move(y);
  }
  out.probabilities = maps.at(graph_.back()["name"].get<std::string>()).d;
  return out;
}

}  // namespace hl
