// The UTF-8 cutting helpers (core/util/utf8.h): a clip never splits a UTF-8 character, marks
// only what it shortened; and text/unicode.h's ascii_lower touches nothing but A-Z.
#include <doctest/doctest.h>

#include <string>

#include "core/text/unicode.h"
#include "core/util/utf8.h"

namespace unicode = genlens::text::unicode;
namespace util = genlens::util;

TEST_CASE("unicode: utf8_floor and utf8_ceil stop on character boundaries") {
  const std::string s = "a\xC3\xA9" "b\xE2\x82\xAC";  // a é b €: bytes 0 | 1 2 | 3 | 4 5 6
  CHECK(util::utf8_floor(s, 0) == 0);
  CHECK(util::utf8_floor(s, 2) == 1);  // inside é
  CHECK(util::utf8_floor(s, 3) == 3);
  CHECK(util::utf8_floor(s, 6) == 4);  // inside €
  CHECK(util::utf8_floor(s, 7) == 7);
  CHECK(util::utf8_floor(s, 99) == 7);
  CHECK(util::utf8_ceil(s, 2) == 3);
  CHECK(util::utf8_ceil(s, 5) == 7);
  CHECK(util::utf8_ceil(s, 4) == 4);
  CHECK(util::utf8_ceil(s, 99) == 7);
}

TEST_CASE("unicode: clip_head keeps at most max bytes of the head, whole characters, and marks the cut") {
  CHECK(util::clip_head("short", 5) == "short");
  CHECK(util::clip_head("longer text", 6) == "longer...");
  CHECK(util::clip_head("", 0) == "");
  CHECK(util::clip_head("ab", 0, "~") == "~");
  // "héllo": h é(2 bytes) l l o; 2 bytes would split é, so only "h" is kept.
  CHECK(util::clip_head("h\xC3\xA9llo", 2) == "h...");
  CHECK(util::clip_head("h\xC3\xA9llo", 3) == "h\xC3\xA9...");
  CHECK(util::clip_head("\xE2\x82\xAC\xE2\x82\xAC", 5, "…") == "\xE2\x82\xAC…");
  for (size_t n = 0; n < 12; ++n)
    CHECK(unicode::is_valid_utf8(util::clip_head("\xE2\x82\xAC\xC3\xA9\xF0\x9F\x98\x80x", n)));
}

TEST_CASE("unicode: clip_tail keeps at most max bytes of the tail, whole characters, and marks the cut") {
  CHECK(util::clip_tail("short", 5) == "short");
  CHECK(util::clip_tail("the sky is blue", 4) == "…blue");
  CHECK(util::clip_tail("the sky is blue", 0) == "…");
  // "caf é": the last 1 byte is inside é, so nothing whole fits.
  CHECK(util::clip_tail("caf\xC3\xA9", 1) == "…");
  CHECK(util::clip_tail("caf\xC3\xA9", 2) == "…\xC3\xA9");
  CHECK(util::clip_tail("abc", 2, "...") == "...bc");
  for (size_t n = 0; n < 12; ++n)
    CHECK(unicode::is_valid_utf8(util::clip_tail("x\xF0\x9F\x98\x80\xC3\xA9\xE2\x82\xAC", n)));
}

TEST_CASE("unicode: ascii_lower lowers A-Z only") {
  CHECK(unicode::ascii_lower("Hello WORLD 42_x") == "hello world 42_x");
  CHECK(unicode::ascii_lower("\xC3\x89T\xC3\x89") == "\xC3\x89t\xC3\x89");  // ÉTÉ: the É bytes are kept
  CHECK(unicode::ascii_lower("") == "");
}
