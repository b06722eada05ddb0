// Runs the malformed-input corpus (tests/malformed_corpus.h): for each row, a scratch copy
// of valid inputs gets one file broken, the command runs, and the test checks the exit
// code, that the message names the file and field, that no "internal error" escaped, and
// that nothing written before the command (the inputs, an earlier out.npy) changed.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cstring>
#include <map>

#include "core/io/npy.h"
#include "tests/gen_fixtures.h"
#include "tests/malformed_corpus.h"
#include "tests/test_util.h"

using namespace genlens;
using Json = nlohmann::json;
namespace fs = std::filesystem;
namespace corpus = genlens::test::corpus;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

// Valid inputs every case starts from, made once: the tiny Qwen3 text model, a trained
// adapter checkpoint, JSONL files, an embeddings .npy and an earlier output.
const fs::path& valid_inputs() {
  static test::TempDir root("malformed-base");
  static fs::path dir;
  if (!dir.empty()) return dir;
  dir = root.path;
  auto model = test::tiny_qwen3_text_model();
  fs::copy(model, dir / "model", fs::copy_options::recursive);
  std::string responses;
  for (int i = 0; i < 4; ++i)
    responses += Json{{"id", std::to_string(i)}, {"question", "question " + std::to_string(i)},
                      {"answer", "answer " + std::to_string(i)}}.dump() + "\n";
  test::write_file(dir / "responses.jsonl", responses);
  test::write_file(dir / "queries.jsonl", "{\"id\": \"1\", \"question\": \"why?\"}\n");
  test::write_file(dir / "texts.jsonl", "{\"text\": \"hello there\"}\n{\"text\": \"general kenobi\"}\n");
  io::save_npy(dir / "emb.npy", torch::arange(32, torch::kFloat32).reshape({4, 8}));
  io::save_npy(dir / "out.npy", torch::full({2, 3}, 7.0f));  // an earlier result
  auto r = test::run_genlens("train --model " + q(dir / "model") + " --data " + q(dir / "responses.jsonl") + " --out " +
                             q(dir / "run") + " --steps 1 --batch-size 2 --thought 1 --compression 1 -q");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  fs::copy(dir / "run/checkpoint-1", dir / "adapter", fs::copy_options::recursive);
  fs::remove_all(dir / "run");
  return dir;
}

// Hard links (the model is tens of MB); every mutation below replaces a file, never
// writes into it, so the shared originals stay intact.
void link_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (auto& e : fs::recursive_directory_iterator(from)) {
    auto dst = to / fs::relative(e.path(), from);
    if (e.is_directory()) fs::create_directories(dst);
    else fs::create_hard_link(e.path(), dst);
  }
}

void replace_file(const fs::path& p, const std::string& content) {
  fs::remove(p);
  test::write_file(p, content);
}

std::string u64le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  return s;
}

uint64_t read_u64le(const std::string& s) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(s[static_cast<size_t>(i)]);
  return n;
}

