// Chat templates for one user turn plus the generation prompt (all that response
// generation needs). Rendered output equals what the model's own Jinja template
// renders for messages=[{"role":"user","content":text}], add_generation_prompt=true
// (Qwen3: enable_thinking=false).
#pragma once
#include <filesystem>
#include <string>

namespace genlens::text {

// Llama3: the original Llama-3 template (no system header). Llama31: Llama-3.1/3.2/3.3,
// whose template always emits a system header with "Cutting Knowledge Date: December
// 2023\nToday Date: <date_string>".
enum class ChatFormat { ChatML, Qwen3NoThink, Llama3, Llama2, Demo, None, Llama31 };

std::string to_string(ChatFormat f);
// Names: chatml, qwen2.5 (ChatML + Qwen's default system prompt), qwen3, llama3,
// llama3.1 (= llama3.2), llama2, demo, none. Throws on unknown, listing these.
ChatFormat chat_format_from_string(const std::string& name);

// The demo model's own template (what the demo world writes into its
// tokenizer_config.json): one turn renders "<|user|>\n{text}\n<|assistant|>\n".
extern const char* const kDemoChatTemplate;
// The Qwen2.5 default system prompt.
extern const char* const kQwenDefaultSystem;
// "Today Date" of Llama-3.1 templates when no date_string is passed (their literal
// fallback). Llama-3.2/3.3 templates call strftime_now("%d %b %Y") instead, so their
// default is today's date; detect_chat_template sets date_string accordingly (pin it
// by assigning ChatTemplate::date_string).
extern const char* const kLlamaDefaultDate;

struct ChatTemplate {
  ChatFormat format = ChatFormat::None;
  std::string bos_token;        // literal BOS text when the template emits it
  std::string system_default;   // e.g. Qwen2.5's default system prompt, if the template has one
  std::string date_string = kLlamaDefaultDate;  // Llama31 only
  std::string source;           // where the choice came from (for messages / --verbose)
  std::string render_user_turn(const std::string& user_text) const;
};

// Chooses the template from tokenizer_config.json's chat_template and config.json's
// model_type; `override_name` (from --chat-template) wins when non-empty.
ChatTemplate load_chat_template(const std::filesystem::path& model_dir,
                                const std::string& override_name = "");

// Recognizes a Jinja chat template's family (and its default system prompt / date).
// Returns format None when the template is not one genlens renders.
ChatTemplate detect_chat_template(const std::string& jinja_template, const std::string& bos_token);

}  // namespace genlens::text
