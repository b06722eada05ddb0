// `genlens chat-format --model DIR --text T [--chat-template NAME] [--json]`: the
// prompt response generation feeds the model (one user turn + generation prompt).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/text/chat_template.h"

namespace genlens::cli {
namespace {

struct ChatFormatOptions {
  std::string model, text, chat_template;
  bool json = false;
};

RunFn setup_chat_format(CLI::App& sub) {
  auto o = std::make_shared<ChatFormatOptions>();
  add_model_option(sub, "--model", o->model, "Model directory (tokenizer_config.json, config.json)")->required();
  sub.add_option("--text", o->text, "The user message")->required();
  sub.add_option("--chat-template", o->chat_template,
                 "Override: chatml, qwen2.5, qwen3, llama3, llama3.1, llama3.2, llama2, demo, none");
  sub.add_flag("--json", o->json, "Print JSON {format, source, prompt}");
  return [o] {
    auto ct = text::load_chat_template(o->model, o->chat_template);
    std::string prompt = ct.render_user_turn(o->text);
    if (o->json) {
      nlohmann::json j = {{"format", text::to_string(ct.format)}, {"source", ct.source}, {"prompt", prompt}};
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      fmt::print("{}", prompt);
    }
    return 0;
  };
}

RegisterCommand reg({"chat-format", "Render the chat prompt (one user turn + generation prompt) for a model",
                     setup_chat_format, 21});

}  // namespace
}  // namespace genlens::cli
