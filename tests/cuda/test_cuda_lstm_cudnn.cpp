// Our BiLSTM against cuDNN's (the benchmark baseline of bench/cuda/bench_cuda_lstm.cpp,
// driven through the same wrapper, bench/cuda/cudnn_bilstm.h) on the same weights, as a
// test: seeded random x, weights of both directions and output gradient dy; ours is
// ag::bilstm(full_sequence) — what the highlight model calls — on CUDA tensors (the
// fused kernels/cuda/lstm.h underneath) and, as a second witness, on CPU tensors
// (kernels/cpu/lstm.cpp, checked against torch.nn.LSTM by
// tests/autograd/test_lstm_golden.cpp). Compared with cuDNN: the output y
// [batch, time, 2 hidden], dx, and each direction's dkernel, drecurrent, dbias.
//
// Weight mapping (explained in bench/cuda/cudnn_bilstm.h): gates i, f, g, o are cuDNN's
// linLayerID 0-3 (input weights) and 4-7 (recurrent weights); cuDNN's matrix of gate g is
// rows g*h..(g+1)*h of PyTorch's weight_ih = our w^T; one bias per gate
// (CUDNN_RNN_SINGLE_INP_BIAS = PyTorch's bias_ih with bias_hh = 0). The mapping's index
// arithmetic is checked without a GPU (GateMatricesAreRowsOfTheTransposedKernel); that
// cuDNN reads those matrices as PyTorch does is what the GPU tests establish (a wrong
// gate or a transposed matrix changes y by O(1), far above the tolerance).
//
// Tolerance, max|a-b| / max|b| (DESIGN section 6): 1e-5 for the short sequences, 5e-5
// for the paper's 150 steps — the same as our CUDA LSTM against the CPU one
// (tests/cuda/test_cuda_autograd_lstm.cpp). Both sides are f32 GEMMs plus f32 gate
// arithmetic (cuDNN with CUDNN_FMA_MATH: no TF32, like our cuBLAS calls); they differ
// only in summation order and in the last bit of expf/tanhf, i.e. a few f32 ulps
// (~1e-7) per step, which the recurrence carries and the weight gradients sum over
// batch x time terms. A real disagreement (a gate swapped, a direction reversed, a bias
// dropped) is of the order of the values themselves.
// Without a GPU the CUDA tests skip visibly (HL_REQUIRE_CUDA). Not yet run on a GPU
// (docs/gpu-status.md).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "bench/cuda/cudnn_bilstm.h"
#include "cuda/cuda_test_util.h"
#include "engine/autograd/lstm.h"
#include "engine/tensor.h"
#include "support/test_support.h"

