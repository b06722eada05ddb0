// An exclusive lock on a directory for one process's lifetime of a job: a second
// `genlens train` on the same run directory is refused instead of racing the first.
// flock(2) on "<dir>/.genlens.lock": the kernel drops it when the holder exits, however
// it exits (SIGKILL included), so a crash never leaves a stale lock behind.
#pragma once
#include <filesystem>
#include <string>

namespace genlens::io {

class DirLock {
 public:
  // Creates `dir` if needed and takes the lock, or throws genlens::Error naming the
  // directory and the pid that holds it. `what` says what the directory is ("run").
  DirLock(const std::filesystem::path& dir, const std::string& what);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace genlens::io
