// Small helpers for the readable tables the analysis commands print: width in
// terminal columns of UTF-8 text (ICU's East Asian Width: CJK and emoji take two
// columns, combining marks none) and padding / cutting to a column width.
#pragma once
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <string>
#include <string_view>

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

}  // namespace genlens::cli
