// SIGKILL at several moments of long commands: a killed `train` or
// `latent-index` loses at most the work since its last commit point, and rerunning the
// same command finishes with exactly the result of a run that was never interrupted.
// (`generate` has its loop in test_hardening.cpp, `encode` in test_dist.cpp.)
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

#include "core/analysis/latent_index.h"
#include "core/io/safetensors.h"
#include "tests/gen_fixtures.h"
#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

// Starts `genlens ARGS` in the background, waits until `ready()` holds (or it exits),
// sleeps `extra_ms` more so the kill lands inside the next piece of work, then SIGKILLs
// it. Returns false when the command had already finished.
bool kill_when(const std::string& args, const fs::path& tmp, const std::function<bool()>& ready, int extra_ms) {
  const auto pidfile = tmp / "victim.pid";
  auto launch = test::run_command("(" + test::shell_quote(GENLENS_CLI_PATH) + " " + args + " > /dev/null 2>&1 & echo $! > " +
                                  q(pidfile) + ")");
  REQUIRE(launch.exit_code == 0);
  const auto pid = std::to_string(std::stoi(test::read_file(pidfile)));
  auto alive = [&] { return test::run_command("kill -0 " + pid + " 2>/dev/null").exit_code == 0; };
  for (int i = 0; i < 6000 && alive() && !ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms));
  const bool was_alive = alive();
  test::run_command("kill -9 " + pid + " 2>/dev/null");
  for (int i = 0; i < 500 && alive(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return was_alive;
}

// The metrics rows without wall-clock values (step times and throughput differ run to run).
std::vector<Json> metric_rows(const fs::path& p) {
  std::vector<Json> rows;
  std::istringstream in(test::read_file(p));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = Json::parse(line);
    for (auto* k : {"step_s", "samples_per_s", "tokens_per_s", "time", "elapsed_s"}) j.erase(k);
    rows.push_back(j);
  }
  return rows;
}

}  // namespace

TEST_CASE("kill loop: train killed with SIGKILL at several moments resumes to the uninterrupted adapter") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("kill-train");
  std::string data;
  for (int i = 0; i < 16; ++i)
    data += Json{{"id", std::to_string(i)}, {"question", "question number " + std::to_string(i)},
                 {"answer", "answer number " + std::to_string(i)}}
                .dump() +
            "\n";
  test::write_file(tmp / "r.jsonl", data);
  auto args = [&](const fs::path& out) {
    return "train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(out) +
           " --steps 12 --batch-size 2 --thought 1 --compression 1 --save-every 2 -q";
  };
  auto ref = test::run_genlens(args(tmp / "ref"));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);

  const auto run = tmp / "run";
  int landed = 0;
  // Kill points: just after checkpoint-2 appears, mid-way between checkpoints, and late.
  for (auto [ckpt, extra_ms] : {std::pair{2, 0}, std::pair{4, 40}, std::pair{8, 15}}) {
    const auto dir = run / ("checkpoint-" + std::to_string(ckpt));
    const bool first = !fs::exists(run);
    kill_when(args(run) + (first ? "" : " --resume"), tmp.path, [&] { return fs::exists(dir); }, extra_ms);
    int last = 0;
    for (auto& e : fs::directory_iterator(run))
      if (e.path().filename().string().rfind("checkpoint-", 0) == 0)
        last = std::max(last, std::stoi(e.path().filename().string().substr(11)));
    landed += last < 12;  // killed before the run finished
    MESSAGE("killed after checkpoint-", ckpt, " + ", extra_ms, " ms: newest checkpoint ", last);
  }
  CHECK(landed >= 2);
  auto rest = test::run_genlens(args(run) + " --resume");
  INFO(rest.output);
  REQUIRE(rest.exit_code == 0);
  for (auto* file : {"adapter.safetensors", "optimizer.safetensors"}) {
    auto a = io::load_safetensors(tmp / "ref" / "checkpoint-12" / file);
    auto b = io::load_safetensors(run / "checkpoint-12" / file);
    REQUIRE(a.size() == b.size());
    for (auto& [n, t] : a) CHECK_MESSAGE(torch::equal(t, b.at(n)), file << " " << n);
  }
  // The metrics log has each step once, with the uninterrupted run's values.
  CHECK(metric_rows(run / "metrics.jsonl") == metric_rows(tmp / "ref" / "metrics.jsonl"));
  // No temporary directories left behind.
  for (auto& e : fs::directory_iterator(run))
    CHECK_MESSAGE(e.path().filename().string().find(".tmp") == std::string::npos, e.path().string());
}

TEST_CASE("kill loop: latent-index killed with SIGKILL at several moments resumes to the uninterrupted index") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("kill-latent");
  std::string corpus;
  // Long rows, so the build takes a few seconds and each kill lands inside it.
  for (int i = 0; i < 300; ++i) {
    std::string text = "row " + std::to_string(i) + ":";
    for (int w = 0; w < 40; ++w) text += " word" + std::to_string((i * 31 + w * 7) % 997);
    corpus += Json{{"answer", text}}.dump() + "\n";
  }
  test::write_file(tmp / "c.jsonl", corpus);
  auto args = [&](const fs::path& out) {
    return "latent-index --model " + q(model) + " --corpus " + q(tmp / "c.jsonl") + " --out " + q(out) +
           " --layers 1:2 --batch-size 1 --shard-entries 64 --max-per-token 1000000 -q";
  };
  auto ref = test::run_genlens(args(tmp / "ref"));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);

  const auto out = tmp / "run";
  // index.json's "rows_done": the rows whose entries are committed (shards written).
  auto rows_committed = [&]() -> int64_t {
    try {
      return Json::parse(test::read_file(out / "index.json")).value("rows_done", int64_t{0});
    } catch (const std::exception&) {
      return 0;
    }
  };
  int landed = 0;
  for (auto [rows, extra_ms] : {std::pair{1, 0}, std::pair{60, 20}, std::pair{150, 5}}) {
    kill_when(args(out), tmp.path, [&] { return rows_committed() >= rows; }, extra_ms);
    const auto done = rows_committed();
    landed += done < 300;  // killed before every row was indexed
    MESSAGE("killed with ", done, " of 300 rows committed (asked for >= ", rows, ")");
  }
  CHECK(landed >= 2);
  auto rest = test::run_genlens(args(out));
  INFO(rest.output);
  REQUIRE(rest.exit_code == 0);
  auto a = analysis::read_latent_index_info(tmp / "ref"), b = analysis::read_latent_index_info(out);
  CHECK(b.complete);
  CHECK(b.n_entries == a.n_entries);
  CHECK(test::read_file(out / "entries.jsonl") == test::read_file(tmp / "ref" / "entries.jsonl"));
  auto ia = analysis::LatentIndex::open(tmp / "ref"), ib = analysis::LatentIndex::open(out);
  REQUIRE(ia->size() == ib->size());
  int64_t differ = 0;
  for (int64_t e = 0; e < ia->size(); ++e) differ += ia->vector(e) != ib->vector(e);
  CHECK(differ == 0);
}
