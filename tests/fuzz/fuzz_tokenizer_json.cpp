// libFuzzer: tokenizer.json loading must either succeed or throw genlens::Error, never
// crash; a tokenizer that loads must encode and decode a fixed text without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/text/tokenizer.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string json(reinterpret_cast<const char*>(data), size);
  try {
    auto t = genlens::text::load_hf_tokenizer_json(json, "", "fuzz.json");
    auto ids = t->encode("Hello world! caf\xC3\xA9 <|im_end|> 12345 \xF0\x9F\x98\x80 \xFF", true);
    (void)t->decode(ids, false);
    (void)t->decode({-1, 0, 1, 2, 1 << 30}, true);
  } catch (const genlens::Error&) {
  }
  return 0;
}
