#include "kernels/cpu/blas_check.h"

#include <cblas.h>

#include <set>

namespace hl::cpu {

std::string blas_core_name() {
  const char* name = openblas_get_corename();
  return name ? name : "unknown";
}

std::string blas_suggested_coretype() {
#if defined(__x86_64__) && defined(__GNUC__)
  // OpenBLAS core names whose sgemm uses AVX-512, and AVX2 with FMA.
  static const std::set<std::string> avx512 = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  static const std::set<std::string> avx2 = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
  const std::string core = blas_core_name();
  std::string want;
  if (__builtin_cpu_supports("avx512f") && !avx512.count(core))
    want = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !avx2.count(core))
    want = "Haswell";
  return want;
#else
  return "";
#endif
}

std::string blas_core_warning() {
  const std::string want = blas_suggested_coretype();
  if (want.empty()) return "";
  return "OpenBLAS chose its '" + blas_core_name() + "' kernels, older than this CPU (it does not recognise the " +
         "model); matrix products run several times slower than they could. Set OPENBLAS_CORETYPE=" + want +
         " in the environment before starting the program.";
}

}  // namespace hl::cpu
