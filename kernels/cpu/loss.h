// Losses of the highlight model over n predictions, templated on the element type.
// Each forward returns the scalar loss; each backward writes d(loss)/d(prediction)
// scaled by dloss (the gradient flowing into the scalar). Labels get no gradient.
// Moments and means are accumulated in double.
//
//   mse:   mean((p - y)^2)
//   ccc:   1 - 2 cov(p, y) / (var(p) + var(y) + (mean(p) - mean(y))^2), population
//          moments (divide by n), cov rather than the paper's 2 sd(p) sd(y): specs/paper.md
//   margin ranking: mean over pairs of max(0, margin - (hi - lo)); hi should outrank lo
//          (PyTorch MarginRankingLoss with target +1). At hi - lo == margin the
//          gradient is taken as 0, like PyTorch's clamp.
// CUDA twin: kernels/cuda/loss.h.
// Tests: tests/ops/test_op_table.cpp, rows in tests/ops/rows_loss.cpp (the formulas in
// double; finite differences in double); tests/autograd/test_autograd_golden.cpp
// (PyTorch); on CUDA tests/ops/test_op_table_cuda.cpp.
#pragma once
#include <cstdint>

namespace hl::cpu {

template <typename T>
T mse_forward(const T* p, const T* y, int64_t n);
template <typename T>
void mse_backward(const T* p, const T* y, int64_t n, T dloss, T* dp);

template <typename T>
T ccc_loss_forward(const T* p, const T* y, int64_t n);
template <typename T>
void ccc_loss_backward(const T* p, const T* y, int64_t n, T dloss, T* dp);

template <typename T>
T margin_ranking_forward(const T* hi, const T* lo, int64_t n, T margin);
template <typename T>
void margin_ranking_backward(const T* hi, const T* lo, int64_t n, T margin, T dloss, T* dhi, T* dlo);

// The same losses in the form of their CUDA twins (kernels/cuda/loss.h), so that one
// dispatch (engine/dispatch.h) serves both devices: the scalar loss is written to
// *loss, the incoming gradient read from *dloss. f32, as the autograd uses them.
void mse_forward(const float* p, const float* y, int64_t n, float* loss);
void mse_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp);
void ccc_loss_forward(const float* p, const float* y, int64_t n, float* loss);
void ccc_loss_backward(const float* p, const float* y, int64_t n, const float* dloss, float* dp);
void margin_ranking_forward(const float* hi, const float* lo, int64_t n, float margin, float* loss);
void margin_ranking_backward(const float* hi, const float* lo, int64_t n, float margin, const float* dloss,
                             float* dhi, float* dlo);

}  // namespace hl::cpu
