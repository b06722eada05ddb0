// Chat templates rendered natively for the families genlens generates with. Each
// format below is what that family's Jinja template renders for one user message with
// add_generation_prompt=true; the parity test renders the real templates with
// @huggingface/jinja and compares.
#include "core/text/chat_template.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <cctype>
#include <optional>
#include <sstream>

#include "core/io/atomic_file.h"
#include "core/text/backends.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::text {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* const kDemoChatTemplate =
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
const char* const kQwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
const char* const kLlamaDefaultDate = "26 Jul 2024";

std::string to_string(ChatFormat f) {
  switch (f) {
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::Qwen3NoThink: return "qwen3";
    case ChatFormat::Llama3: return "llama3";
    case ChatFormat::Llama31: return "llama3.1";
    case ChatFormat::Llama2: return "llama2";
    case ChatFormat::Demo: return "demo";
    case ChatFormat::None: return "none";
  }
  return "none";
}

ChatFormat chat_format_from_string(const std::string& name) {
  if (name == "chatml" || name == "qwen2.5" || name == "qwen2") return ChatFormat::ChatML;
  if (name == "qwen3") return ChatFormat::Qwen3NoThink;
  if (name == "llama3") return ChatFormat::Llama3;
  if (name == "llama3.1" || name == "llama3.2" || name == "llama3.3") return ChatFormat::Llama31;
  if (name == "llama2" || name == "mistral") return ChatFormat::Llama2;
  if (name == "demo") return ChatFormat::Demo;
  if (name == "none" || name == "raw") return ChatFormat::None;
  fail("chat template '{}': unknown name (expected one of: chatml, qwen2.5, qwen3, llama3, llama3.1, llama3.2, "
       "llama2, demo, none)", name);
}

std::string ChatTemplate::render_user_turn(const std::string& text) const {
  // Llama templates apply Jinja's trim / strip(), which @huggingface/jinja implements
  // as JavaScript's String.prototype.trim.
  switch (format) {
    case ChatFormat::ChatML: {
      std::string out;
      if (!system_default.empty()) out += "<|im_start|>system\n" + system_default + "<|im_end|>\n";
      return out + "<|im_start|>user\n" + text + "<|im_end|>\n<|im_start|>assistant\n";
    }
    case ChatFormat::Qwen3NoThink:
      return "<|im_start|>user\n" + text + "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
    case ChatFormat::Llama3:
      return bos_token + "<|start_header_id|>user<|end_header_id|>\n\n" + unicode::js_trim(text) +
             "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    case ChatFormat::Llama31:
      return bos_token + "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " +
             date_string + "\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n" + unicode::js_trim(text) +
             "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    case ChatFormat::Llama2:
      return bos_token + "[INST] " + unicode::js_trim(text) + " [/INST]";
    case ChatFormat::Demo:
      return "<|user|>\n" + text + "\n<|assistant|>\n";
    case ChatFormat::None:
      return text;
  }
  return text;
}

