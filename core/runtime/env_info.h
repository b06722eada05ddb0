// What the machine offers LibTorch: version, BLAS in use, threads, devices.
#pragma once
#include <string>
#include <vector>

namespace genlens::runtime {

struct EnvInfo {
  std::string genlens_version;
  std::string torch_version;
  std::string blas_library;      // resolved path of the libblas actually loaded
  bool blas_is_reference = false;  // true when the slow reference BLAS is in use
  int intra_op_threads = 0;
  int inter_op_threads = 0;
  std::vector<std::string> devices;  // "cpu", "cuda:0 (NVIDIA H100 ...)", ...
};

EnvInfo probe_env();

}  // namespace genlens::runtime
