// The small-h LSTM (kernels/cuda/lstm.h). Index conventions, shared by both kernels:
//   bb   batch entries per block; block (blockIdx.x, blockIdx.y) runs batch entries
//        [blockIdx.x * bb, blockIdx.x * bb + bb) of direction blockIdx.y;
//   G    4 * H gate columns, in the order i, f, g, o (column q of u / z);
//   element (b, t, j) of a [batch, time, X] tensor is at (b * time + t) * X + j.
//
// Forward kernel, blockDim = bb * G: thread (lb, q) = (tid / G, tid % G) computes gate
// column q of local batch entry lb at every step:
//   phase 1: z = gates_in[b, t, q] + sum_k hm[lb][k] u[k][q], activated into sa[lb][q]
//            (and into gates[b, t, q]); threads q < H also record prev[b, t, q] = hm[lb][q];
//   sync;
//   phase 2: threads q < H (j = q) update their own c (a register), write c_t and h_t,
//            and put hm[lb][j] = h_t * r[b, j] for the next step;
//   sync.
// Backward kernel, blockDim = bb * H: thread (lb, j) owns hidden unit j of entry lb, and
// keeps dc_next and dh_rec (the gradient from step t + 1 through u) in registers:
//   phase A: the four dz of unit j at step t (kernels/cpu/lstm.cpp's formulas), into
//            sdz[lb][*] and dz[b, t, *];
//   sync;
//   phase B: dh_rec = (sum_q sdz[lb][q] u[j][q]) * r[b, j]   (dz u^T, then the mask);
//   sync.
// Threads of batch entries past the end (last block) skip the work but still reach
// every __syncthreads.
#include <algorithm>
#include <string>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/lstm.h"

