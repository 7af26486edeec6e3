// The stream type every CUDA launcher takes. With CUDA, the runtime's own; without it
// (HL_CUDA=OFF) the same opaque pointer type, declared here so that the launcher
// headers can be included unconditionally: engine/dispatch.h names a launcher in code
// that a CPU-only build compiles but never calls, so nothing links against it there.
#pragma once
#ifdef HL_HAVE_CUDA
#include <cuda_runtime_api.h>
#else
typedef struct CUstream_st* cudaStream_t;
#endif
