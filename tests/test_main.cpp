#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "core/runtime/env_info.h"

int main(int argc, char** argv) {
  // As the genlens executables do: OpenBLAS's pool the size of LibTorch's (env_info.h).
  genlens::runtime::match_blas_threads();
  doctest::Context context(argc, argv);
  return context.run();
}
