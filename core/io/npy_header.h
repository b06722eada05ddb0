// The .npy header, parsed and validated without LibTorch (so it can be fuzzed on its
// own): magic "\x93NUMPY", version 1.0 (u16 header length) or 2.0/3.0 (u32), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace genlens::io {

struct NpyHeader {
  std::string descr;           // '<f4', '<f8', '<i4' or '<i8' (the dtypes genlens reads)
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t element_size = 0;
  uint64_t data_offset = 0;    // where the array's bytes begin
  uint64_t data_bytes = 0;     // numel * element_size (checked against the file)
};

inline constexpr uint64_t kMaxNpyHeaderBytes = 1u << 20;  // numpy writes a few hundred bytes

// `prefix` holds the file's first min(file_size, 12 + kMaxNpyHeaderBytes) bytes. Throws
// genlens::Error naming `path` and the field when the header is malformed or the file
// size does not match the shape and dtype.
NpyHeader parse_npy_header(const std::string& prefix, uint64_t file_size, const std::string& path);

}  // namespace genlens::io
