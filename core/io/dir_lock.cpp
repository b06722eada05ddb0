#include "core/io/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;

DirLock::DirLock(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create {} directory '{}': {}", what, dir.string(), ec.message());
  const auto path = dir / ".genlens.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open '{}': {}", path.string(), std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {0};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      fail("{} directory '{}' is in use by another genlens process (pid {}); wait for it to finish, or choose "
           "another directory", what, dir.string(), n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("?"));
    fail("cannot lock '{}': {}", path.string(), std::strerror(err));
  }
  // The holder's pid, for the message a second process prints.
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace genlens::io
