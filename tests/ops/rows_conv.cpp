// Rows: ag::conv1d_same (every kernel size up to 5, time shorter than the kernel),
// ag::conv2d (strides, asymmetric padding, the im2col shortcuts) and ag::maxpool1d_2
// (odd and single-step time).
#include <algorithm>
#include <string>

#include "engine/autograd/conv2d.h"
#include "engine/autograd/conv_pool.h"
#include "kernels/cpu/conv1d.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/pool.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

// --- conv1d, stride 1, 'same': (k - 1) / 2 zeros on the left, the rest on the right ---

struct Conv1d {
  int64_t batch, time, c_in, c_out, k;
};

// y [b, t, o] = bias[o] + sum_{p, c} x[b, t + p - (k - 1) / 2, c] w[p, c, o], x zero outside.
Vec reference_conv1d(const Conv1d& s, const Vec& x, const Vec& w, const Vec* b) {
  Vec y(static_cast<size_t>(s.batch * s.time * s.c_out));
  const int64_t left = (s.k - 1) / 2;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t t = 0; t < s.time; ++t)
      for (int64_t o = 0; o < s.c_out; ++o) {
        double acc = b ? (*b)[o] : 0.0;
        for (int64_t p = 0; p < s.k; ++p) {
          const int64_t tt = t + p - left;
          if (tt < 0 || tt >= s.time) continue;
          for (int64_t c = 0; c < s.c_in; ++c) acc += x[(n * s.time + tt) * s.c_in + c] * w[(p * s.c_in + c) * s.c_out + o];
        }
        y[(n * s.time + t) * s.c_out + o] = acc;
      }
  return y;
}

OpRow conv1d_row(const Conv1d& s, bool bias, int64_t fd_elements = 400) {
  OpRow r;
  r.name = "conv1d_same_" + dims_name({s.batch, s.time, s.c_in}) + "_k" + std::to_string(s.k) + "_to_" +
           std::to_string(s.c_out) + (bias ? "_bias" : "");
  r.inputs = {{{s.batch, s.time, s.c_in}}, {{s.k, s.c_in, s.c_out}, true, Fill::normal(0.5)}};
  if (bias) r.inputs.push_back({{s.c_out}});
  r.op = [bias](const std::vector<ag::Variable>& v) { return ag::conv1d_same(v[0], v[1], bias ? v[2] : ag::Variable()); };
  r.reference = [=](const std::vector<Vec>& v) { return reference_conv1d(s, v[0], v[1], bias ? &v[2] : nullptr); };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    cpu::Conv1dShape k;
    k.batch = s.batch, k.time = s.time, k.c_in = s.c_in, k.c_out = s.c_out, k.k = s.k;
    Vec y(static_cast<size_t>(s.batch * s.time * s.c_out));
    cpu::conv1d_same_forward(k, v[0].data(), v[1].data(), bias ? v[2].data() : nullptr, y.data());
    if (dy) {
      *g = {Vec(v[0].size()), Vec(v[1].size())};
      if (bias) g->push_back(Vec(s.c_out));
      cpu::conv1d_same_backward(k, v[0].data(), v[1].data(), dy->data(), (*g)[0].data(), (*g)[1].data(),
                                bias ? (*g)[2].data() : nullptr);
    }
    return y;
  };
  r.fd_elements = fd_elements;
  return r;
}

// --- conv2d, channels last: x [N, H, W, C], w [kh, kw, C, O] ---

struct Conv2d {
  int64_t batch, h, w, c_in, c_out, kh, kw, sh, sw, top, bottom, left, right;
  int64_t out_h() const { return (h + top + bottom - kh) / sh + 1; }
  int64_t out_w() const { return (w + left + right - kw) / sw + 1; }
};

// y [n, i, j, o] = b[o] + sum_{p, q, c} x[n, i sh + p - top, j sw + q - left, c] w[p, q, c, o].
Vec reference_conv2d(const Conv2d& s, const Vec& x, const Vec& w, const Vec* b) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  Vec y(static_cast<size_t>(s.batch * oh * ow * s.c_out));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j)
        for (int64_t o = 0; o < s.c_out; ++o) {
          double acc = b ? (*b)[o] : 0.0;
          for (int64_t p = 0; p < s.kh; ++p)
            for (int64_t q = 0; q < s.kw; ++q) {
              const int64_t yy = i * s.sh + p - s.top, xx = j * s.sw + q - s.left;
              if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) continue;
              for (int64_t c = 0; c < s.c_in; ++c)
                acc += x[((n * s.h + yy) * s.w + xx) * s.c_in + c] * w[((p * s.kw + q) * s.c_in + c) * s.c_out + o];
            }
          y[((n * oh + i) * ow + j) * s.c_out + o] = acc;
        }
  return y;
}

