// `genlens tokenize --model DIR (--text T | --input FILE) [--json] [--special]`: ids,
// vocabulary pieces and the byte range of the input each token covers.
#include <fmt/format.h>
#include <nlohmann/json.hpp>


#include "app/cli/command.h"
#include "core/io/atomic_file.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct TokenizeOptions {
  std::string model, text, input;
  bool json = false, special = false;
};

// Shows control characters and invalid UTF-8 readably in the table.
std::string printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

RunFn setup_tokenize(CLI::App& sub) {
  auto o = std::make_shared<TokenizeOptions>();
  add_model_option(sub, "--model", o->model, "Model directory with tokenizer.json and/or tokenizer.model")->required();
  auto* t = sub.add_option("--text", o->text, "Text to tokenize");
  auto* f = sub.add_option("--input", o->input, "File whose whole content is tokenized");
  t->excludes(f);
  sub.add_flag("--json", o->json, "Print JSON instead of a table");
  sub.add_flag("--special", o->special, "Apply the post-processor (e.g. prepend BOS)");
  return [o, t, f] {
    if (t->count() == 0 && f->count() == 0) fail("tokenize: give --text or --input");
    std::string text = o->text;
    if (f->count()) {
      text = io::read_file(o->input);
    }
    auto tok = text::load_tokenizer(o->model);
    auto enc = tok->encode_with_offsets(text, o->special);
    if (o->json) {
      nlohmann::json j;
      j["model"] = o->model;
      j["backend"] = tok->backend_name();
      j["vocab_size"] = tok->vocab_size();
      j["ids"] = enc.ids;
      auto& arr = j["tokens"] = nlohmann::json::array();
      for (size_t i = 0; i < enc.ids.size(); ++i) {
        auto sp = enc.offsets[i];
        arr.push_back({{"id", enc.ids[i]},
                       {"piece", tok->id_to_piece(enc.ids[i])},
                       {"begin", sp.begin},
                       {"end", sp.end},
                       {"text", text.substr(sp.begin, sp.end - sp.begin)},
                       {"special", tok->is_special(enc.ids[i])}});
      }
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return 0;
    }
    fmt::print("{} tokens ({} backend, vocabulary {})\n", enc.ids.size(), tok->backend_name(), tok->vocab_size());
    fmt::print("{:>5}  {:>8}  {:>13}  {:<24}  {}\n", "#", "id", "bytes", "piece", "text");
    for (size_t i = 0; i < enc.ids.size(); ++i) {
      auto sp = enc.offsets[i];
      fmt::print("{:>5}  {:>8}  {:>13}  {:<24}  {}\n", i, enc.ids[i], fmt::format("[{},{})", sp.begin, sp.end),
                 printable(tok->id_to_piece(enc.ids[i])) + (tok->is_special(enc.ids[i]) ? " (special)" : ""),
                 "\"" + printable(text.substr(sp.begin, sp.end - sp.begin)) + "\"");
    }
    return 0;
  };
}

RegisterCommand reg({"tokenize", "Tokenize text with a model's tokenizer: ids, pieces, byte offsets",
                     setup_tokenize, 20});

}  // namespace
}  // namespace genlens::cli
