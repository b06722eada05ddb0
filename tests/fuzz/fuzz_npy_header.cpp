// libFuzzer: a whole .npy file. The header parser must either describe an array whose
// bytes exactly fill the rest of the file, or throw genlens::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/io/npy_header.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto h = genlens::io::parse_npy_header(bytes, size, "fuzz.npy");
    if (h.data_offset > size || h.data_offset + h.data_bytes != size) std::abort();
    uint64_t n = 1;
    for (auto d : h.shape) {
      if (d < 0) std::abort();
      n *= static_cast<uint64_t>(d);
    }
    if (n * h.element_size != h.data_bytes) std::abort();
  } catch (const genlens::Error&) {
  }
  return 0;
}
