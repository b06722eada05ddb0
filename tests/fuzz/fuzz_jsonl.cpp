// libFuzzer: a JSONL file, read the way genlens's commands read one: every row's
// text/question/answer/id fields, and the resumable-output reader that finds where a
// torn last line begins. Both must return rows or throw genlens::Error.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/io/jsonl.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("genlens-fuzz-" + std::to_string(::getpid()) + ".jsonl");
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                               static_cast<std::streamsize>(size));
  try {
    genlens::io::JsonlReader r(path);
    genlens::io::Json row;
    while (r.next(row)) {
      (void)r.get_string_opt(row, "text");
      (void)r.get_string_opt(row, "question");
      if (row.contains("answer")) (void)r.get_string(row, "answer");
      if (row.contains("id")) (void)r.get_id(row);
    }
  } catch (const genlens::Error&) {
  }
  try {
    auto p = genlens::io::read_jsonl_complete(path);
    if (p.rows.size() != p.lines.size() || p.valid_bytes > size) std::abort();
  } catch (const genlens::Error&) {
  }
  return 0;
}
