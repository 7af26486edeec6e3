#include "kernels/cpu/conv2d.h"

#include <cstddef>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/scratch.h"

namespace hl::cpu {

bool Conv2dShape::im2col_is_identity() const {
  const bool unpadded = pad_top == 0 && pad_bottom == 0 && pad_left == 0 && pad_right == 0;
  const bool pointwise = kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1;
  const bool whole_input = kh == height && kw == width;
  return unpadded && (pointwise || whole_input);
}

void Conv2dShape::validate(const char* op) const {
  const auto fail = [&](const std::string& what) { throw Error(std::string(op) + ": " + what); };
  if (batch < 0 || height < 1 || width < 1 || c_in < 1 || c_out < 1)
    fail("sizes must be positive (height " + std::to_string(height) + ", width " + std::to_string(width) +
         ", c_in " + std::to_string(c_in) + ", c_out " + std::to_string(c_out) + ")");
  if (kh < 1 || kw < 1) fail("the kernel must be at least 1x1");
  if (stride_h < 1 || stride_w < 1) fail("strides must be at least 1");
  if (pad_top < 0 || pad_bottom < 0 || pad_left < 0 || pad_right < 0) fail("padding must not be negative");
  if (height + pad_top + pad_bottom < kh || width + pad_left + pad_right < kw)
    fail("the " + std::to_string(kh) + "x" + std::to_string(kw) + " kernel is larger than the padded " +
         std::to_string(height + pad_top + pad_bottom) + "x" + std::to_string(width + pad_left + pad_right) +
         " input");
}

namespace {

// cols[(n, i, j), (p, q, c)] = x[n, i*stride_h + p - pad_top, j*stride_w + q - pad_left, c],
// zero outside the input.
template <typename T>
void im2col(const Conv2dShape& s, const T* x, T* cols) {
  const int64_t oh = s.out_height(), ow = s.out_width(), width = s.col_width();
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        T* row = cols + ((n * oh + i) * ow + j) * width;
        for (int64_t p = 0; p < s.kh; ++p) {
          const int64_t y = i * s.stride_h + p - s.pad_top;
          for (int64_t q = 0; q < s.kw; ++q) {
            const int64_t xx = j * s.stride_w + q - s.pad_left;
            T* dst = row + (p * s.kw + q) * s.c_in;
            const bool inside = y >= 0 && y < s.height && xx >= 0 && xx < s.width;
            const T* src = inside ? x + ((n * s.height + y) * s.width + xx) * s.c_in : nullptr;
            for (int64_t c = 0; c < s.c_in; ++c) dst[c] = inside ? src[c] : T(0);
          }
        }
      }
}

// The adjoint of im2col: dx[n, y, x, c] += dcols[(n, i, j), (p, q, c)] over every window
// that reads that element.
template <typename T>
void col2im(const Conv2dShape& s, const T* dcols, T* dx) {
  const int64_t oh = s.out_height(), ow = s.out_width(), width = s.col_width();
  for (int64_t k = 0; k < s.batch * s.height * s.width * s.c_in; ++k) dx[k] = T(0);
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const T* row = dcols + ((n * oh + i) * ow + j) * width;
        for (int64_t p = 0; p < s.kh; ++p) {
          const int64_t y = i * s.stride_h + p - s.pad_top;
          if (y < 0 || y >= s.height) continue;
          for (int64_t q = 0; q < s.kw; ++q) {
            const int64_t xx = j * s.stride_w + q - s.pad_left;
            if (xx < 0 || xx >= s.width) continue;
            const T* src = row + (p * s.kw + q) * s.c_in;
            T* dst = dx + ((n * s.height + y) * s.width + xx) * s.c_in;
            for (int64_t c = 0; c < s.c_in; ++c) dst[c] += src[c];
          }
        }
      }
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  if (s.im2col_is_identity()) {
    linear_forward(x, w, b, y, s.col_rows(), s.col_width(), s.c_out);
    return;
  }
  Scratch<T> cols(s.col_rows() * s.col_width());
  im2col(s, x, cols.data());
  linear_forward(cols.data(), w, b, y, s.col_rows(), s.col_width(), s.c_out);
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  const int64_t rows = s.col_rows(), width = s.col_width();
  if (s.im2col_is_identity()) {
    linear_backward(x, w, dy, dx, dw, db, rows, width, s.c_out);
    return;
  }
  Scratch<T> cols(dw ? rows * width : 0);  // read only for dw
  if (dw) im2col(s, x, cols.data());
  Scratch<T> dcols(dx ? rows * width : 0);
  linear_backward(cols.data(), w, dy, dcols.data(), dw, db, rows, width, s.c_out);
  if (dx) col2im(s, dcols.data(), dx);
}

template void conv2d_forward<float>(const Conv2dShape&, const float*, const float*, const float*, float*);
template void conv2d_forward<double>(const Conv2dShape&, const double*, const double*, const double*, double*);
template void conv2d_backward<float>(const Conv2dShape&, const float*, const float*, const float*, float*, float*,
                                     float*);
template void conv2d_backward<double>(const Conv2dShape&, const double*, const double*, const double*, double*,
                                      double*, double*);

}  // namespace hl::cpu