namespace hl::cuda {
namespace {

struct ForwardPair {
  LstmForwardArgs d[2];
};
struct BackwardPair {
  LstmBackwardArgs d[2];
};

__device__ __forceinline__ float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }  // the CPU lstm's form

// At most 1024 threads per block (bb * 4h); the bound keeps registers within the SM budget.
__global__ void __launch_bounds__(1024)
    lstm_forward_kernel(ForwardPair pair, int64_t batch, int64_t time, int hidden, int64_t ld_hs, int bb) {
  const LstmForwardArgs& a = pair.d[blockIdx.y];
  const int H = hidden, G = 4 * hidden;
  extern __shared__ float smem[];
  float* su = smem;         // [H, G]
  float* hm = su + H * G;   // [bb, H]: h_{t-1} * r
  float* sa = hm + bb * H;  // [bb, G]: activated gates of this step
  const int tid = static_cast<int>(threadIdx.x);
  const int lb = tid / G, q = tid % G;
  const int64_t b = int64_t{blockIdx.x} * bb + lb;
  const bool active = b < batch;
  for (int e = tid; e < H * G; e += blockDim.x) su[e] = a.u[e];
  for (int e = tid; e < bb * H; e += blockDim.x) hm[e] = 0.0f;
  float c = 0.0f;
  const float rmask = (active && q < H && a.r) ? a.r[b * H + q] : 1.0f;
  const bool tanh_gate = q >= 2 * H && q < 3 * H;
  __syncthreads();
  for (int64_t step = 0; step < time; ++step) {
    const int64_t t = a.reverse ? time - 1 - step : step;
    const int64_t row = b * time + t;
    if (active) {
      const float* hp = hm + lb * H;
      float dot = 0.0f;
      for (int k = 0; k < H; ++k) dot += hp[k] * su[k * G + q];
      const float z = a.gates[row * G + q] + dot;
      const float act = tanh_gate ? tanhf(z) : sigmoid(z);
      sa[lb * G + q] = act;
      a.gates[row * G + q] = act;
      if (q < H) a.prev[row * H + q] = hp[q];
    }
    __syncthreads();
    if (active && q < H) {
      const float* ga = sa + lb * G;
      const float i = ga[q], f = ga[H + q], g = ga[2 * H + q], o = ga[3 * H + q];
      c = __fadd_rn(__fmul_rn(f, c), __fmul_rn(i, g));
      const float h = __fmul_rn(o, tanhf(c));
      a.cs[row * H + q] = c;
      a.hs[row * ld_hs + q] = h;
      hm[lb * H + q] = __fmul_rn(h, rmask);
    }
    __syncthreads();
  }
}

__global__ void __launch_bounds__(1024)
    lstm_backward_kernel(BackwardPair pair, int64_t batch, int64_t time, int hidden, int64_t ld_dhs, int bb) {
  const LstmBackwardArgs& a = pair.d[blockIdx.y];
  const int H = hidden, G = 4 * hidden;
  extern __shared__ float smem[];
  float* su = smem;         // [H, G]
  float* sdz = su + H * G;  // [bb, G]
  const int tid = static_cast<int>(threadIdx.x);
  const int lb = tid / H, j = tid % H;
  const int64_t b = int64_t{blockIdx.x} * bb + lb;
  const bool active = b < batch;
  for (int e = tid; e < H * G; e += blockDim.x) su[e] = a.u[e];
  const float rmask = (active && a.r) ? a.r[b * H + j] : 1.0f;
  float dh_rec = 0.0f, dc_next = 0.0f;
  __syncthreads();
  for (int64_t step = time - 1; step >= 0; --step) {
    const int64_t t = a.reverse ? time - 1 - step : step;
    const int64_t t_prev = a.reverse ? t + 1 : t - 1;
    const int64_t row = b * time + t;
    if (active) {
      const float* gt = a.gates + row * G;
      const float i = gt[j], f = gt[H + j], gg = gt[2 * H + j], o = gt[3 * H + j];
      const float c_prev = step == 0 ? 0.0f : a.cs[(b * time + t_prev) * H + j];
      const float tc = tanhf(a.cs[row * H + j]);
      const float dh = a.dhs[row * ld_dhs + j] + dh_rec;
      const float dc = dc_next + dh * o * (1.0f - tc * tc);
      float* d = sdz + lb * G;
      d[j] = dc * gg * i * (1.0f - i);
      d[H + j] = dc * c_prev * f * (1.0f - f);
      d[2 * H + j] = dc * i * (1.0f - gg * gg);
      d[3 * H + j] = dh * tc * o * (1.0f - o);
      dc_next = dc * f;
      float* dzt = a.dz + row * G;
      for (int g4 = 0; g4 < 4; ++g4) dzt[g4 * H + j] = d[g4 * H + j];
    }
    __syncthreads();
    if (step == 0) break;  // h_{-1} = 0: nothing flows further back (uniform over the block)
    if (active) {
      const float* d = sdz + lb * G;
      const float* uj = su + j * G;
      float dprev = 0.0f;
      for (int q = 0; q < G; ++q) dprev += d[q] * uj[q];
      dh_rec = dprev * rmask;
    }
    __syncthreads();  // sdz is rewritten by the next step's phase A
  }
}

int sm_count() {
  int device = 0, sms = 0;
  HL_CUDA_CHECK(cudaGetDevice(&device));
  HL_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return std::max(sms, 1);
}

void check_shape(const LstmShape& s, int ndirs, const char* what) {
  if (ndirs < 1 || ndirs > 2) throw Error(std::string(what) + ": 1 or 2 directions, got " + std::to_string(ndirs));
  if (s.hidden < 1 || s.hidden > kLstmMaxHidden)
    throw Error(std::string(what) + ": the CUDA LSTM kernel supports hidden sizes 1 to " +
                std::to_string(kLstmMaxHidden) + ", got " + std::to_string(s.hidden));
  if (s.batch < 0 || s.time < 0 || s.input < 0) throw Error(std::string(what) + ": negative dimension");
}

// Dynamic shared memory above the default 48 KiB must be opted into per kernel.
template <class Kernel>
void allow_shared(Kernel kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    HL_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

}  // namespace

int lstm_batch_per_block(int64_t batch, int64_t hidden, int ndirs) {
  const int64_t cap = std::max<int64_t>(1, 1024 / (4 * hidden));
  const int64_t blocks_wanted = sm_count();
  const int64_t per = (batch * ndirs + blocks_wanted - 1) / blocks_wanted;
  return static_cast<int>(std::clamp<int64_t>(per, 1, cap));
}

void lstm_forward(const LstmShape& s, const LstmForwardArgs* dirs, int ndirs, int64_t ld_hs, cudaStream_t stream) {
  check_shape(s, ndirs, "cuda::lstm_forward");
  const int64_t B = s.batch, T = s.time, H = s.hidden, G = 4 * H;
  if (B * T == 0) return;
  ForwardPair pair;
  for (int d = 0; d < ndirs; ++d) {
    pair.d[d] = dirs[d];
    // All input products at once: gates = x w + b, which the recurrence then completes.
    linear_forward(dirs[d].x, dirs[d].w, dirs[d].b, dirs[d].gates, B * T, s.input, G, stream);
  }
  const int bb = lstm_batch_per_block(B, H, ndirs);
  const dim3 grid(static_cast<unsigned>((B + bb - 1) / bb), static_cast<unsigned>(ndirs));
  const dim3 block(static_cast<unsigned>(bb * G));
  const size_t shared = static_cast<size_t>(H * G + bb * H + bb * G) * sizeof(float);
  allow_shared(lstm_forward_kernel, shared);
  lstm_forward_kernel<<<grid, block, shared, stream>>>(pair, B, T, static_cast<int>(H), ld_hs, bb);
  HL_CUDA_LAUNCH_CHECK();
}

void lstm_backward(const LstmShape& s, const LstmBackwardArgs* dirs, int ndirs, int64_t ld_dhs,
                   cudaStream_t stream) {
  check_shape(s, ndirs, "cuda::lstm_backward");
  const int64_t B = s.batch, T = s.time, H = s.hidden, G = 4 * H;
  if (B * T > 0) {
    BackwardPair pair;
    for (int d = 0; d < ndirs; ++d) pair.d[d] = dirs[d];
    const int bb = lstm_batch_per_block(B, H, ndirs);
    const dim3 grid(static_cast<unsigned>((B + bb - 1) / bb), static_cast<unsigned>(ndirs));
    const dim3 block(static_cast<unsigned>(bb * H));
    const size_t shared = static_cast<size_t>(H * G + bb * G) * sizeof(float);
    allow_shared(lstm_backward_kernel, shared);
    lstm_backward_kernel<<<grid, block, shared, stream>>>(pair, B, T, static_cast<int>(H), ld_dhs, bb);
    HL_CUDA_LAUNCH_CHECK();
  }
  for (int d = 0; d < ndirs; ++d) {
    const LstmBackwardArgs& a = dirs[d];
    if (a.du) {
      GemmShape g;  // du [H, 4H] = prev^T [H, B T] dz [B T, 4H]; prev is zero at each first step
      g.m = H, g.n = G, g.k = B * T, g.trans_a = true;
      gemm_f32(g, a.prev, a.dz, a.du, stream);  // k == 0 writes zeros
    }
    linear_backward(a.x, a.w, a.dz, a.dx, a.dw, a.db, B * T, s.input, G, stream);
  }
}

}  // namespace hl::cuda
