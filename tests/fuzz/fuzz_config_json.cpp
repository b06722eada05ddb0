// libFuzzer: config.json text. ModelConfig::from_json_string + validate must either give
// a config within genlens's bounds or throw genlens::Error (never a JSON type error,
// never a crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/model/config.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto c = genlens::model::ModelConfig::from_json_string(text, "fuzz/config.json");
    c.validate("fuzz/config.json");
    if (c.num_hidden_layers < 1 || c.num_hidden_layers > 4096 || c.hidden_size < 1 || c.vocab_size < 1)
      std::abort();
  } catch (const genlens::Error&) {
  }
  return 0;
}
