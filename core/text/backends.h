// Internal to core/text: what the tokenizer backends share, and their factories.
// Code outside core/text uses tokenizer.h only.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/text/tokenizer.h"

namespace genlens::text {

// Holds BOS/EOS/PAD/UNK ids, which come from tokenizer_config.json, config.json or the
// vocabulary, whichever names them first (see tokenizer_load.cpp).
class BasicTokenizer : public Tokenizer {
 public:
  std::optional<TokenId> bos_id() const override { return bos_; }
  std::optional<TokenId> eos_id() const override { return eos_; }
  std::optional<TokenId> pad_id() const override { return pad_; }
  std::optional<TokenId> unk_id() const override { return unk_; }
  void set_bos(std::optional<TokenId> v) { bos_ = v; }
  void set_eos(std::optional<TokenId> v) { eos_ = v; }
  void set_pad(std::optional<TokenId> v) { pad_ = v; }
  void set_unk(std::optional<TokenId> v) { unk_ = v; }

 protected:
  std::optional<TokenId> bos_, eos_, pad_, unk_;
};

// Parsed JSON of `p`, or null when the file does not exist; invalid JSON is an error
// naming the file.
nlohmann::json read_json_if_exists(const std::filesystem::path& p);

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const nlohmann::json& config, const char* key,
                                        const std::string& source = "tokenizer_config.json");

// tokenizer.json text + parsed tokenizer_config.json (null or object).
std::unique_ptr<BasicTokenizer> make_hf_tokenizer(std::string_view tokenizer_json, const nlohmann::json& config,
                                                  const std::string& where);
// A SentencePiece model file (loaded through the genlens_spm plugin).
std::unique_ptr<BasicTokenizer> make_spm_tokenizer(const std::filesystem::path& model_file,
                                                   const nlohmann::json& config);

}  // namespace genlens::text
