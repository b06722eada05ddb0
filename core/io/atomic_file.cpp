#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE (glibc >= 2.28)
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;

namespace {

// "<name>.tmp-<pid>-<n>": unique per call, so two jobs (threads) of one process writing
// the same target never share a temp file; the pid lets a later run spot leftovers of
// a process that died mid-write.
fs::path temp_sibling(const fs::path& p, const char* kind = "tmp") {
  static std::atomic<uint64_t> counter{0};
  return p.parent_path() /
         (p.filename().string() + "." + kind + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

// Removes "<name>.tmp-<pid>-*" / "<name>.old-<pid>-*" siblings left by processes that no
// longer run (killed mid-write); those of live processes are theirs to finish.
void remove_stale_siblings(const fs::path& target) {
  const auto parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string base = target.filename().string();
  std::error_code ec;
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    for (const char* kind : {".tmp-", ".old-"}) {
      const std::string prefix = base + kind;
      if (name.rfind(prefix, 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
      if (pid > 0 && pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::error_code rm;
        fs::remove_all(it->path(), rm);
      }
    }
  }
}

}  // namespace

void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Filesystems that cannot sync a directory say EINVAL/EROFS; anything else (EIO,
  // ENOSPC, EDQUOT) means the bytes may not be on disk: the write did not happen.
  if (rc != 0 && err != EINVAL && err != EROFS) fail("cannot flush '{}' to disk: {}", p.string(), std::strerror(err));
}

void write_file_atomic_with(const fs::path& path, const std::function<void(const fs::path&)>& fill) {
  auto parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create directory '{}': {}", parent.string(), ec.message());
  auto tmp = temp_sibling(path);
  try {
    fill(tmp);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  try {
    fsync_path(tmp);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail("cannot move '{}' into place: {}", path.string(), ec.message());
  }
  fsync_path(parent);
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  write_file_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("cannot open '{}' for writing: {}", tmp.string(), std::strerror(errno));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.flush();
    if (!f) fail("short write to '{}' (disk full?)", tmp.string());
  });
}

void write_dir_atomic(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  auto parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create directory '{}': {}", parent.string(), ec.message());
  remove_stale_siblings(dir);
  auto tmp = temp_sibling(dir);
  fs::create_directories(tmp, ec);
  if (ec) fail("cannot create directory '{}': {}", tmp.string(), ec.message());
  try {
    fill(tmp);
    for (auto& e : fs::directory_iterator(tmp)) fsync_path(e.path());
    fsync_path(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
    // Swap the two in one step (Linux renameat2 RENAME_EXCHANGE): `dir` always exists,
    // holding either the old or the new content. The old content ends up under the temp
    // name and is removed after.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
      fsync_path(parent);
      fs::remove_all(tmp, ec);
      return;
    }
    // No exchange on this filesystem: move the old one aside first (a short window
    // without `dir`; a crash there leaves "<dir>.old-<pid>-N", restored below or
    // removed by the next write once that process is gone).
    auto old = temp_sibling(dir, "old");
    fs::rename(dir, old, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      fail("cannot move old '{}' aside: {}", dir.string(), ec.message());
    }
    fs::rename(tmp, dir, ec);
    if (ec) {
      const auto why = ec.message();
      fs::rename(old, dir, ec);
      fs::remove_all(tmp, ec);
      fail("cannot move '{}' into place: {}", dir.string(), why);
    }
    fsync_path(parent);
    fs::remove_all(old, ec);
    return;
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    const auto why = ec.message();
    fs::remove_all(tmp, ec);
    fail("cannot move '{}' into place: {}", dir.string(), why);
  }
  fsync_path(parent);
}

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read '{}': {}", path.string(), fs::exists(path) ? std::strerror(errno) : "no such file");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

nlohmann::json read_json_file(const fs::path& path) {
  auto text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", path.string(), e.what());
  }
}

}  // namespace genlens::io
