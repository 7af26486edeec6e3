// Whether OpenBLAS runs kernels made for this CPU. A DYNAMIC_ARCH OpenBLAS (Debian's)
// picks its kernels once, when the library loads, from the CPU model; a model newer than
// the library (e.g. Emerald Rapids, family 6 model 207, under OpenBLAS 0.3.21) falls
// back to the generic SSE3 "Prescott" kernels, and every sgemm runs 3-6x below the
// machine (measured: 1024^3 in 39 ms instead of 14 ms). Only the environment variable
// OPENBLAS_CORETYPE, read at load time, changes the choice, so the library can only say so.
// No CUDA twin: it is about the host BLAS library (cuBLAS picks its own kernels).
// Tests: none automatic (it depends on the machine); bench/bench_cnn.cpp prints the core.
#pragma once
#include <string>

namespace hl::cpu {

// OpenBLAS's name for the kernels it chose ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_core_name();

// The OPENBLAS_CORETYPE that would give this CPU its AVX-512 ("SkylakeX") or AVX2
// ("Haswell") kernels when OpenBLAS chose older ones; empty when its choice is fine (and
// on non-x86 machines). The command-line tools restart themselves once with it set
// (tools/cli_common.cpp).
std::string blas_suggested_coretype();

// A warning naming the fix when blas_suggested_coretype() is not empty; empty otherwise.
std::string blas_core_warning();

}  // namespace hl::cpu
