#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#if GENLENS_TESTS_WITH_CORE
#include "core/runtime/env_info.h"
#endif

int main(int argc, char** argv) {
#if GENLENS_TESTS_WITH_CORE
  // As the genlens executables do: OpenBLAS's pool the size of LibTorch's (env_info.h).
  genlens::runtime::match_blas_threads();
#endif
  doctest::Context context(argc, argv);
  return context.run();
}