namespace hl {
namespace {

using bench::LstmDirectionParams;

struct LstmCase {
  int batch, time, input, hidden;
  double tol;
};
void PrintTo(const LstmCase& c, std::ostream* os) {
  *os << "B=" << c.batch << " T=" << c.time << " in=" << c.input << " h=" << c.hidden << " tol=" << c.tol;
}

// Seeded inputs of one case, in hl's layouts (kernels/cpu/lstm.h), on the host.
struct Inputs {
  std::vector<float> x, dy;    // [B, T, I], [B, T, 2H]
  LstmDirectionParams dir[2];  // forward, backward
};

Inputs make_inputs(const LstmCase& c, uint32_t seed) {
  const int64_t B = c.batch, T = c.time, I = c.input, H = c.hidden, G = 4 * H;
  Inputs in;
  in.x = test::random_floats(B * T * I, seed, -1.0f, 1.0f);
  in.dy = test::random_floats(B * T * 2 * H, seed + 1, -1.0f, 1.0f);
  for (int d = 0; d < 2; ++d) {
    const uint32_t s = seed + 10 * (d + 1);
    in.dir[d].w = test::random_floats(I * G, s, -0.3f, 0.3f);
    in.dir[d].u = test::random_floats(H * G, s + 1, -0.5f, 0.5f);
    in.dir[d].b = test::random_floats(G, s + 2, -0.5f, 0.5f);
  }
  return in;
}

// y and the gradients, host side, in hl's layouts.
struct Results {
  std::vector<float> y, dx;
  LstmDirectionParams grad[2];
};

std::vector<float> host_floats(const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  return std::vector<float>(h.data<float>(), h.data<float>() + h.numel());
}

// ag::bilstm with full_sequence (no dropout: not training) on `device`, backward from dy.
Results ours(const LstmCase& c, const Inputs& in, Device device) {
  const int64_t B = c.batch, T = c.time, I = c.input, H = c.hidden, G = 4 * H;
  const auto param = [&](const std::vector<float>& v, const Shape& shape) {
    return ag::Variable(Tensor::from_vector(shape, v).to(device), true);
  };
  ag::Variable x = param(in.x, {B, T, I});
  ag::LstmParams p[2];
  for (int d = 0; d < 2; ++d) p[d] = {param(in.dir[d].w, {I, G}), param(in.dir[d].u, {H, G}), param(in.dir[d].b, {G})};
  ag::BiLstmOptions o;
  o.full_sequence = true;
  const ag::Variable y = ag::bilstm(x, p[0], p[1], o);
  EXPECT_EQ(y.value().shape(), (Shape{B, T, 2 * H}));
  y.backward(Tensor::from_vector({B, T, 2 * H}, in.dy).to(device));
  Results r;
  r.y = host_floats(y.value());
  r.dx = host_floats(x.grad());
  for (int d = 0; d < 2; ++d)
    r.grad[d] = {host_floats(p[d].kernel.grad()), host_floats(p[d].recurrent.grad()), host_floats(p[d].bias.grad())};
  return r;
}

// cuDNN's bidirectional LSTM on the same weights, outputs poisoned with NaN first.
Results cudnn(const LstmCase& c, const Inputs& in) {
  const int64_t B = c.batch, T = c.time, I = c.input, H = c.hidden;
  cudaStream_t s = test::cuda_stream();
  bench::CudnnBiLstm rnn({c.batch, c.time, c.input, c.hidden}, CUDNN_RNN_ALGO_STANDARD, CUDNN_FMA_MATH, s);
  rnn.set_weights(0, in.dir[0], s);
  rnn.set_weights(1, in.dir[1], s);
  Tensor x = test::upload(in.x), dy = test::upload(in.dy);
  Tensor y = test::device_buffer<float>(B * T * 2 * H), dx = test::device_buffer<float>(B * T * I);
  test::poison(y);
  test::poison(dx);
  rnn.forward(test::ptr<float>(x), test::ptr<float>(y), s);
  rnn.backward(test::ptr<float>(x), test::ptr<float>(y), test::ptr<float>(dy), test::ptr<float>(dx), s);
  EXPECT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  Results r;
  r.y = test::download<float>(y, B * T * 2 * H);
  r.dx = test::download<float>(dx, B * T * I);
  for (int d = 0; d < 2; ++d) r.grad[d] = rnn.weight_gradients(d, s);
  return r;
}

void compare(const Results& got, const Results& want, double tol, const std::string& what) {
  double worst = 0;
  const auto check = [&](const std::vector<float>& a, const std::vector<float>& b, const std::string& name) {
    test::expect_close(a, b, tol, what + ": " + name);
    if (a.size() == b.size())
      worst = std::max(worst, test::relative_error(a.data(), b.data(), static_cast<int64_t>(b.size())));
  };
  check(got.y, want.y, "y");
  check(got.dx, want.dx, "dx");
  for (int d = 0; d < 2; ++d) {
    const std::string dir = d == 0 ? "forward " : "backward ";
    check(got.grad[d].w, want.grad[d].w, dir + "dkernel");
    check(got.grad[d].u, want.grad[d].u, dir + "drecurrent");
    check(got.grad[d].b, want.grad[d].b, dir + "dbias");
  }
  std::printf("%s: worst relative error %.3g (tolerance %.0e)\n", what.c_str(), worst, tol);
}

class CudnnLstmParity : public ::testing::TestWithParam<LstmCase> {};

TEST_P(CudnnLstmParity, OursMatchesCudnnOnTheSameWeights) {
  HL_REQUIRE_CUDA();
  const LstmCase c = GetParam();
  const Inputs in = make_inputs(c, 2026);
  const Results reference = cudnn(c, in);
  // cuDNN's output must be a real signal for the comparison to mean anything.
  float peak = 0.0f;
  for (float v : reference.y) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.05f) << "cuDNN's y is nearly zero";
  compare(ours(c, in, Device::cuda(0)), reference, c.tol, "hl cuda vs cudnn");
  compare(ours(c, in, Device::cpu()), reference, c.tol, "hl cpu vs cudnn");
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudnnLstmParity,
                         ::testing::Values(LstmCase{3, 7, 5, 4, 1e-5},       // small, every size different
                                           LstmCase{2, 1, 3, 2, 1e-5},       // one step
                                           LstmCase{5, 12, 9, 64, 1e-5},     // our kernel's largest hidden size
                                           LstmCase{16, 150, 385, 20, 5e-5}  // the paper's layer
                                           ));

// The index arithmetic of the mapping, without a GPU: cuDNN's matrix of gate g must be
// rows g*h..(g+1)*h of PyTorch's weight_ih = w^T (written out here independently), and
// scattering it back must restore w exactly.
TEST(CudnnLstmMapping, GateMatricesAreRowsOfTheTransposedKernel) {
  const int in = 3, hidden = 2, G = 4 * hidden;
  std::vector<float> w(static_cast<size_t>(in) * G);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i);  // w[k][col] = k * G + col
  std::vector<float> back(w.size(), -1.0f);
  for (int gate = 0; gate < 4; ++gate) {
    const std::vector<float> m = bench::cudnn_gate_matrix(w, in, hidden, gate);
    ASSERT_EQ(m.size(), static_cast<size_t>(hidden * in));
    for (int j = 0; j < hidden; ++j)
      for (int k = 0; k < in; ++k) {
        const int torch_row = gate * hidden + j;  // weight_ih[torch_row][k] = w[k][torch_row]
        EXPECT_EQ(m[j * in + k], static_cast<float>(k * G + torch_row))
            << "gate " << gate << " (" << j << ", " << k << ")";
      }
    bench::scatter_cudnn_gate_matrix(m, in, hidden, gate, back);
  }
  EXPECT_EQ(back, w);
}

}  // namespace
}  // namespace hl
