// Small helpers for the readable tables the analysis commands print: width in
// terminal columns of UTF-8 text (one per code point; good enough for the pieces shown)
// and padding / cutting to a column width.
#pragma once
#include <string>
#include <string_view>

namespace genlens::cli {

inline size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// Cut to at most `w` columns (ending in "…" when cut), on code point boundaries.
inline std::string fit(std::string_view s, size_t w) {
  if (display_width(s) <= w) return std::string(s);
  std::string out;
  size_t cols = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) len = 4;
    else if (c >= 0xE0) len = 3;
    else if (c >= 0xC0) len = 2;
    if (cols + 1 >= w) break;
    out.append(s.substr(i, len));
    i += len;
    ++cols;
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