void apply(const corpus::Mutation& m, const fs::path& dir) {
  const fs::path p = dir / m.file;
  switch (m.op) {
    case corpus::Op::Write: replace_file(p, m.value); break;
    case corpus::Op::Remove: fs::remove(p); break;
    case corpus::Op::SetJson:
    case corpus::Op::EraseJson: {
      auto j = Json::parse(test::read_file(p));
      Json::json_pointer ptr(m.key);
      if (m.op == corpus::Op::SetJson) j[ptr] = Json::parse(m.value);
      else j[ptr.parent_pointer()].erase(ptr.back());
      replace_file(p, j.dump(2));
      break;
    }
    case corpus::Op::Truncate: {
      auto s = test::read_file(p);
      long long n = std::stoll(m.value);
      s.resize(n >= 0 ? static_cast<size_t>(n) : s.size() - static_cast<size_t>(-n));
      replace_file(p, s);
      break;
    }
    case corpus::Op::StHeader: {
      auto s = test::read_file(p);
      const uint64_t n = read_u64le(s);
      auto header = Json::parse(s.substr(8, n));
      Json::json_pointer ptr(m.key);
      auto value = Json::parse(m.value);
      if (value.is_null() && ptr.parent_pointer().empty()) header.erase(ptr.back());
      else header[ptr] = value;
      std::string h = header.dump();
      while ((8 + h.size()) % 8) h.push_back(' ');
      replace_file(p, u64le(h.size()) + h + s.substr(8 + n));
      break;
    }
    case corpus::Op::StHeaderLen: {
      auto s = test::read_file(p);
      replace_file(p, u64le(std::stoull(m.value)) + s.substr(8));
      break;
    }
    case corpus::Op::CopyDir: link_tree(dir / m.value, p); break;
    case corpus::Op::Npy: {
      std::string h = m.value + "\n";
      std::string s = "\x93NUMPY";
      s += '\x01';
      s += '\x00';
      s += static_cast<char>(h.size() & 0xff);
      s += static_cast<char>(h.size() >> 8);
      replace_file(p, s + h + std::string(std::stoul(m.key), '\0'));
      break;
    }
  }
}

// What is on disk: path -> content fingerprint (size + hash; size + mtime for large files).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const auto size = e.file_size();
    std::string fp = std::to_string(size) + ":";
    if (size < (1u << 20)) {
      fp += std::to_string(std::hash<std::string>{}(test::read_file(e.path())));
    } else {
      struct stat st {};
      ::stat(e.path().c_str(), &st);
      fp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    }
    out[fs::relative(e.path(), dir).string()] = fp;
  }
  return out;
}

std::string expand(std::string s, const fs::path& dir) {
  const std::pair<const char*, fs::path> vars[] = {
      {"{model}", dir / "model"},     {"{adapter}", dir / "adapter"}, {"{texts}", dir / "texts.jsonl"},
      {"{responses}", dir / "responses.jsonl"}, {"{queries}", dir / "queries.jsonl"}, {"{npy}", dir / "emb.npy"},
      {"{out}", dir / "out.npy"},     {"{run}", dir / "run"},         {"{dir}", dir}};
  for (auto& [key, value] : vars)
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, std::strlen(key), q(value));
  return s;
}

}  // namespace

TEST_CASE("malformed inputs: every corpus case is a clear error and damages nothing") {
  const auto& base = valid_inputs();
  const auto all = corpus::cases();
  CHECK(all.size() >= 60);
  std::map<std::string, int> per_kind;
  test::TempDir tmp("malformed");
  int index = 0;
  for (const auto& c : all) {
    ++per_kind[c.kind];
    const fs::path dir = tmp / ("case-" + std::to_string(index++));
    link_tree(base, dir);
    for (auto& m : c.mutations) apply(m, dir);
    const auto before = snapshot(dir);
    const auto r = test::run_genlens(expand(c.args, dir));
    INFO("case " << index - 1 << " [" << c.kind << "] " << c.what << "\n$ genlens " << c.args << "\n" << r.output);
    CHECK(r.exit_code == c.exit_code);
    for (auto& s : c.expect) CHECK_MESSAGE(r.output.find(s) != std::string::npos, "missing: " << s);
    CHECK(r.output.find("internal error") == std::string::npos);
    // Nothing that existed before the command changed or vanished; no stray files
    // outside the run directory a refused train may have created.
    const auto after = snapshot(dir);
    for (auto& [path, fp] : before) {
      auto it = after.find(path);
      CHECK_MESSAGE((it != after.end() && it->second == fp), "changed or removed: " << path);
    }
    for (auto& [path, fp] : after)
      if (!before.count(path) && path.rfind("run/", 0) != 0) CHECK_MESSAGE(false, "new file: " << path);
    fs::remove_all(dir);
  }
  for (auto& [kind, n] : per_kind) MESSAGE(kind << ": " << n << " cases");
}
