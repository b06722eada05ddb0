#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;

namespace {
fs::path temp_sibling(const fs::path& p) {
  return p.parent_path() / (p.filename().string() + ".tmp-" + std::to_string(::getpid()));
}
}  // namespace

void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
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
  fsync_path(tmp);
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
  auto tmp = temp_sibling(dir);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) fail("cannot create directory '{}': {}", tmp.string(), ec.message());
  try {
    fill(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  for (auto& e : fs::directory_iterator(tmp)) fsync_path(e.path());
  fsync_path(tmp);
  fs::path old;
  if (fs::exists(dir)) {
    old = parent / (dir.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(dir, old, ec);
    if (ec) fail("cannot move old '{}' aside: {}", dir.string(), ec.message());
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, dir, ec);
    fail("cannot move '{}' into place", dir.string());
  }
  fsync_path(parent);
  if (!old.empty()) fs::remove_all(old, ec);
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
