// load_tokenizer(dir): picks the backend for a model directory and resolves its
// BOS/EOS/PAD/UNK ids (tokenizer_config.json first, then config.json /
// generation_config.json ids, then well-known token names in the vocabulary).
#include "core/io/atomic_file.h"
#include "core/text/backends.h"
#include "core/util/error.h"
#include "core/util/model_dir.h"

namespace genlens::text {

namespace fs = std::filesystem;
using json = nlohmann::json;

json read_json_if_exists(const fs::path& p) {
  return fs::exists(p) ? io::read_json_file(p) : json();
}

namespace {

std::optional<TokenId> config_id(const json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
  const json& v = cfg[key];
  if (v.is_number_integer()) return v.get<TokenId>();
  if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<TokenId>();
  return std::nullopt;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& dir) {
  require_model_dir(dir, "tokenizer.json or tokenizer.model");
  const json config = read_json_if_exists(dir / "tokenizer_config.json");
  const json model_config = read_json_if_exists(dir / "config.json");
  const json gen_config = read_json_if_exists(dir / "generation_config.json");

  std::unique_ptr<BasicTokenizer> t;
  if (fs::exists(dir / "tokenizer.model")) {
    t = make_spm_tokenizer(dir / "tokenizer.model", config);
  } else if (fs::exists(dir / "tokenizer.json")) {
    t = make_hf_tokenizer(io::read_file(dir / "tokenizer.json"), config, (dir / "tokenizer.json").string());
  } else {
    fail("{}: no tokenizer.json or tokenizer.model in this directory", dir.string());
  }

  auto resolve = [&](const char* token_key, const char* id_key, std::optional<TokenId> current,
                     std::initializer_list<const char*> names) -> std::optional<TokenId> {
    if (auto name = config_token(config, token_key, (dir / "tokenizer_config.json").string())) {
      if (auto id = t->piece_to_id(*name)) return id;
      fail("{}: field {}: token '{}' is not in the vocabulary", (dir / "tokenizer_config.json").string(), token_key,
           *name);
    }
    // A key present as null means "none" (e.g. Qwen's bos_token: null).
    if (config.is_object() && config.contains(token_key) && config[token_key].is_null()) return std::nullopt;
    if (auto id = config_id(model_config, id_key)) return id;
    if (auto id = config_id(gen_config, id_key)) return id;
    if (current) return current;
    for (const char* n : names)
      if (auto id = t->piece_to_id(n)) return id;
    return std::nullopt;
  };
  t->set_bos(resolve("bos_token", "bos_token_id", t->bos_id(), {"<s>", "<|begin_of_text|>", "<bos>"}));
  t->set_eos(resolve("eos_token", "eos_token_id", t->eos_id(),
                     {"</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>", "<|im_end|>"}));
  t->set_pad(resolve("pad_token", "pad_token_id", t->pad_id(), {"<pad>", "<|pad|>"}));
  t->set_unk(resolve("unk_token", "unk_token_id", t->unk_id(), {"<unk>"}));
  return t;
}

}  // namespace genlens::text
