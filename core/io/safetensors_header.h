// The safetensors header, parsed and validated without LibTorch (so it can be fuzzed on
// its own): 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets}, "__metadata__": {...}}, then the data section. Every field is checked
// against the file size before any tensor byte is touched.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace genlens::io {

struct TensorInfo {
  std::string name;
  std::string dtype;            // "F32", "BF16", "F16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

struct SafetensorsHeader {
  uint64_t data_start = 0;  // 8 + header length
  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t> index;  // name -> position in tensors
  std::map<std::string, std::string> metadata;
};

inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;  // the reference reader's limit

// Bytes per element of a safetensors dtype name genlens reads; 0 for any other name.
size_t safetensors_dtype_size(const std::string& dtype);

// `bytes` holds at least the first min(file_size, 8 + header length) bytes of the file.
// Throws genlens::Error naming `path` (and the tensor / field) on any inconsistency.
SafetensorsHeader parse_safetensors_header(const unsigned char* bytes, uint64_t file_size, const std::string& path);

}  // namespace genlens::io
