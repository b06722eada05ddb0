// Small helpers for the readable tables the analysis commands print: width in
// terminal columns of UTF-8 text (ICU's East Asian Width: CJK and emoji take two
// columns, combining marks none) and padding / cutting to a column width.
#pragma once
#include <sys/ioctl.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace genlens::cli {

// Terminal columns of one code point.
inline size_t code_point_width(UChar32 c) {
  if (c < 0) return 1;  // an ill-formed byte: shown as one replacement character
  const auto cat = u_charType(c);
  if (cat == U_NON_SPACING_MARK || cat == U_ENCLOSING_MARK || cat == U_FORMAT_CHAR) return 0;
  const auto eaw = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);
  return (eaw == U_EA_WIDE || eaw == U_EA_FULLWIDTH) ? 2 : 1;
}

inline size_t display_width(std::string_view s) {
  size_t n = 0;
  const auto len = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < len;) {
    UChar32 c;
    U8_NEXT(s.data(), i, len, c);
    n += code_point_width(c);
  }
  return n;
}

// Cut to at most `w` columns (ending in "…" when cut), on code point boundaries.
inline std::string fit(std::string_view s, size_t w) {
  if (display_width(s) <= w) return std::string(s);
  std::string out;
  size_t cols = 0;
  const auto len = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < len;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(s.data(), i, len, c);
    const size_t cw = code_point_width(c);
    if (cols + cw + 1 > w) break;  // keep a column for the ellipsis
    out.append(s.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
    cols += cw;
  }
  return out + "…";
}

inline std::string pad(std::string_view s, size_t w) {
  std::string out = fit(s, w);
  for (size_t n = display_width(out); n < w; ++n) out.push_back(' ');
  return out;
}

inline std::string pad_left(std::string_view s, size_t w) {
  std::string out = fit(s, w);
  std::string sp;
  for (size_t n = display_width(out); n < w; ++n) sp.push_back(' ');
  return sp + out;
}

// A one-line view of free text: newlines and tabs shown as "\n" / "\t".
inline std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out.push_back(c);
  }
  return out;
}

// Word-wraps one line of text to at most `w` columns per line: breaks at spaces, and
// inside a word only when the word alone is wider than a line. At least one line.
inline std::vector<std::string> wrap(std::string_view s, size_t w) {
  if (w < 1) w = 1;
  std::vector<std::string> lines(1);
  size_t cols = 0;  // of lines.back()
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view word = s.substr(i, j - i);
    const size_t ww = display_width(word);
    if (cols > 0 && cols + 1 + ww <= w) {
      lines.back() += " ";
      lines.back() += word;
      cols += 1 + ww;
    } else if (ww <= w) {
      if (cols > 0) lines.emplace_back();
      lines.back() = std::string(word);
      cols = ww;
    } else {  // a word wider than a line: cut it on code point boundaries
      if (cols > 0) lines.emplace_back();
      cols = 0;
      const auto len = static_cast<int32_t>(word.size());
      for (int32_t k = 0; k < len;) {
        const int32_t start = k;
        UChar32 c;
        U8_NEXT(word.data(), k, len, c);
        const size_t cw = code_point_width(c);
        if (cols + cw > w && cols > 0) {
          lines.emplace_back();
          cols = 0;
        }
        lines.back().append(word.substr(static_cast<size_t>(start), static_cast<size_t>(k - start)));
        cols += cw;
      }
    }
    i = j;
  }
  return lines;
}

// Columns a table may use: `requested` when > 0 (--width), else $COLUMNS, else the
// terminal's width when stdout is one, else `fallback`.
inline size_t terminal_width(int64_t requested, size_t fallback = 100) {
  if (requested > 0) return static_cast<size_t>(requested);
  if (const char* c = std::getenv("COLUMNS")) {
    char* end = nullptr;
    const long v = std::strtol(c, &end, 10);
    if (end != c && *end == '\0' && v > 0) return static_cast<size_t>(v);
  }
  struct winsize ws {};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return fallback;
}

}  // namespace genlens::cli