namespace {

// Undoes the escapes of a Jinja string literal (\n, \t, \', \", \\).
std::string jinja_unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool has(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// The first '<|im_start|>system' + (\n or the escape \\n) + text + '<|im_end|>' whose
// text holds no quote, '+', '{' or '}' (i.e. a literal, not an expression), unescaped.
// The literal of `set date_string = "..."` (or '...'), if the template has one.
std::optional<std::string> literal_date_string(const std::string& t) {
  auto space = [&](size_t i) { return i < t.size() && std::isspace(static_cast<unsigned char>(t[i])); };
  for (size_t at = t.find("set"); at != std::string::npos; at = t.find("set", at + 1)) {
    size_t i = at + 3;
    if (!space(i)) continue;
    while (space(i)) ++i;
    if (t.compare(i, 11, "date_string") != 0) continue;
    i += 11;
    while (space(i)) ++i;
    if (i >= t.size() || t[i] != '=') continue;
    ++i;
    while (space(i)) ++i;
    if (i >= t.size() || (t[i] != '"' && t[i] != '\'')) continue;
    const size_t e = t.find_first_of("\"'", i + 1);
    if (e == std::string::npos) return std::nullopt;
    return t.substr(i + 1, e - i - 1);
  }
  return std::nullopt;
}

std::string literal_system_turn(const std::string& t) {
  static const std::string open = "<|im_start|>system", close = "<|im_end|>";
  for (size_t at = t.find(open); at != std::string::npos; at = t.find(open, at + 1)) {
    size_t b = at + open.size();
    if (t.compare(b, 2, "\\n") == 0) b += 2;
    else if (t.compare(b, 1, "\n") == 0) b += 1;
    else continue;
    const size_t e = t.find(close, b);
    if (e == std::string::npos) return "";
    const std::string text = t.substr(b, e - b);
    if (text.find_first_of("'\"+{}") == std::string::npos) return jinja_unescape(text);
  }
  return "";
}

// strftime("%d %b %Y") of the local date, with C-locale month names.
std::string today_date_string() {
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d %s %04d", tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900);
  return buf;
}

}  // namespace

ChatTemplate detect_chat_template(const std::string& t, const std::string& bos_token) {
  ChatTemplate ct;
  ct.bos_token = bos_token;
  if (has(t, "<|im_start|>")) {
    if (has(t, "enable_thinking") || has(t, "<think>")) {
      ct.format = ChatFormat::Qwen3NoThink;
      return ct;
    }
    ct.format = ChatFormat::ChatML;
    // A default system turn written as one literal: '<|im_start|>system\n...<|im_end|>'
    // (plain string search: a template from a file must not be able to make a regex
    // engine recurse once per character).
    ct.system_default = literal_system_turn(t);
    return ct;
  }
  if (has(t, "<|start_header_id|>")) {
    if (has(t, "Cutting Knowledge Date")) {
      ct.format = ChatFormat::Llama31;
      // The date the real template renders by default: Llama-3.2/3.3 templates call
      // strftime_now("%d %b %Y") when the renderer provides it (Python transformers and
      // @huggingface/jinja both do), i.e. today's local date; Llama-3.1 templates use
      // their literal fallback `set date_string = "26 Jul 2024"`.
      if (has(t, "strftime_now")) ct.date_string = today_date_string();
      else if (auto d = literal_date_string(t)) ct.date_string = *d;
    } else {
      ct.format = ChatFormat::Llama3;
    }
    return ct;
  }
  if (has(t, "[INST]")) {
    ct.format = ChatFormat::Llama2;
    return ct;
  }
  if (t == kDemoChatTemplate || (has(t, "<|user|>") && has(t, "<|assistant|>") && !has(t, "</s>") && !has(t, "<|end|>"))) {
    ct.format = ChatFormat::Demo;
    return ct;
  }
  ct.format = ChatFormat::None;
  return ct;
}

ChatTemplate load_chat_template(const fs::path& dir, const std::string& override_name) {
  const fs::path cfg_path = dir / "tokenizer_config.json";
  const json cfg = read_json_if_exists(cfg_path);
  const json model_cfg = read_json_if_exists(dir / "config.json");
  std::string bos = config_token(cfg, "bos_token", cfg_path.string()).value_or("");

  std::string tmpl;
  if (cfg.is_object() && cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
    const json& c = cfg["chat_template"];
    if (c.is_string()) {
      tmpl = c.get<std::string>();
    } else if (c.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (auto& e : c)
        if (e.is_object() && e.contains("name") && e["name"] == "default" && e.contains("template") &&
            e["template"].is_string())
          tmpl = e["template"].get<std::string>();
      if (tmpl.empty())
        fail("{}: field chat_template: a list of named templates needs an entry {{\"name\": \"default\", "
             "\"template\": \"...\"}}", cfg_path.string());
    } else {
      fail("{}: field chat_template: expected a string or a list of {{\"name\", \"template\"}} objects, found {}",
           cfg_path.string(), c.type_name());
    }
  }
  if (tmpl.empty() && fs::exists(dir / "chat_template.jinja")) {
    tmpl = io::read_file(dir / "chat_template.jinja");
  }
  ChatTemplate detected = tmpl.empty() ? ChatTemplate{} : detect_chat_template(tmpl, bos);
  detected.bos_token = bos;

  if (!override_name.empty()) {
    ChatTemplate ct;
    ct.format = chat_format_from_string(override_name);
    ct.bos_token = bos;
    ct.source = "--chat-template " + override_name;
    if (ct.format == ChatFormat::ChatML)
      ct.system_default = override_name == "qwen2.5" ? kQwenDefaultSystem
                          : detected.format == ChatFormat::ChatML ? detected.system_default : "";
    if (ct.format == ChatFormat::Llama31 && detected.format == ChatFormat::Llama31) ct.date_string = detected.date_string;
    if (ct.bos_token.empty()) {
      if (ct.format == ChatFormat::Llama3 || ct.format == ChatFormat::Llama31) ct.bos_token = "<|begin_of_text|>";
      if (ct.format == ChatFormat::Llama2) ct.bos_token = "<s>";
    }
    return ct;
  }
  if (!tmpl.empty()) {
    if (detected.format == ChatFormat::None)
      fail("{}: field chat_template: not a template family genlens renders (ChatML/Qwen2.5, Qwen3, Llama-3, "
           "Llama-3.1/3.2, Llama-2 [INST], demo); pass --chat-template NAME to choose one", cfg_path.string());
    detected.source = cfg_path.string() + " chat_template";
    return detected;
  }
  // No template: fall back on config.json's model_type.
  std::string mt;
  if (model_cfg.is_object() && model_cfg.contains("model_type")) {
    if (!model_cfg["model_type"].is_string())
      fail("{}: field model_type: expected a string, found {}", (dir / "config.json").string(),
           model_cfg["model_type"].dump().substr(0, 200));
    mt = model_cfg["model_type"].get<std::string>();
  }
  ChatTemplate ct;
  ct.bos_token = bos;
  ct.source = (dir / "config.json").string() + " model_type " + mt;
  if (mt == "qwen2") {
    ct.format = ChatFormat::ChatML;
    ct.system_default = kQwenDefaultSystem;
  } else if (mt == "qwen3") {
    ct.format = ChatFormat::Qwen3NoThink;
  } else if (mt == "llama" && bos == "<|begin_of_text|>") {
    ct.format = ChatFormat::Llama3;
  } else if ((mt == "llama" || mt == "mistral") && (bos == "<s>" || bos.empty())) {
    ct.format = ChatFormat::Llama2;
    if (ct.bos_token.empty()) ct.bos_token = "<s>";
  } else {
    fail("{}: no chat_template in tokenizer_config.json and model_type '{}' in config.json does not imply one; "
         "pass --chat-template NAME (chatml, qwen2.5, qwen3, llama3, llama3.1, llama2, demo, none)",
         dir.string(), mt.empty() ? std::string("(missing)") : mt);
  }
  return ct;
}

}  // namespace genlens::text
