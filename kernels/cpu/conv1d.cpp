#include "kernels/cpu/conv1d.h"

#include <algorithm>
#include <cstddef>

#include "kernels/cpu/linear.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/scratch.h"

namespace hl::cpu {

namespace {

// cols[(b, t), (j, c)] = x[b, t + j - pad_left, c], zero outside [0, time).
// Both run over whole sequences in parallel; the lambdas take the shape by value so the
// loops can keep its fields in registers (stores through T* might alias a reference).
template <typename T>
void im2col(const Conv1dShape& s, const T* x, T* cols) {
  const int64_t width = s.k * s.c_in;
  parallel_for(s.batch, kElementwiseGrain / std::max<int64_t>(s.time * width, 1) + 1, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t t = 0; t < s.time; ++t) {
        T* row = cols + (b * s.time + t) * width;
        for (int64_t j = 0; j < s.k; ++j) {
          const int64_t src = t + j - s.pad_left();
          for (int64_t c = 0; c < s.c_in; ++c)
            row[j * s.c_in + c] = (src >= 0 && src < s.time) ? x[(b * s.time + src) * s.c_in + c] : T(0);
        }
      }
  });
}

// The adjoint of im2col: dx[b, t + j - pad_left, c] += dcols[(b, t), (j, c)].
template <typename T>
void col2im(const Conv1dShape& s, const T* dcols, T* dx) {
  const int64_t width = s.k * s.c_in;
  // Each sequence b writes only its own rows of dx, so sequences can run in parallel.
  parallel_for(s.batch, kElementwiseGrain / std::max<int64_t>(s.time * width, 1) + 1, [=](int64_t b0, int64_t b1) {
    for (int64_t i = b0 * s.time * s.c_in; i < b1 * s.time * s.c_in; ++i) dx[i] = T(0);
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t t = 0; t < s.time; ++t) {
        const T* row = dcols + (b * s.time + t) * width;
        for (int64_t j = 0; j < s.k; ++j) {
          const int64_t dst = t + j - s.pad_left();
          if (dst < 0 || dst >= s.time) continue;
          for (int64_t c = 0; c < s.c_in; ++c) dx[(b * s.time + dst) * s.c_in + c] += row[j * s.c_in + c];
        }
      }
  });
}

}  // namespace

template <typename T>
void conv1d_same_forward(const Conv1dShape& s, const T* x, const T* w, const T* b, T* y) {
  Scratch<T> cols(s.batch * s.time * s.k * s.c_in);
  im2col(s, x, cols.data());
  linear_forward(cols.data(), w, b, y, s.batch * s.time, s.k * s.c_in, s.c_out);
}

template <typename T>
void conv1d_same_backward(const Conv1dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int64_t rows = s.batch * s.time, width = s.k * s.c_in;
  Scratch<T> cols(dw ? rows * width : 0);  // read only for dw
  if (dw) im2col(s, x, cols.data());
  Scratch<T> dcols(dx ? rows * width : 0);
  linear_backward(cols.data(), w, dy, dcols.data(), dw, db, rows, width, s.c_out);
  if (dx) col2im(s, dcols.data(), dx);
}

template void conv1d_same_forward<float>(const Conv1dShape&, const float*, const float*, const float*, float*);
template void conv1d_same_forward<double>(const Conv1dShape&, const double*, const double*, const double*, double*);
template void conv1d_same_backward<float>(const Conv1dShape&, const float*, const float*, const float*, float*, float*,
                                          float*);
template void conv1d_same_backward<double>(const Conv1dShape&, const double*, const double*, const double*, double*,
                                           double*, double*);

}  // namespace hl::cpu
