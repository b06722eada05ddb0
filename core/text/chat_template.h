// Chat templates for one user turn plus the generation prompt (all that response
// generation needs). Rendered output equals what the model's own Jinja template
// renders for messages=[{"role":"user","content":text}], add_generation_prompt=true
// (Qwen3: enable_thinking=false).
#pragma once
#include <filesystem>
#include <string>

namespace genlens::text {

enum class ChatFormat { ChatML, Qwen3NoThink, Llama3, Llama2, Demo, None };

std::string to_string(ChatFormat f);
ChatFormat chat_format_from_string(const std::string& name);  // throws on unknown

struct ChatTemplate {
  ChatFormat format = ChatFormat::None;
  std::string bos_token;        // literal BOS text when the template emits it
  std::string system_default;   // e.g. Qwen2.5's default system prompt, if the template has one
  std::string render_user_turn(const std::string& user_text) const;
};

// Chooses the template from tokenizer_config.json's chat_template and config.json's
// model_type; `override_name` (from --chat-template) wins when non-empty.
ChatTemplate load_chat_template(const std::filesystem::path& model_dir,
                                const std::string& override_name = "");

}  // namespace genlens::text
