// libFuzzer: chat templates. The input is split at its first NUL: the part before is a
// Jinja template, detected and rendered for a fixed user turn; the whole input is also
// written as a model directory's tokenizer_config.json and loaded (JSON of any shape must
// give a template or a genlens::Error). Nothing in a template is ever executed.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/text/chat_template.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  const std::string tmpl = in.substr(0, in.find('\0'));
  auto ct = genlens::text::detect_chat_template(tmpl, "<s>");
  (void)ct.render_user_turn("  hello \xC3\xA9 <|im_end|> ");

  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("genlens-fuzz-chat-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer_config.json", std::ios::binary | std::ios::trunc) << in;
  try {
    auto loaded = genlens::text::load_chat_template(dir);
    (void)loaded.render_user_turn("hi");
  } catch (const genlens::Error&) {
  }
  return 0;
}
