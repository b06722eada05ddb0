// The Tokenizer interface every backend implements (HF tokenizer.json byte-level BPE
// and Metaspace/byte-fallback BPE; SentencePiece tokenizer.model). Pure C++: no torch.
//
// Behaviour notes (tokenizer.json backend; parity with @huggingface/tokenizers is
// tested line by line, see tests/unit/test_tokenizer_parity.cpp):
// - Invalid UTF-8 input is repaired first, each maximal ill-formed subsequence becoming
//   U+FFFD (what TextDecoder does); offsets still point into the original bytes.
// - Added tokens are matched in the raw text before anything else (longest match,
//   left to right); the normalizer and pre-tokenizer run on the text between them.
// - Llama-2/Mistral files prepend "▁" to every text section (their normalizer) and
//   strip one leading space when decoding, so decode(encode(x)) == x except when x
//   contains "▁" itself or added-token strings (sections after a token get a prefix
//   space). Qwen's NFC normalizer changes non-NFC input; Llama-3 decodes with
//   clean_up_tokenization_spaces (" ." -> ".") unless DecodeOptions turns it off.
// - encode() and decode() are const and safe to call from several threads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace genlens::text {

using TokenId = int32_t;

// Byte range [begin, end) of a token in the encoded input (UTF-8 bytes). Special
// tokens added by the post-processor (e.g. BOS) have begin == end.
struct Span {
  size_t begin = 0, end = 0;
};

struct Encoding {
  std::vector<TokenId> ids;
  std::vector<Span> offsets;  // one per id
};

struct DecodeOptions {
  bool skip_special = true;
  // Hugging Face's clean_up_tokenization_spaces (" ." -> ".", " n't" -> "n't", ...).
  // Unset: what tokenizer_config.json says (the reference's default is true).
  std::optional<bool> clean_up_spaces;
};

// An entry of tokenizer.json's added_tokens (or one added with add_special_token).
struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false, rstrip = false;  // strip JS whitespace on that side when matched
  bool normalized = false;              // matched after normalization
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // add_special: apply the model's post-processor (e.g. prepend BOS for Llama).
  virtual Encoding encode_with_offsets(std::string_view text, bool add_special = false) const = 0;
  std::vector<TokenId> encode(std::string_view text, bool add_special = false) const {
    return encode_with_offsets(text, add_special).ids;
  }
  virtual std::string decode(const std::vector<TokenId>& ids, bool skip_special = true) const = 0;
  virtual std::string decode_with(const std::vector<TokenId>& ids, const DecodeOptions& opt) const {
    return decode(ids, opt.skip_special);
  }

  virtual std::string id_to_piece(TokenId id) const = 0;  // raw vocabulary string
  virtual std::optional<TokenId> piece_to_id(std::string_view piece) const = 0;
  virtual int32_t vocab_size() const = 0;  // including added tokens
  virtual bool is_special(TokenId id) const = 0;

  virtual std::optional<TokenId> bos_id() const = 0;
  virtual std::optional<TokenId> eos_id() const = 0;
  virtual std::optional<TokenId> pad_id() const = 0;
  virtual std::optional<TokenId> unk_id() const { return std::nullopt; }

  // Added tokens (matched in the raw text before the model runs), in id order.
  virtual std::vector<AddedToken> added_tokens() const { return {}; }
  std::optional<TokenId> added_token_id(std::string_view content) const {
    for (const auto& t : added_tokens())
      if (t.content == content) return t.id;
    return std::nullopt;
  }

  // Adds a special token at the end of the vocabulary (or returns its id if the
  // content already exists). Used for the method's thought/compression tokens.
  virtual TokenId add_special_token(const std::string& content) = 0;

  virtual std::string backend_name() const = 0;  // "hf-bpe", "sentencepiece", ...
};

// Loads the tokenizer of a model directory: tokenizer.model (SentencePiece) when
// present, else tokenizer.json; tokenizer_config.json supplies BOS/EOS/PAD and flags.
// Throws genlens::Error naming the file and field on bad input.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir);

// The HF tokenizer.json backend from file contents (tokenizer_config.json text may be
// empty). `where` names the source in error messages. Used by tests and fuzzers.
std::unique_ptr<Tokenizer> load_hf_tokenizer_json(std::string_view tokenizer_json,
                                                  std::string_view tokenizer_config_json,
                                                  const std::string& where = "tokenizer.json");

}  // namespace genlens::text
