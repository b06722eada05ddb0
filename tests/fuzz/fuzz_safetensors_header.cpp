// libFuzzer: a safetensors file's first bytes (length field + JSON header). Parsing must
// either succeed with every tensor's byte range inside the file, sized as its dtype and
// shape say, or throw genlens::Error; never crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/io/safetensors_header.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto h = genlens::io::parse_safetensors_header(data, size, "fuzz.safetensors");
    if (h.data_start < 8 || h.data_start > size) std::abort();
    const uint64_t data_size = size - h.data_start;
    if (h.index.size() != h.tensors.size()) std::abort();
    for (auto& t : h.tensors) {
      if (t.begin > t.end || t.end > data_size) std::abort();
      if (size_t es = genlens::io::safetensors_dtype_size(t.dtype)) {
        uint64_t n = 1;
        for (auto d : t.shape) n *= static_cast<uint64_t>(d);
        if (n * es != t.end - t.begin) std::abort();
      }
    }
  } catch (const genlens::Error&) {
  }
  return 0;
}
