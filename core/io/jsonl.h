// JSONL: one JSON object per line. Streaming reader with errors that name file:line
// and field; line writer that flushes every row (append mode for resumable outputs);
// and a "complete prefix" reader that tells a resumable job where a torn last line
// (a crash mid-write) begins so the row can be redone.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace genlens::io {

using Json = nlohmann::json;

class JsonlReader {
 public:
  explicit JsonlReader(const std::filesystem::path& path);  // throws if it can't be opened
  // Next row (blank lines are skipped). False at end of file. Throws genlens::Error
  // "FILE:LINE: ..." when a line is not valid JSON or not an object.
  bool next(Json& row);
  int64_t line() const { return line_; }  // 1-based line of the row last returned
  const std::filesystem::path& path() const { return path_; }
  std::string where() const;  // "FILE:LINE"

  // Field access for the row last returned; errors name FILE:LINE and the field.
  std::string get_string(const Json& row, const std::string& field) const;
  std::optional<std::string> get_string_opt(const Json& row, const std::string& field) const;
  // "id" may be a string or an integer in the wild; always returned as a string.
  std::string get_id(const Json& row, const std::string& field = "id") const;

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  int64_t line_ = 0;
};

// Every row of a file (small files; use JsonlReader to stream big ones).
std::vector<Json> read_jsonl(const std::filesystem::path& path);

// The complete rows of a file that a job appends to. A line counts only when it ends
// with '\n' and parses as an object; a last line without '\n' (torn by a crash) is
// reported, not returned. A bad line in the middle is an error (the file is corrupt).
struct JsonlPrefix {
  std::vector<Json> rows;
  std::vector<std::string> lines;  // the raw text of each row (without '\n')
  uint64_t valid_bytes = 0;  // byte length of the complete rows (truncate here to resume)
  bool torn_tail = false;    // there were bytes after the last complete row
};
JsonlPrefix read_jsonl_complete(const std::filesystem::path& path);

class JsonlWriter {
 public:
  enum class Mode { Truncate, Append };
  // fsync_each: also fsync after every row (resumable outputs that must survive power loss).
  JsonlWriter(const std::filesystem::path& path, Mode mode, bool fsync_each = false);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void write(const Json& row);  // one line + '\n', flushed before returning
  void write(const nlohmann::ordered_json& row);  // keeps the keys in insertion order
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  void write_line(std::string line);
  std::FILE* f_ = nullptr;
  bool fsync_each_ = false;
};

// Shortens a file to `bytes` (drops a torn tail before appending again).
void truncate_file(const std::filesystem::path& path, uint64_t bytes);

}  // namespace genlens::io
