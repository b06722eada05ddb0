// Hardening: each bad input below is refused at once
// with a message naming the file / flag / field, and nothing already written is lost.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "core/io/atomic_file.h"
#include "core/io/dir_lock.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/gen_fixtures.h"
#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

// A copy of the tiny model whose config.json has one field replaced.
fs::path model_with_config(const fs::path& root, const std::string& field, const Json& value) {
  auto src = test::tiny_qwen3_text_model();
  auto dst = root / ("model-" + field + "-" + value.dump());
  fs::create_directories(dst);
  for (auto& e : fs::directory_iterator(src)) fs::copy_file(e.path(), dst / e.path().filename());
  auto cfg = Json::parse(test::read_file(dst / "config.json"));
  cfg[field] = value;
  test::write_file(dst / "config.json", cfg.dump(2));
  return dst;
}

void write_responses(const fs::path& p, int n, int empty_every) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += Json{{"id", std::to_string(i)},
              {"question", "question number " + std::to_string(i)},
              {"answer", empty_every > 0 && i % empty_every == 0 ? " \n" : "answer number " + std::to_string(i)}}
             .dump() +
         "\n";
  test::write_file(p, s);
}

}  // namespace

TEST_CASE("hardening: an absurd or mismatched num_hidden_layers fails at once, naming the field") {
  test::TempDir tmp("hard-layers");
  for (auto [value, expect] : {std::pair<int64_t, const char*>{1000000000, "more than genlens accepts"},
                               std::pair<int64_t, const char*>{3, "the weights hold 2 layers"}}) {
    auto model = model_with_config(tmp.path, "num_hidden_layers", value);
    // 10^9 layers must be refused before any work, not run for minutes. A CPU-time limit (not a wall-clock bound,
    // which a loaded machine can exceed) stops such a run: SIGXCPU, not exit code 1.
    auto r = test::run_command("ulimit -t 30; exec " + test::shell_quote(GENLENS_CLI_PATH) + " forward --model " +
                               q(model) + " --ids 1,2,3");
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("num_hidden_layers") != std::string::npos);
    CHECK(r.output.find(expect) != std::string::npos);
  }
}

TEST_CASE("hardening: encode refuses a --field no row has and a zero --batch-size") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hard-encode");
  test::write_file(tmp / "texts.jsonl", "{\"text\": \"a\", \"question\": \"b\"}\n{\"text\": \"c\"}\n");
  auto r = test::run_genlens("encode --model " + q(model) + " --mode mean --input " + q(tmp / "texts.jsonl") +
                             " --field body --output " + q(tmp / "e.npy"));
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("texts.jsonl") != std::string::npos);
  CHECK(r.output.find("\"body\"") != std::string::npos);
  CHECK(r.output.find("\"text\"") != std::string::npos);  // the fields the row has
  CHECK(!fs::exists(tmp / "e.npy"));

  auto r2 = test::run_genlens("encode --model " + q(model) + " --mode mean --input " + q(tmp / "texts.jsonl") +
                              " --batch-size 0 --output " + q(tmp / "e.npy"));
  INFO(r2.output);
  CHECK(r2.exit_code != 0);
  CHECK(r2.output.find("--batch-size") != std::string::npos);
  CHECK(!fs::exists(tmp / "e.npy"));

  // The default field still falls back to "question" (a responses.jsonl).
  test::write_file(tmp / "questions.jsonl", "{\"id\": \"1\", \"question\": \"only a question\"}\n");
  auto r3 = test::run_genlens("encode --model " + q(model) + " --mode mean --input " + q(tmp / "questions.jsonl") +
                              " --output " + q(tmp / "ok.npy") + " -q");
  INFO(r3.output);
  CHECK(r3.exit_code == 0);
}

