// Atomic writes: nothing already written is ever lost or left half-written.
// A file is written to "<name>.tmp-<pid>-<n>" in the same directory (unique per call),
// fsync'ed (a failed fsync is an error: the write did not happen), renamed over the
// target, and the directory fsync'ed. A directory (checkpoint) is built under a temp
// name and swapped into place the same way.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace genlens::io {

// Writes `bytes` to `path` atomically. Throws genlens::Error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Calls `fill(tmp_path)` to write the file, then fsyncs and renames it to `path`.
// If `fill` throws, the temp file is removed and `path` is untouched.
void write_file_atomic_with(const std::filesystem::path& path,
                            const std::function<void(const std::filesystem::path& tmp)>& fill);

// Builds a directory atomically: `fill(tmp_dir)` writes its files, then tmp_dir is
// fsync'ed and renamed to `dir`. An existing `dir` is replaced by an atomic exchange
// (renameat2), so there is no moment without `dir`; leftovers of killed processes
// ("<dir>.tmp-<pid>-N", ".old-") are removed by the next write.
void write_dir_atomic(const std::filesystem::path& dir,
                      const std::function<void(const std::filesystem::path& tmp_dir)>& fill);

// fsync a file or directory by path. Throws genlens::Error when the filesystem reports
// a failure (EIO, ENOSPC, ...); no-op where syncing is unsupported (EINVAL, EROFS).
void fsync_path(const std::filesystem::path& p);

std::string read_file(const std::filesystem::path& path);  // throws naming the path
// read_file + JSON parse; invalid JSON is an error naming the path ("PATH: not valid JSON: ...").
nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace genlens::io
