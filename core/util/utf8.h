// Cutting UTF-8 text on character boundaries, for messages and labels. In util/ so that the
// lowest layers (io's JSON checks) can clip what they quote, as text/ and the rest do.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace genlens::util {

// Byte offsets on UTF-8 character boundaries (a continuation byte 10xxxxxx never starts a
// character): the nearest boundary at or before `i` (floor) or at or after it (ceil), `i`
// clamped to s.size(). Cutting there never splits a character into invalid bytes.
size_t utf8_floor(std::string_view s, size_t i);
size_t utf8_ceil(std::string_view s, size_t i);
// `s` when it is at most `max_bytes` long; else its head (clip_head) or tail (clip_tail) of
// at most `max_bytes` bytes, cut on a character boundary, with `mark` after the head or
// before the tail to show that text was left out. The mark is not counted in `max_bytes`.
std::string clip_head(std::string_view s, size_t max_bytes, std::string_view mark = "...");
std::string clip_tail(std::string_view s, size_t max_bytes, std::string_view mark = "…");

}  // namespace genlens::util
