// Reading the texts of a JSONL corpus: one string field of each row (blank lines skipped),
// streamed or all at once. One rule for every command that reads a corpus: the field asked
// for must be a string in every row, or the error names file:line, the field and the fields
// the row has. Only a command's default field may fall back to other fields (a
// responses.jsonl has "question" and "answer" where a plain corpus has "text"); a field the
// user named never does, or the wrong text would be embedded or indexed without a word.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace genlens::io {
class JsonlReader;
}

namespace genlens::data {

// Which field of a row is the text: `name`, else (when a row lacks it) the `fallbacks` in order.
struct TextField {
  std::string name = "text";
  std::vector<std::string> fallbacks = {"question"};
};

// The TextField for a field the user asked for: the command's default (with its fallbacks)
// when `asked` is the default's name, else `asked` alone.
TextField text_field(const std::string& asked, const TextField& default_field = {});

// A corpus, one text at a time (inputs larger than memory).
class TextReader {
 public:
  TextReader(const std::filesystem::path& path, TextField field);
  // `field` as text_field(field): "text", falling back to "question", is the default.
  explicit TextReader(const std::filesystem::path& path, const std::string& field = "text");
  ~TextReader();
  bool next(std::string& text);              // false at the end; genlens::Error as above
  const nlohmann::json& row() const;         // the row last read (its other fields, e.g. "label")
  std::string where() const;                 // "FILE:LINE" of that row

 private:
  std::unique_ptr<io::JsonlReader> reader_;
  TextField field_;
  nlohmann::json row_;
};

// Every text of a corpus (at most `max_rows`; 0: all). A corpus without rows is an error: an
// empty result would silently replace an earlier one.
std::vector<std::string> read_texts(const std::filesystem::path& path, const TextField& field, int64_t max_rows = 0);
std::vector<std::string> read_texts(const std::filesystem::path& path, const std::string& field = "text");

// Each row's `field` as text ("" where a row lacks it; a number or other value as its
// JSON), row i = text i of read_texts (blank lines skipped): the labels beside the texts.
std::vector<std::string> read_labels(const std::filesystem::path& path, const std::string& field);

}  // namespace genlens::data
