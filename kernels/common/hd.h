// HL_HD marks functions that compile for both the host and CUDA devices, so that the
// CPU and CUDA kernels share one definition of small scalar math (casts, Philox).
#pragma once
#if defined(__CUDACC__)
#define HL_HD __host__ __device__ __forceinline__
#else
#define HL_HD inline
#endif
