#include "core/io/jsonl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;

namespace {

const char* type_name(const Json& v) { return v.type_name(); }

// nlohmann's parse error without its tag and its "line 1" (a JSONL row is one line):
// "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while
// parsing value - invalid literal; last read: 'no'" -> "column 2: invalid literal; last read: 'no'".
std::string parse_error_words(const std::string& what) {
  std::string s = what;
  if (auto tag = s.find("] "); s.rfind("[json.exception.", 0) == 0 && tag != std::string::npos) s = s.substr(tag + 2);
  if (auto col = s.find("column "); s.rfind("parse error at line ", 0) == 0 && col != std::string::npos) s = s.substr(col);
  for (const char* noise : {"syntax error while parsing value - ", "syntax error while parsing object - "})
    if (auto at = s.find(noise); at != std::string::npos) s.erase(at, std::string(noise).size());
  return s;
}

Json parse_object_line(const std::string& text, const fs::path& path, int64_t line) {
  Json row;
  try {
    row = Json::parse(text);
  } catch (const Json::exception& e) {
    fail("{}:{}: expected one JSON object per line, found text that is not valid JSON ({})",
         path.string(), line, parse_error_words(e.what()));
  }
  if (!row.is_object())
    fail("{}:{}: expected a JSON object, found a JSON {}", path.string(), line, type_name(row));
  return row;
}

bool is_blank(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

}  // namespace

JsonlReader::JsonlReader(const fs::path& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) fail("{}: cannot open for reading ({})", path.string(), std::strerror(errno));
}

bool JsonlReader::next(Json& row) {
  std::string text;
  while (std::getline(in_, text)) {
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (is_blank(text)) continue;
    row = parse_object_line(text, path_, line_);
    return true;
  }
  return false;
}

std::string JsonlReader::where() const { return path_.string() + ":" + std::to_string(line_); }

std::optional<std::string> JsonlReader::get_string_opt(const Json& row, const std::string& field) const {
  auto it = row.find(field);
  if (it == row.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    fail("{}: field \"{}\": expected a string, found a JSON {}", where(), field, type_name(*it));
  return it->get<std::string>();
}

std::string JsonlReader::get_string(const Json& row, const std::string& field) const {
  auto v = get_string_opt(row, field);
  if (!v) fail("{}: field \"{}\": expected a string, found no such field", where(), field);
  return *v;
}

std::string JsonlReader::get_id(const Json& row, const std::string& field) const {
  auto it = row.find(field);
  if (it == row.end()) fail("{}: field \"{}\": expected a string or integer id, found no such field", where(), field);
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  fail("{}: field \"{}\": expected a string or integer id, found a JSON {}", where(), field, type_name(*it));
}

std::vector<Json> read_jsonl(const fs::path& path) {
  JsonlReader r(path);
  std::vector<Json> rows;
  Json row;
  while (r.next(row)) rows.push_back(std::move(row));
  return rows;
}

JsonlPrefix read_jsonl_complete(const fs::path& path) {
  JsonlPrefix out;
  std::error_code ec;
  if (!fs::exists(path, ec)) return out;
  std::string data;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open for reading ({})", path.string(), std::strerror(errno));
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  size_t pos = 0;
  int64_t line = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) {  // no newline: torn by a crash mid-write
      out.torn_tail = true;
      break;
    }
    ++line;
    std::string text = data.substr(pos, nl - pos);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (!is_blank(text)) {
      // A bad line followed by more lines is corruption; a bad *last* line is torn.
      bool last = (nl + 1 == data.size());
      try {
        out.rows.push_back(parse_object_line(text, path, line));
        out.lines.push_back(text);
      } catch (const Error&) {
        if (!last) throw;
        out.torn_tail = true;
        break;
      }
    }
    pos = nl + 1;
    out.valid_bytes = pos;
  }
  return out;
}

JsonlWriter::JsonlWriter(const fs::path& path, Mode mode, bool fsync_each)
    : path_(path), fsync_each_(fsync_each) {
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
  }
  f_ = std::fopen(path.c_str(), mode == Mode::Append ? "ab" : "wb");
  if (!f_) fail("{}: cannot open for writing ({})", path.string(), std::strerror(errno));
}

JsonlWriter::~JsonlWriter() {
  if (f_) std::fclose(f_);
}

// Invalid UTF-8 in a model's output must not abort a long job: it is replaced.
void JsonlWriter::write(const Json& row) {
  write_line(row.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void JsonlWriter::write(const nlohmann::ordered_json& row) {
  write_line(row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

void JsonlWriter::write_line(std::string line) {
  if (!f_) fail("{}: write after close", path_.string());
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
    fail("{}: write failed ({})", path_.string(), std::strerror(errno));
  if (fsync_each_) ::fsync(::fileno(f_));
}

void JsonlWriter::close() {
  if (f_) {
    std::fflush(f_);
    ::fsync(::fileno(f_));
    std::fclose(f_);
    f_ = nullptr;
  }
}

void truncate_file(const fs::path& path, uint64_t bytes) {
  if (::truncate(path.c_str(), static_cast<off_t>(bytes)) != 0)
    fail("{}: cannot truncate to {} bytes ({})", path.string(), bytes, std::strerror(errno));
}

}  // namespace genlens::io