OpRow conv2d_row(const Conv2d& s, bool bias, const std::string& what, int64_t fd_elements = 400) {
  OpRow r;
  r.name = "conv2d_" + dims_name({s.batch, s.h, s.w, s.c_in}) + "_k" + dims_name({s.kh, s.kw}) + "_s" +
           dims_name({s.sh, s.sw}) + "_pad" + dims_name({s.top, s.bottom, s.left, s.right}) + "_to_" +
           std::to_string(s.c_out) + (bias ? "_bias" : "") + "_" + what;
  r.inputs = {{{s.batch, s.h, s.w, s.c_in}}, {{s.kh, s.kw, s.c_in, s.c_out}, true, Fill::normal(0.5)}};
  if (bias) r.inputs.push_back({{s.c_out}});
  const ag::Conv2dOptions o{s.sh, s.sw, s.top, s.bottom, s.left, s.right};
  r.op = [bias, o](const std::vector<ag::Variable>& v) { return ag::conv2d(v[0], v[1], bias ? v[2] : ag::Variable(), o); };
  r.reference = [=](const std::vector<Vec>& v) { return reference_conv2d(s, v[0], v[1], bias ? &v[2] : nullptr); };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    cpu::Conv2dShape k;
    k.batch = s.batch, k.height = s.h, k.width = s.w, k.c_in = s.c_in, k.c_out = s.c_out, k.kh = s.kh, k.kw = s.kw;
    k.stride_h = s.sh, k.stride_w = s.sw, k.pad_top = s.top, k.pad_bottom = s.bottom, k.pad_left = s.left,
    k.pad_right = s.right;
    Vec y(static_cast<size_t>(s.batch * s.out_h() * s.out_w() * s.c_out));
    cpu::conv2d_forward(k, v[0].data(), v[1].data(), bias ? v[2].data() : nullptr, y.data());
    if (dy) {
      *g = {Vec(v[0].size()), Vec(v[1].size())};
      if (bias) g->push_back(Vec(s.c_out));
      cpu::conv2d_backward(k, v[0].data(), v[1].data(), dy->data(), (*g)[0].data(), (*g)[1].data(),
                           bias ? (*g)[2].data() : nullptr);
    }
    return y;
  };
  r.fd_elements = fd_elements;
  return r;
}

// --- max pooling over time, window 2, stride 2 ---

Vec reference_maxpool(const Vec& x, int64_t batch, int64_t time, int64_t channels) {
  const int64_t out_t = time / 2;  // a trailing odd step is dropped
  Vec y(static_cast<size_t>(batch * out_t * channels));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < out_t; ++t)
      for (int64_t c = 0; c < channels; ++c)
        y[(b * out_t + t) * channels + c] =
            std::max(x[(b * time + 2 * t) * channels + c], x[(b * time + 2 * t + 1) * channels + c]);
  return y;
}

OpRow maxpool_row(int64_t batch, int64_t time, int64_t channels) {
  OpRow r;
  r.name = "maxpool1d_2_" + dims_name({batch, time, channels});
  r.inputs = {{{batch, time, channels}}};
  r.op = [](const std::vector<ag::Variable>& v) { return ag::maxpool1d_2(v[0]); };
  r.reference = [=](const std::vector<Vec>& v) { return reference_maxpool(v[0], batch, time, channels); };
  r.kernel_f64 = [=](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    Vec y(static_cast<size_t>(batch * (time / 2) * channels));
    cpu::maxpool1d_2_forward(v[0].data(), y.data(), batch, time, channels);
    if (dy) {
      *g = {Vec(v[0].size())};
      cpu::maxpool1d_2_backward(v[0].data(), dy->data(), (*g)[0].data(), batch, time, channels);
    }
    return y;
  };
  r.cuda = {0.0, 0.0};  // the CPU's comparisons, element for element
  return r;
}

}  // namespace

void add_conv_rows(std::vector<OpRow>& rows) {
  for (int64_t k = 1; k <= 5; ++k) rows.push_back(conv1d_row({2, 6, 3, 2, k}, true));
  for (int64_t k : {1, 2, 3, 5}) rows.push_back(conv1d_row({3, 11, 4, 6, k}, true));
  rows.push_back(conv1d_row({1, 1, 3, 2, 3}, true));   // batch 1, time shorter than the kernel
  rows.push_back(conv1d_row({2, 5, 3, 4, 4}, false));  // even kernel: the extra zero on the right
  rows.push_back(conv1d_row({1, 600, 13, 64, 3}, true, 24));  // the MFCC branch's first conv, one segment

  rows.push_back(conv2d_row({2, 5, 6, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1}, true, "same"));
  rows.push_back(conv2d_row({2, 6, 6, 2, 3, 3, 3, 2, 2, 0, 1, 0, 1}, true, "tf_same_stride2"));
  rows.push_back(conv2d_row({1, 7, 5, 2, 2, 4, 2, 3, 2, 2, 0, 1, 3}, true, "uneven"));
  rows.push_back(conv2d_row({2, 4, 3, 3, 2, 1, 1, 1, 1, 0, 0, 0, 0}, true, "pointwise_identity"));
  rows.push_back(conv2d_row({2, 5, 5, 2, 3, 1, 1, 2, 2, 0, 0, 0, 0}, true, "strided_pointwise"));
  rows.push_back(conv2d_row({3, 6, 6, 1, 4, 6, 6, 1, 1, 0, 0, 0, 0}, true, "whole_input_identity"));
  rows.push_back(conv2d_row({2, 4, 4, 2, 2, 4, 4, 1, 1, 1, 0, 0, 1}, true, "whole_input_padded"));
  rows.push_back(conv2d_row({1, 5, 4, 2, 3, 3, 2, 1, 2, 1, 1, 0, 1}, false, "no_bias"));
  rows.push_back(conv2d_row({40, 14, 14, 1, 64, 14, 14, 1, 1, 0, 0, 0, 0}, true, "cam_branch", 48));
  rows.push_back(conv2d_row({3, 9, 7, 3, 5, 3, 2, 2, 1, 1, 2, 0, 1}, true, "strided_padded", 48));
  rows.push_back(conv2d_row({2, 11, 10, 2, 4, 3, 3, 2, 2, 1, 1, 1, 1}, false, "symmetric_stride2", 48));

  rows.push_back(maxpool_row(2, 7, 3));
  rows.push_back(maxpool_row(3, 8, 5));
  rows.push_back(maxpool_row(3, 9, 5));
  rows.push_back(maxpool_row(3, 1, 5));  // one step: an empty output
  rows.push_back(maxpool_row(4, 600, 64));
}

}  // namespace hl::optable
