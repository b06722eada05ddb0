#include "core/util/utf8.h"

#include <algorithm>

namespace genlens::util {

namespace {
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
}  // namespace

size_t utf8_floor(std::string_view s, size_t i) {
  i = std::min(i, s.size());
  while (i > 0 && i < s.size() && is_continuation(s[i])) --i;
  return i;
}

size_t utf8_ceil(std::string_view s, size_t i) {
  i = std::min(i, s.size());
  while (i < s.size() && is_continuation(s[i])) ++i;
  return i;
}

std::string clip_head(std::string_view s, size_t max_bytes, std::string_view mark) {
  if (s.size() <= max_bytes) return std::string(s);
  std::string out(s.substr(0, utf8_floor(s, max_bytes)));
  out += mark;
  return out;
}

std::string clip_tail(std::string_view s, size_t max_bytes, std::string_view mark) {
  if (s.size() <= max_bytes) return std::string(s);
  std::string out(mark);
  out += s.substr(utf8_ceil(s, s.size() - max_bytes));
  return out;
}

}  // namespace genlens::util
