// Python's str.strip() / str.isspace(), which the official release applies to every
// question and answer it trains on, checked against Debian's Python itself: the space
// set over every code point, and strip() over strings mixing every space character
// with words, ill-formed bytes kept as Python would never see them.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/data/responses.h"
#include "core/text/unicode.h"
#include "tests/test_util.h"

using namespace genlens;
namespace unicode = genlens::text::unicode;

namespace {

nlohmann::json python_json(const std::string& program) {
  test::TempDir tmp("py_strip");
  test::write_file(tmp / "p.py", program);
  auto r = test::run_command(test::system_python() + " " + test::shell_quote((tmp / "p.py").string()));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return nlohmann::json::parse(r.output);
}

}  // namespace

TEST_CASE("py_strip: the space set is Python's str.isspace() over every code point") {
  auto py = python_json(
      "import json\n"
      "print(json.dumps([c for c in range(0x110000) if chr(c).isspace()]))\n");
  std::vector<char32_t> ours;
  for (char32_t c = 0; c < 0x110000; ++c)
    if (unicode::is_py_space(c)) ours.push_back(c);
  std::vector<char32_t> theirs;
  for (auto& v : py) theirs.push_back(static_cast<char32_t>(v.get<uint32_t>()));
  CHECK(theirs.size() == 29);  // Unicode 14 (Python 3.11): White_Space less U+180E, plus U+001C..U+001F
  CHECK(ours == theirs);
}

TEST_CASE("py_strip: equals Python's str.strip() on strings around every space character") {
  // Every character either side could call space (Python's set, JavaScript's, the
  // Unicode White_Space set, and the near misses ZWSP, U+180E, BOM), alone, doubled,
  // around words, inside words, and as the whole string.
  auto cases = python_json(R"PY(
import json
cands = [c for c in range(0x110000) if chr(c).isspace()] + [0x180E, 0x200B, 0xFEFF, 0x2060, 0x1B, 0x7F, 0xAD]
out = []
for c in cands:
    ch = chr(c)
    for s in [ch, ch * 2, ch + "x", "x" + ch, ch + "Ein Satz über Öl." + ch, "a" + ch + "b",
              ch + "\u00a0" + ch, "\u3000" + ch + "q" + ch + "\u2003\n"]:
        out.append([s, s.strip(), (not s.strip())])
out.append(["\u00a0\u3000Ein kurzer Satz über Äpfel und Öl.\u2003\n", None, None])
out[-1][1] = out[-1][0].strip(); out[-1][2] = not out[-1][1]
out.append(["", "", True])
print(json.dumps(out))
)PY");
  REQUIRE(cases.size() > 200);
  int checked = 0;
  for (auto& c : cases) {
    const auto s = c[0].get<std::string>();
    const auto want = c[1].get<std::string>();
    CHECK_MESSAGE(std::string(unicode::py_strip(s)) == want, nlohmann::json(s).dump());
    CHECK(unicode::is_py_blank(s) == c[2].get<bool>());
    ++checked;
  }
  CHECK(checked == static_cast<int>(cases.size()));
  CHECK(unicode::py_strip("\u00a0\u3000Ein kurzer Satz \u00fcber \u00c4pfel und \u00d6l.\u2003\n") ==
        "Ein kurzer Satz \u00fcber \u00c4pfel und \u00d6l.");
}

TEST_CASE("py_strip: ill-formed UTF-8 is never space and is kept") {
  // An overlong encoding of ' ' (C0 A0, E0 80 A0), a lone continuation byte, and a
  // truncated NBSP (C2 at the end) are not whitespace: they stay, as do their neighbours.
  CHECK(unicode::py_strip(" \xC0\xA0 ") == "\xC0\xA0");
  CHECK(unicode::py_strip("\xE0\x80\xA0") == "\xE0\x80\xA0");
  CHECK(unicode::py_strip("\xA0 x ") == "\xA0 x");
  CHECK(unicode::py_strip(" x \xC2") == "x \xC2");
  CHECK(unicode::py_strip("\xC2\xA0x\xC2\xA0") == "x");
}

TEST_CASE("py_strip: an answer of only NBSPs is blank and is dropped from training") {
  std::vector<data::ResponseRow> rows{{"a", "q1", "\u00a0\u00a0"},
                                      {"b", "q2", "\u3000\u2003\n"},
                                      {"c", "q3", "\x1c\x1f"},
                                      {"d", "q4", "\u00a0ok\u00a0"},
                                      {"e", "q5", "\u200b"}};  // ZWSP is not space in Python
  CHECK(data::drop_empty_answers(rows) == 3);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == "d");
  CHECK(rows[1].id == "e");
}
