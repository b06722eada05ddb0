#include "core/data/corpus.h"

#include <fmt/format.h>

#include <optional>

#include "core/io/jsonl.h"
#include "core/util/error.h"

namespace genlens::data {

namespace fs = std::filesystem;

TextField text_field(const std::string& asked, const TextField& default_field) {
  if (asked == default_field.name) return default_field;
  return TextField{asked, {}};
}

TextReader::TextReader(const fs::path& path, TextField field)
    : reader_(std::make_unique<io::JsonlReader>(path)), field_(std::move(field)) {}
TextReader::TextReader(const fs::path& path, const std::string& field) : TextReader(path, text_field(field)) {}
TextReader::~TextReader() = default;

const nlohmann::json& TextReader::row() const { return row_; }
std::string TextReader::where() const { return reader_->where(); }

bool TextReader::next(std::string& text) {
  if (!reader_->next(row_)) return false;
  const auto& r = *reader_;
  std::optional<std::string> t = r.get_string_opt(row_, field_.name);
  for (size_t k = 0; !t && k < field_.fallbacks.size(); ++k) t = r.get_string_opt(row_, field_.fallbacks[k]);
  if (!t) {
    std::string also, keys;
    for (const auto& f : field_.fallbacks) also += (also.empty() ? "" : " / ") + ("\"" + f + "\"");
    if (row_.is_object())
      for (auto& [k, v] : row_.items()) keys += (keys.empty() ? "" : ", ") + ("\"" + k + "\"");
    fail("{}: no string field \"{}\"{} in this row (its fields: {})", r.where(), field_.name,
         also.empty() ? "" : " (or " + also + ")", keys.empty() ? "none" : keys);
  }
  text = std::move(*t);
  return true;
}

std::vector<std::string> read_texts(const fs::path& path, const TextField& field, int64_t max_rows) {
  TextReader r(path, field);
  std::vector<std::string> out;
  std::string t;
  while ((max_rows <= 0 || static_cast<int64_t>(out.size()) < max_rows) && r.next(t)) out.push_back(std::move(t));
  if (out.empty()) fail("{}: no rows (the file is empty or holds only blank lines)", path.string());
  return out;
}

std::vector<std::string> read_texts(const fs::path& path, const std::string& field) {
  return read_texts(path, text_field(field));
}

std::vector<std::string> read_labels(const std::filesystem::path& path, const std::string& field) {
  std::vector<std::string> out;
  io::JsonlReader r(path);
  io::Json row;
  while (r.next(row)) {
    std::string l;
    if (auto it = row.find(field); it != row.end() && !it->is_null())
      l = it->is_string() ? it->get<std::string>() : it->dump();
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace genlens::data
