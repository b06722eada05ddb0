#include "core/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cctype>

#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::text {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() {
    if (code) pcre2_code_free(code);
  }
};

namespace {

constexpr const char* kWordChars = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
// JavaScript's native \s (WhiteSpace + LineTerminator): used by the reference's
// built-in GPT-2 pattern, which is a JS literal and not translated.
constexpr const char* kJsSpaceChars =
    "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}\\x{FEFF}";

struct MatchState {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchState() {
    md = pcre2_match_data_create(1, nullptr);
    mctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr);
    if (stack) pcre2_jit_stack_assign(mctx, nullptr, stack);
  }
  ~MatchState() {
    if (stack) pcre2_jit_stack_free(stack);
    pcre2_match_context_free(mctx);
    pcre2_match_data_free(md);
  }
};

MatchState& match_state() {
  thread_local MatchState st;
  return st;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

void append_folded_char(std::string& out, char c, bool in_class) {
  if (std::isalpha(static_cast<unsigned char>(c))) {
    char lo = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    char up = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (in_class) {
      out += lo;
      out += up;
    } else {
      out += '[';
      out += lo;
      out += up;
      out += ']';
    }
  } else {
    out += c;
  }
}

}  // namespace

std::string Regex::translate_oniguruma(const std::string& p) {
  std::string out;
  std::vector<bool> fold_stack;
  bool fold = false;
  bool in_class = false;
  size_t class_start = 0;
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char n = p[i + 1];
      // \p{..}, \P{..}, \x{..}: copy verbatim.
      if ((n == 'p' || n == 'P' || n == 'x') && i + 2 < p.size() && p[i + 2] == '{') {
        size_t close = p.find('}', i + 2);
        if (close == std::string::npos) close = p.size() - 1;
        out.append(p, i, close - i + 1);
        i = close + 1;
        continue;
      }
      if (n == 'u' && i + 6 <= p.size()) {
        out += "\\x{";
        out.append(p, i + 2, 4);
        out += '}';
        i += 6;
        continue;
      }
      i += 2;
      switch (n) {
        case 's': out += "\\p{White_Space}"; break;
        case 'S': out += "\\P{White_Space}"; break;
        case 'd': out += "\\p{Nd}"; break;
        case 'D': out += "\\P{Nd}"; break;
        case 'w':
          if (in_class) out += kWordChars;
          else { out += '['; out += kWordChars; out += ']'; }
          break;
        case 'W':
          if (in_class) fail("regex: \\W inside a character class is not supported (pattern: {})", p);
          out += "[^"; out += kWordChars; out += ']';
          break;
        case 'h':
          out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]";
          break;
        case 'H':
          if (in_class) fail("regex: \\H inside a character class is not supported (pattern: {})", p);
          out += "[^0-9A-Fa-f]";
          break;
        case 'v': out += "\\x{0B}"; break;
        case 'a': out += "\\x{07}"; break;
        case 'e': out += "\\x{1B}"; break;
        default:
          out += '\\';
          out += n;
      }
      continue;
    }
    if (in_class) {
      if (c == ']' && i > class_start) {
        in_class = false;
        out += c;
        ++i;
        continue;
      }
      if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX [:alpha:]
        size_t close = p.find(":]", i + 2);
        if (close != std::string::npos) {
          out.append(p, i, close + 2 - i);
          i = close + 2;
          continue;
        }
      }
      if (fold) append_folded_char(out, c, true);
      else out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (i < p.size() && p[i] == '^') { out += '^'; ++i; }
      class_start = i;  // a ']' right here is a literal
      if (i < p.size() && p[i] == ']') { out += "\\]"; ++i; }
      continue;
    }
    if (c == '(') {
      fold_stack.push_back(fold);
      if (p.compare(i, 4, "(?i:") == 0) {
        fold = true;
        out += "(?:";
        i += 4;
        continue;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == ')') {
      if (!fold_stack.empty()) {
        fold = fold_stack.back();
        fold_stack.pop_back();
      }
      out += c;
      ++i;
      continue;
    }
    if (fold && std::isalpha(static_cast<unsigned char>(c))) {
      // Inside a group's `(?` prefix letters are syntax, not literals.
      bool after_group_open = !out.empty() && out.back() == '?' && out.size() >= 2 && out[out.size() - 2] == '(';
      if (!after_group_open) {
        append_folded_char(out, c, false);
        ++i;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

Regex Regex::compile(const std::string& src, const std::string& shown, const std::string& where) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(src.data()), src.size(), PCRE2_UTF,
                                   &err, &off, nullptr);
  if (!code)
    fail("{}: cannot compile regex '{}' at offset {}: {}", where, shown, off, pcre2_message(err));
  Regex r;
  r.code_ = std::make_shared<Regex::Code>();
  r.code_->code = code;
  r.code_->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  r.pattern_ = shown;
  return r;
}

Regex Regex::from_oniguruma(const std::string& pattern, const std::string& where) {
  return compile(translate_oniguruma(pattern), pattern, where);
}

Regex Regex::from_pcre2(const std::string& pattern, const std::string& where) {
  return compile(pattern, pattern, where);
}

Regex Regex::literal(const std::string& text) {
  std::string src = "\\Q" + text + "\\E";
  if (text.find("\\E") != std::string::npos) {
    src.clear();
    for (char ch : text) {
      if (std::isalnum(static_cast<unsigned char>(ch)) || static_cast<unsigned char>(ch) >= 0x80) src += ch;
      else { src += '\\'; src += ch; }
    }
  }
  return compile(src, text, "literal pattern");
}

Regex Regex::gpt2_byte_level() {
  static const Regex r = [] {
    std::string s = kJsSpaceChars;
    std::string src = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + s + "\\p{L}\\p{N}]+|[" + s +
                      "]+(?![^" + s + "])|[" + s + "]+";
    return compile(src, "GPT-2 ByteLevel pattern", "ByteLevel pre-tokenizer");
  }();
  return r;
}

void Regex::find_all(std::string_view s, std::vector<Match>& out) const {
  out.clear();
  if (!code_) return;
  MatchState& st = match_state();
  auto subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t start = 0;
  while (start <= s.size()) {
    int rc = code_->jit ? pcre2_jit_match(code_->code, subject, s.size(), start, 0, st.md, st.mctx)
                        : pcre2_match(code_->code, subject, s.size(), start, PCRE2_NO_UTF_CHECK, st.md, st.mctx);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("regex '{}': matching failed: {}", pattern_, pcre2_message(rc));
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
    size_t b = ov[0], e = ov[1];
    out.push_back({b, e});
    if (e == b) {
      // JS: an empty match advances lastIndex by one code point.
      if (e >= s.size()) break;
      start = e + unicode::seq_len(static_cast<unsigned char>(s[e]));
    } else {
      start = e;
    }
  }
}

}  // namespace genlens::text
