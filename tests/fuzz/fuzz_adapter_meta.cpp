// libFuzzer: an adapter's genlens.json. Parsing must either give metadata whose counts
// are within the bounds that size tensors (so loading allocates nothing absurd) and that
// survives a write/read round trip, or throw genlens::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/gen/adapter_meta.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;  // not JSON: the caller's read_json_file reports it
  try {
    auto m = genlens::gen::AdapterMeta::from_json(j, "fuzz/genlens.json");
    const auto& s = m.shape;
    if (s.n_thought < 0 || s.n_thought > 4096 || s.n_compression < 1 || s.n_compression > 4096 || s.hidden < 1 ||
        s.hidden > 131072 || s.teacher_dim < 1 || s.teacher_dim > (1 << 20))
      std::abort();
    auto again = genlens::gen::AdapterMeta::from_json(m.to_json(), "round trip");
    if (again.to_json() != m.to_json()) std::abort();
    m.base.check_matches(again.base, "fuzz/genlens.json");
  } catch (const genlens::Error&) {
  }
  return 0;
}
