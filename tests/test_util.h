// Helpers shared by the unit tests: temp dirs, running the genlens CLI, paths to the
// npm oracles and to Debian's python3 (which has python3-torch / numpy / sklearn).
#pragma once
#include <filesystem>
#include <string>

namespace genlens::test {

// A fresh directory under the build tree, removed when the object dies.
struct TempDir {
  explicit TempDir(const std::string& tag);
  ~TempDir();
  std::filesystem::path path;
  std::filesystem::path operator/(const std::string& s) const { return path / s; }
};

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing output.
RunResult run_command(const std::string& cmdline);
// Runs `genlens <args>`.
RunResult run_genlens(const std::string& args);
// Runs `genlens <args>` with stdout and stderr apart (JSON on stdout, warnings on stderr),
// through files in `tmp`.
struct SplitResult {
  int exit_code = -1;
  std::string out, err;
};
SplitResult run_genlens_split(const std::string& args, const std::filesystem::path& tmp);

std::string shell_quote(const std::string& s);
std::filesystem::path npm_dir();           // third_party/npm/node_modules
std::filesystem::path source_dir();
std::string system_python();               // /usr/bin/python3
std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& content);

}  // namespace genlens::test
