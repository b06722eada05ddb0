// core/data/corpus.h: one reader for every corpus. The field asked for must be in every
// row; only a command's default field falls back; errors name file:line and the field.
#include <doctest/doctest.h>

#include "core/data/corpus.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace genlens;

TEST_CASE("corpus: the default field falls back, a named one never does") {
  test::TempDir tmp("corpus-field");
  const auto p = tmp / "c.jsonl";
  test::write_file(p, "{\"text\": \"a\", \"answer\": \"A\"}\n\n{\"question\": \"b\", \"label\": \"x\"}\n");
  // Default "text": row 2 has only "question", the responses.jsonl fallback.
  CHECK(data::read_texts(p) == std::vector<std::string>{"a", "b"});
  // A named field missing from row 2 (line 3) is an error naming file:line, the field and the row's fields.
  CHECK_THROWS_WITH_AS(data::read_texts(p, "answer"), doctest::Contains("c.jsonl:3: no string field \"answer\" in this row"),
                       genlens::Error);
  CHECK_THROWS_WITH_AS(data::read_texts(p, "answer"), doctest::Contains("its fields: \"label\", \"question\""), genlens::Error);
  // A caller's own default with its own fallbacks: only that name falls back.
  const data::TextField def{"answer", {"text", "question"}};
  CHECK(data::read_texts(p, data::text_field("answer", def)) == std::vector<std::string>{"A", "b"});
  CHECK_THROWS_WITH_AS(data::read_texts(p, data::text_field("body", def)),
                       doctest::Contains("c.jsonl:1: no string field \"body\" in this row"), genlens::Error);
  // The default's message says what it falls back to.
  test::write_file(tmp / "d.jsonl", "{\"id\": 1}\n");
  CHECK_THROWS_WITH_AS(data::read_texts(tmp / "d.jsonl", data::text_field("answer", def)),
                       doctest::Contains("\"answer\" (or \"text\" / \"question\")"), genlens::Error);
}

TEST_CASE("corpus: max_rows stops reading, rows and where are those of the text last read") {
  test::TempDir tmp("corpus-rows");
  const auto p = tmp / "c.jsonl";
  test::write_file(p, "{\"text\": \"a\"}\n{\"text\": \"b\", \"label\": 3}\nnot json\n");
  CHECK(data::read_texts(p, data::TextField{}, 2) == std::vector<std::string>{"a", "b"});  // line 3 is never read
  CHECK_THROWS_AS(data::read_texts(p, data::TextField{}, 0), genlens::Error);
  data::TextReader r(p);
  std::string t;
  REQUIRE(r.next(t));
  REQUIRE(r.next(t));
  CHECK(t == "b");
  CHECK(r.row().at("label") == 3);
  CHECK(r.where().find("c.jsonl:2") != std::string::npos);
  test::write_file(tmp / "empty.jsonl", "\n\n");
  CHECK_THROWS_WITH_AS(data::read_texts(tmp / "empty.jsonl"), doctest::Contains("no rows"), genlens::Error);
}
