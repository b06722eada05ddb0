#include "tests/test_util.h"
#if __has_include("genlens_paths.h")  // not in the sanitizer build, which passes -D flags
#include "genlens_paths.h"
#endif

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace genlens::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path = fs::path(GENLENS_BUILD_DIR) / "test-tmp" /
         (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path);
  fs::create_directories(path);
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("GENLENS_KEEP_TEST_TMP")) fs::remove_all(path, ec);
}

RunResult run_command(const std::string& cmdline) {
  RunResult r;
  std::string full = "(" + cmdline + ") 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmdline);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

RunResult run_genlens(const std::string& args) {
  return run_command(shell_quote(GENLENS_CLI_PATH) + " " + args);
}

SplitResult run_genlens_split(const std::string& args, const std::filesystem::path& tmp) {
  auto o = tmp / "stdout.txt", e = tmp / "stderr.txt";
  auto r = run_genlens(args + " >" + shell_quote(o.string()) + " 2>" + shell_quote(e.string()));
  return {r.exit_code, read_file(o), read_file(e)};
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

fs::path npm_dir() { return GENLENS_NPM_DIR; }
fs::path source_dir() { return GENLENS_SOURCE_DIR; }
std::string system_python() { return GENLENS_SYSTEM_PYTHON; }

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

}  // namespace genlens::test