TEST_CASE("hardening: training drops empty answers and says so, all-empty data is refused") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hard-empty");
  write_responses(tmp / "r.jsonl", 8, 4);  // rows 0 and 4 are empty
  auto r = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(tmp / "run") +
                             " --steps 1 --batch-size 2 --thought 1 --compression 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("skipped 2 of 8 rows") != std::string::npos);
  write_responses(tmp / "empty.jsonl", 3, 1);
  auto r2 = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "empty.jsonl") + " --out " +
                              q(tmp / "run2") + " --steps 1 --batch-size 2");
  INFO(r2.output);
  CHECK(r2.exit_code == 1);
  CHECK(r2.output.find("all 3 answers are empty") != std::string::npos);
}

TEST_CASE("hardening: a second train on a run directory in use is refused, resume refuses changed settings") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hard-lock");
  write_responses(tmp / "r.jsonl", 8, 0);
  const std::string base = "train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(tmp / "run") +
                           " --steps 4 --batch-size 2 --thought 1 --compression 1 --save-every 2";
  {
    io::DirLock held(tmp / "run", "run");  // another process's train, as far as genlens can tell
    auto r = test::run_genlens(base);
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("in use by another genlens process") != std::string::npos);
    CHECK(r.output.find(std::to_string(::getpid())) != std::string::npos);
    CHECK_THROWS_WITH_AS(io::DirLock(tmp / "run", "run"), doctest::Contains("in use"), Error);
  }
  auto r = test::run_genlens(base + " --stop-at 2 -q");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (auto [flag, value] : {std::pair<const char*, const char*>{"--beta1", "0.8"}, {"--weight-decay", "0.1"},
                             {"--max-grad-norm", "0.5"}, {"--align-weight", "2"}, {"--instruction", "'Q: '"},
                             {"--response-max-length", "64"}}) {
    auto bad = test::run_genlens(base + " --resume " + flag + " " + value + " -q");
    INFO(flag << ": " << bad.output);
    CHECK(bad.exit_code == 1);
    CHECK(bad.output.find(std::string("different ") + flag) != std::string::npos);
  }
  auto ok = test::run_genlens(base + " --resume -q");  // the recorded settings: fine
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
}

TEST_CASE("hardening: encode uses the adapter's training instruction unless told otherwise") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hard-instr");
  write_responses(tmp / "r.jsonl", 4, 0);
  auto t = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(tmp / "run") +
                             " --steps 1 --batch-size 2 --thought 1 --compression 2 --instruction 'Retrieve: ' -q");
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  test::write_file(tmp / "texts.jsonl", "{\"text\": \"hello there\"}\n{\"text\": \"general kenobi\"}\n");
  auto enc = [&](const std::string& extra, const std::string& out) {
    auto r = test::run_genlens("encode --model " + q(model) + " --adapter " + q(tmp / "run") + " --input " +
                               q(tmp / "texts.jsonl") + " --output " + q(tmp / out) + " " + extra);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return std::make_pair(io::load_npy(tmp / out), r.output);
  };
  auto [dflt, o1] = enc("-q", "default.npy");
  auto [same, o2] = enc("--instruction 'Retrieve: ' -q", "same.npy");
  auto [other, o3] = enc("--instruction ''", "other.npy");
  CHECK(torch::equal(dflt, same));
  CHECK(!torch::allclose(dflt, other));
  CHECK(o3.find("differs from the adapter's training instruction") != std::string::npos);
}

TEST_CASE("hardening: atomic writes from two threads to one target never collide") {
  test::TempDir tmp("hard-atomic");
  std::atomic<int> failures{0};
  auto writer = [&](char c) {
    for (int i = 0; i < 200; ++i) try {
        io::write_file_atomic(tmp / "target.txt", std::string(1000, c));
      } catch (const std::exception&) {
        ++failures;
      }
  };
  std::thread a(writer, 'a'), b(writer, 'b');
  a.join();
  b.join();
  CHECK(failures == 0);
  auto content = test::read_file(tmp / "target.txt");
  CHECK((content == std::string(1000, 'a') || content == std::string(1000, 'b')));
  int leftovers = 0;
  for (auto& e : fs::directory_iterator(tmp.path)) leftovers += e.path().filename() != "target.txt";
  CHECK(leftovers == 0);
}

