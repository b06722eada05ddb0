// Shell helpers the studio-under-Xvfb tests share (the GUI test binary does not link
// tests/test_util.cpp): run a command line capturing stdout and stderr, quote a path,
// write a small file.
#pragma once
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace genlens::gui_test {

struct Run {
  int rc = -1;
  std::string out;
};

inline Run sh(const std::string& cmd) {
  Run r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.rc = WEXITSTATUS(pclose(p));
  return r;
}

inline std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

inline void write(const std::filesystem::path& p, const std::string& s) { std::ofstream(p) << s; }

}  // namespace genlens::gui_test
