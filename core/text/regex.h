// PCRE2 (JIT) regular expressions for tokenizer.json split patterns. Patterns in
// tokenizer.json are written for Oniguruma (the Rust `tokenizers` crate); they are
// translated the way the JS reference (@huggingface/tokenizers) translates them:
// \s = Unicode White_Space, \d = \p{Nd}, \w = Unicode word characters, and (?i:...)
// folds ASCII letters only. Matching follows JavaScript's global-match iteration
// (an empty match advances one code point).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace genlens::text {

class Regex {
 public:
  struct Match {
    size_t begin, end;
  };
  Regex() = default;
  // `where` names the file/field for error messages.
  static Regex from_oniguruma(const std::string& pattern, const std::string& where);
  static Regex from_pcre2(const std::string& pattern, const std::string& where);
  static Regex literal(const std::string& text);
  // The GPT-2 pattern the ByteLevel pre-tokenizer uses when use_regex is true (with
  // JavaScript's own \s, as in the reference).
  static Regex gpt2_byte_level();

  bool valid() const { return code_ != nullptr; }
  const std::string& pattern() const { return pattern_; }
  // All matches in `s` (valid UTF-8), appended to `out` after clearing it.
  void find_all(std::string_view s, std::vector<Match>& out) const;

  // Oniguruma -> PCRE2 source translation (exposed for tests).
  static std::string translate_oniguruma(const std::string& pattern);

 private:
  struct Code;
  static Regex compile(const std::string& src, const std::string& shown, const std::string& where);
  std::shared_ptr<Code> code_;
  std::string pattern_;
};

}  // namespace genlens::text