TEST_CASE("hardening: replacing a directory swaps it in one step and clears a dead process's leftovers") {
  test::TempDir tmp("hard-dir");
  auto dir = tmp / "checkpoint-1";
  io::write_dir_atomic(dir, [](const fs::path& d) { test::write_file(d / "a.txt", "old"); });
  // What a process killed mid-write leaves (pid 2^22 + 7 is above Linux's pid_max default).
  fs::create_directories(tmp / "checkpoint-1.tmp-4194311-0");
  fs::create_directories(tmp / "checkpoint-1.old-4194311-3");
  // A reader polling throughout the replacement always finds the directory.
  std::atomic<bool> done{false};
  std::atomic<int> missing{0};
  std::thread reader([&] {
    while (!done)
      if (!fs::exists(dir / "a.txt")) ++missing;
  });
  for (int i = 0; i < 50; ++i)
    io::write_dir_atomic(dir, [&](const fs::path& d) { test::write_file(d / "a.txt", "new " + std::to_string(i)); });
  done = true;
  reader.join();
  CHECK(missing == 0);
  CHECK(test::read_file(dir / "a.txt") == "new 49");
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(tmp.path)) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"checkpoint-1"});
}

TEST_CASE("hardening: a weights file truncated after it was mapped is a clear error, not SIGBUS") {
  test::TempDir tmp("hard-sigbus");
  const auto path = tmp / "w.safetensors";
  const int64_t n = 1 << 16;  // 256 KiB of float32: many pages
  io::save_safetensors(path, {{"w", torch::ones({n})}});
  {  // Shrunk before a tensor is taken: get() says so, naming the file and tensor.
    auto f = io::SafetensorsFile::open(path);
    REQUIRE(::truncate(path.c_str(), 4096) == 0);
    CHECK_THROWS_WITH_AS(f->get("w"), doctest::Contains("shrank"), Error);
    CHECK_THROWS_WITH_AS(f->get("w"), doctest::Contains(path.string().c_str()), Error);
  }
  io::save_safetensors(path, {{"w", torch::ones({n})}});
  // Shrunk while a view of it is in use: the next touch of a lost page raises SIGBUS,
  // which the handler turns into a message naming the file and exit status 1. In a
  // child process, since it ends the process.
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], 2);
    ::close(pipe_fds[0]);
    auto f = io::SafetensorsFile::open(path);
    auto t = f->get("w");
    const volatile float* p = t.data_ptr<float>();
    float sum = 0;
    for (int64_t i = 0; i < n; i += 1024) sum += p[i];  // pages now resident
    if (::truncate(path.c_str(), 4096) != 0) ::_exit(5);
    for (int64_t i = 0; i < n; i += 1024) sum += p[i];  // SIGBUS past the new end
    ::_exit(sum > 0 ? 3 : 4);  // not reached
  }
  ::close(pipe_fds[1]);
  std::string err;
  char buf[512];
  for (ssize_t r; (r = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<size_t>(r));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  INFO(err);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(err.find(path.string()) != std::string::npos);
  CHECK(err.find("shrank or was rewritten in place while genlens had it memory-mapped") != std::string::npos);
}

