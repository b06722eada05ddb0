// UTF-8 and Unicode helpers shared by the tokenizer backends: decoding with the
// WHATWG replacement rules (what a browser/Node TextDecoder does, so invalid input is
// repaired exactly like the JS reference tokenizer sees it), whitespace classes, and
// ICU normalization (NFC/NFD/NFKC/NFKD) that keeps a byte alignment to its source.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace genlens::text::unicode {

// Appends the UTF-8 encoding of code point `cp` to `out`.
void append_utf8(std::string& out, char32_t cp);

// Decodes the code point at `s[i]` (valid UTF-8 assumed) and advances `i`.
char32_t next_cp(std::string_view s, size_t& i);
// Length in bytes of the UTF-8 sequence starting with lead byte `b` (valid input).
inline size_t seq_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

// True when `s` is well-formed UTF-8 (no surrogates, no overlongs, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Replaces every maximal ill-formed subsequence with U+FFFD (WHATWG "decode" =
// TextDecoder with fatal=false). `src_begin[k]` / `src_end[k]` give, for each output
// byte k, the input byte range it came from. Call only when !is_valid_utf8(s).
std::string sanitize_utf8(std::string_view s, std::vector<uint32_t>* src_begin = nullptr,
                          std::vector<uint32_t>* src_end = nullptr);

// The text a tokenizer actually encodes: the caller's input, or (when the input is not
// well-formed UTF-8) its sanitize_utf8() repair, with a map from byte ranges of that
// text back to byte ranges of the caller's input (for token offsets).
class RepairedText {
 public:
  explicit RepairedText(std::string_view input);
  std::string_view text() const { return repaired_ ? std::string_view(clean_) : input_; }
  // [b, e) in text() -> [begin, end) in the input. Empty ranges map to a point.
  std::pair<size_t, size_t> to_input(size_t b, size_t e) const;

 private:
  std::string_view input_;
  bool repaired_ = false;
  std::string clean_;
  std::vector<uint32_t> src_begin_, src_end_;
};

// JavaScript's String.prototype.trim set (WhiteSpace + LineTerminator): what the
// reference uses for added tokens' lstrip/rstrip and Jinja's trim filter.
bool is_js_space(char32_t c);
// Unicode White_Space property (Oniguruma's \s).
bool is_white_space(char32_t c);

// Python's str.isspace(): Unicode White_Space plus the ASCII information separators
// U+001C..U+001F (Python counts bidirectional classes B and S as space). This is the
// set the official release's `answer.strip()` removes.
bool is_py_space(char32_t c);
// Python's str.strip() with no argument, on UTF-8 text: the view of `s` without leading
// and trailing is_py_space code points. Ill-formed bytes are never space (Python would
// have refused to decode them), so they are kept.
std::string_view py_strip(std::string_view s);
// True when py_strip(s) is empty: Python's `not s.strip()`.
inline bool is_py_blank(std::string_view s) { return py_strip(s).empty(); }

// ASCII A-Z to a-z; every other byte (UTF-8 sequences included) kept, whatever the locale.
std::string ascii_lower(std::string s);

// Trims JS whitespace; returns the byte range [b, e) of the kept part.
void js_trim_range(std::string_view s, size_t& b, size_t& e, bool left, bool right);
std::string js_trim(std::string_view s);

// A string derived from a source string, with each derived byte mapped back to a
// source byte range. `identity` means derived == source (no vectors kept).
struct Aligned {
  std::string text;
  bool identity = true;
  std::vector<uint32_t> begin, end;  // per byte of `text` when !identity

  // Source range covered by derived bytes [b, e).
  void source_range(size_t b, size_t e, size_t& sb, size_t& se) const {
    if (identity) { sb = b; se = e; return; }
    if (b >= e) {
      sb = se = b < begin.size() ? begin[b] : (end.empty() ? 0 : end.back());
      return;
    }
    sb = begin[b];
    se = end[e - 1];
    if (se < sb) se = sb;
  }
  void make_explicit();  // turns an identity alignment into explicit vectors
};

enum class NormForm { NFC, NFD, NFKC, NFKD };
// Normalizes valid UTF-8 `s`; the result aligns to byte offsets in `s`.
Aligned normalize(std::string_view s, NormForm form);
bool is_normalized(std::string_view s, NormForm form);

}  // namespace genlens::text::unicode
