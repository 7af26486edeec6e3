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
  // The graph once more, now known to be sound, as nodes with their map sizes.
  std::map<std::string, int> index;
  for (const json& n : graph_) {
    const std::string nm = n["name"].get<std::string>(), op = n["op"].get<std::string>();
    Node node;
    for (const json& i : n["inputs"]) node.inputs.push_back(index.at(i.get<std::string>()));
    const Node* x = node.inputs.empty() ? nullptr : &nodes_[static_cast<size_t>(node.inputs[0])];
    if (op == "input") {
      node.op = Node::Op::Input;
      node.h = in_h_, node.w = in_w_, node.c = 1;
    } else if (op == "conv" || op == "separable_conv") {
      node.op = op == "conv" ? Node::Op::Conv : Node::Op::SeparableConv;
      node.same = n["padding"] == "same";
      node.kh = n["kernel"][0], node.kw = n["kernel"][1], node.sh = n["strides"][0], node.sw = n["strides"][1];
      node.h = cpu::keras_pad(x->h, node.kh, node.sh, node.same).out;
      node.w = cpu::keras_pad(x->w, node.kw, node.sw, node.same).out;
      node.c = n["filters"];
      node.relu = n["activation"] == "relu";
      node.bias = tensors_.at(nm + ".bias");
      if (op == "conv") {
        node.kernel = tensors_.at(nm + ".kernel");
      } else {
        node.depthwise = tensors_.at(nm + ".depthwise");
        node.pointwise = tensors_.at(nm + ".pointwise");
      }
    } else if (op == "max_pool") {
      node.op = Node::Op::MaxPool;
      node.same = n["padding"] == "same";
      node.kh = n["pool"][0], node.kw = n["pool"][1], node.sh = n["strides"][0], node.sw = n["strides"][1];
      node.h = cpu::keras_pad(x->h, node.kh, node.sh, node.same).out;
      node.w = cpu::keras_pad(x->w, node.kw, node.sw, node.same).out;
      node.c = x->c;
    } else {
      node.op = op == "relu" ? Node::Op::Relu
                : op == "add" ? Node::Op::Add
                : op == "global_avg_pool" ? Node::Op::GlobalAvgPool
                              : Node::Op::Softmax;
      node.h = op == "global_avg_pool" ? 1 : x->h;
      node.w = op == "global_avg_pool" ? 1 : x->w;
      node.c = x->c;
      if (node.op == Node::Op::Add)
        for (int i : node.inputs)
          if (nodes_[static_cast<size_t>(i)].h != node.h || nodes_[static_cast<size_t>(i)].w != node.w)
            throw FormatError(name, "hl.graph: add " + nm + " of maps of different sizes");
    }
    if (nm == embedding_node_) embedding_index_ = static_cast<int>(nodes_.size());
    index[nm] = static_cast<int>(nodes_.size());
    nodes_.push_back(std::move(node));
  }
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
  AffectOutput out;
  out.embedding.resize(static_cast<size_t>(kAffectEmbeddingDim));
  out.probabilities.resize(static_cast<size_t>(kEmotionClasses));
  MiniXceptionScratch scratch;
  run_into(grey.data(), scratch, out.embedding.data(), out.probabilities.data());
  return out;
}

void MiniXception::run_into(const float* grey, MiniXceptionScratch& scratch, float* embedding,
                            float* probabilities) const {
  std::vector<std::vector<float>>& maps = scratch.maps;
  if (maps.size() != nodes_.size()) maps.resize(nodes_.size());
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const Node& n = nodes_[k];
    std::vector<float>& y = maps[k];
    const size_t size = static_cast<size_t>(n.h * n.w * n.c);
    const Node* xn = n.inputs.empty() ? nullptr : &nodes_[static_cast<size_t>(n.inputs[0])];
    const std::vector<float>* x = n.inputs.empty() ? nullptr : &maps[static_cast<size_t>(n.inputs[0])];
    switch (n.op) {
      case Node::Op::Input:
        y.assign(grey, grey + size);
        break;
      case Node::Op::Conv:
      case Node::Op::SeparableConv: {
        y.assign(size, 0.0f);
        const float* bias = n.bias.data<float>();
        if (n.op == Node::Op::Conv) {
          cpu::conv2d_nhwc(x->data(), xn->h, xn->w, xn->c, n.kernel.data<float>(), n.kh, n.kw, n.c, bias, n.sh, n.sw,
                           n.same, y.data(), n.h, n.w);
        } else {
          // depthwise [oh, ow, c], then the 1x1 pointwise conv with the folded bias.
          scratch.depthwise.assign(static_cast<size_t>(n.h * n.w * xn->c), 0.0f);
          cpu::depthwise_conv2d_nhwc(x->data(), xn->h, xn->w, xn->c, n.depthwise.data<float>(), n.kh, n.kw, n.sh, n.sw,
                                     n.same, scratch.depthwise.data(), n.h, n.w);
          cpu::conv2d_nhwc(scratch.depthwise.data(), n.h, n.w, xn->c, n.pointwise.data<float>(), 1, 1, n.c, bias, 1, 1,
                           false, y.data(), n.h, n.w);
        }
        if (n.relu)
          for (float& v : y) v = std::max(v, 0.f);
        break;
      }
      case Node::Op::Relu:
        y.assign(x->begin(), x->end());
        for (float& v : y) v = std::max(v, 0.f);
        break;
      case Node::Op::MaxPool:
        y.assign(size, 0.0f);
        cpu::max_pool_nhwc(x->data(), xn->h, xn->w, xn->c, n.kh, n.kw, n.sh, n.sw, n.same, y.data(), n.h, n.w);
        break;
      case Node::Op::Add:
        y.assign(x->begin(), x->end());
        for (size_t i = 1; i < n.inputs.size(); ++i) {
          const std::vector<float>& z = maps[static_cast<size_t>(n.inputs[i])];
          for (size_t j = 0; j < y.size(); ++j) y[j] += z[j];
        }
        break;
      case Node::Op::GlobalAvgPool:
        y.assign(size, 0.0f);
        for (int64_t p = 0; p < xn->h * xn->w; ++p)
          for (int64_t ch = 0; ch < xn->c; ++ch) y[ch] += (*x)[p * xn->c + ch];
        for (float& v : y) v /= static_cast<float>(xn->h * xn->w);
        break;
      case Node::Op::Softmax: {
        y.assign(x->begin(), x->end());
        const float m = *std::max_element(y.begin(), y.end());
        double s = 0;
        for (float& v : y) s += (v = std::exp(v - m));
        for (float& v : y) v = static_cast<float>(v / s);
        break;
      }
    }
    if (static_cast<int>(k) == embedding_index_ && embedding) {
      // The affect embedding: global average pool of this block's output [h, w, 128].
      std::fill(embedding, embedding + n.c, 0.f);
      for (int64_t p = 0; p < n.h * n.w; ++p)
        for (int64_t ch = 0; ch < n.c; ++ch) embedding[ch] += y[p * n.c + ch];
      for (int64_t ch = 0; ch < n.c; ++ch) embedding[ch] /= static_cast<float>(n.h * n.w);
    }
  }
  if (probabilities) {
    const std::vector<float>& p = maps.back();
    std::copy(p.begin(), p.end(), probabilities);
  }
}

}  // namespace hl