TEST_CASE("hardening: a checkpoint write that fails (file size limit = disk full) keeps the previous one, resume is exact") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hard-diskfull");
  write_responses(tmp / "r.jsonl", 8, 0);
  auto base = [&](const fs::path& out) {
    return "train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(out) +
           " --steps 4 --batch-size 2 --thought 1 --compression 1 --save-every 2 -q";
  };
  auto ref = test::run_genlens(base(tmp / "ref"));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);
  auto first = test::run_genlens(base(tmp / "run") + " --stop-at 2");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const auto ckpt2 = tmp / "run" / "checkpoint-2";
  std::map<std::string, std::string> before;
  for (auto& e : fs::directory_iterator(ckpt2)) before[e.path().filename().string()] = test::read_file(e.path());
  // The resumed run may write files of at most 40 KiB: the optimizer state of checkpoint-4
  // (~66 KiB) fails with EFBIG, as a full disk would (SIGXFSZ ignored, so write() fails).
  auto full = test::run_command("trap '' XFSZ; ulimit -f 40; " + test::shell_quote(GENLENS_CLI_PATH) + " " +
                                base(tmp / "run") + " --resume");
  INFO(full.output);
  CHECK(full.exit_code == 1);
  CHECK(full.output.find("checkpoint-4") != std::string::npos);
  CHECK(full.output.find("internal error") == std::string::npos);
  // checkpoint-2 unchanged, no checkpoint-4, no temp directories left behind.
  for (auto& [name, content] : before) CHECK_MESSAGE(test::read_file(ckpt2 / name) == content, name);
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(tmp / "run"))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"checkpoint-2"});
  // With space again, --resume finishes the run exactly as the uninterrupted one.
  auto again = test::run_genlens(base(tmp / "run") + " --resume");
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  for (auto* file : {"adapter.safetensors", "optimizer.safetensors"}) {
    auto a = io::load_safetensors(tmp / "ref" / "checkpoint-4" / file);
    auto b = io::load_safetensors(tmp / "run" / "checkpoint-4" / file);
    REQUIRE(a.size() == b.size());
    for (auto& [n, t] : a) CHECK_MESSAGE(torch::equal(t, b.at(n)), file << " " << n);
  }
}

TEST_CASE("hardening: generate killed with SIGKILL at several points resumes to the uninterrupted result") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hard-kill-gen");
  std::string queries;
  for (int i = 0; i < 24; ++i)
    queries += Json{{"id", "q" + std::to_string(i)}, {"question", "tell me about number " + std::to_string(i)}}.dump() + "\n";
  test::write_file(tmp / "q.jsonl", queries);
  const std::string args = "generate --model " + q(model) + " --input " + q(tmp / "q.jsonl") +
                           " --max-new-tokens 24 --batch-size 2 -q --output ";
  auto ref = test::run_genlens(args + q(tmp / "ref.jsonl"));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);
  // Greedy decoding: rows are a function of the question; compare as id -> answer.
  auto answers = [](const fs::path& p) {
    std::map<std::string, std::string> m;
    for (auto& row : io::read_jsonl(p)) m[row.at("id").get<std::string>()] = row.at("answer").get<std::string>();
    return m;
  };
  const auto expected = answers(tmp / "ref.jsonl");
  REQUIRE(expected.size() == 24);
  int killed_mid_run = 0;
  for (int kill_after : {1, 6, 15}) {
    const auto out = tmp / ("victim-" + std::to_string(kill_after) + ".jsonl");
    auto launch = test::run_command("(" + test::shell_quote(GENLENS_CLI_PATH) + " " + args + q(out) +
                                    " > /dev/null 2>&1 & echo $! > " + q(tmp / "pid") + ")");
    REQUIRE(launch.exit_code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int pid = std::stoi(test::read_file(tmp / "pid"));
    for (int i = 0; i < 3000; ++i) {  // up to 30 s for `kill_after` complete rows
      if (fs::exists(out) && io::read_jsonl_complete(out).rows.size() >= static_cast<size_t>(kill_after)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    test::run_command("kill -9 " + std::to_string(pid));
    for (int i = 0; i < 200 && test::run_command("kill -0 " + std::to_string(pid)).exit_code == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto done = io::read_jsonl_complete(out).rows.size();
    killed_mid_run += done < 24;
    MESSAGE("killed after ", done, " complete rows (asked for >= ", kill_after, ")");
    auto res = test::run_genlens(args + q(out));
    INFO(res.output);
    REQUIRE(res.exit_code == 0);
    CHECK(answers(out) == expected);
    CHECK(io::read_jsonl(out).size() == 24);  // no row twice, none lost
  }
  CHECK(killed_mid_run >= 1);  // at least one kill landed before the end
}
