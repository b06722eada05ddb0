// Beyond one process (core/dist, `genlens launch`): the launcher conventions, the
// launcher itself, data-parallel training on c10d Gloo against one process, a rank that
// dies, and sharded encode / generate against the one-process output.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <unistd.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "app/cli/command.h"
#include "core/analysis/latent_index.h"
#include "core/dist/world.h"
#include "core/gen/checkpoint.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/runtime/metrics_log.h"
#include "core/util/error.h"
#include "tests/gen_fixtures.h"
#include "genlens_paths.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

dist::World world_of(std::map<std::string, std::string> vars) {
  return dist::world_from_env([vars](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

void write_responses(const fs::path& p, int n) {
  const char* topics[] = {"the sea", "bread", "a violin", "winter", "trains", "bees", "copper", "rain"};
  std::string s;
  for (int i = 0; i < n; ++i) {
    std::string t = topics[i % 8];
    // Answers of different lengths: the recon loss's token mean must be weighted right.
    std::string answer = "Here is a note about " + t + ".";
    for (int k = 0; k < i % 5; ++k) answer += " It is interesting in way number " + std::to_string(k) + ".";
    io::Json row{{"id", "r" + std::to_string(i)},
                 {"question", "Tell me something about " + t + " (" + std::to_string(i) + ")."},
                 {"answer", answer}};
    s += row.dump() + "\n";
  }
  test::write_file(p, s);
}

bool wait_until(const std::function<bool()>& f, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return f();
}

}  // namespace

TEST_CASE("dist: torchrun and Slurm conventions, malformed variables are named") {
  auto single = world_of({});
  CHECK_FALSE(single.distributed());
  CHECK(single.source == "single");

  auto t = world_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.7"},
                     {"MASTER_PORT", "29999"}, {"GENLENS_DIST_TIMEOUT", "45"}});
  CHECK(t.distributed());
  CHECK(t.rank == 3);
  CHECK(t.world_size == 4);
  CHECK(t.local_rank == 1);
  CHECK(t.master_addr == "10.0.0.7");
  CHECK(t.master_port == 29999);
  CHECK(t.source == "torchrun");
  CHECK(t.timeout == std::chrono::seconds(45));

  // srun: rank and size from the step, address from the step's node list, port from the job id.
  auto s = world_of({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "5"}, {"SLURM_STEP_NUM_TASKS", "8"},
                     {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "1"}, {"SLURM_STEP_NODELIST", "gpu[07-09,12],cpu3"},
                     {"SLURM_JOB_ID", "123456"}});
  CHECK(s.source == "slurm");
  CHECK(s.rank == 5);
  CHECK(s.world_size == 8);
  CHECK(s.local_rank == 1);
  CHECK(s.master_addr == "gpu07");
  CHECK(s.master_port == 29500 + 456);
  // A batch script outside any step is one process, whatever SLURM_NTASKS says.
  CHECK_FALSE(world_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).distributed());
  // torchrun's variables win inside an allocation.
  CHECK(world_of({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"RANK", "1"},
                  {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1234"}})
            .rank == 1);

  CHECK(dist::first_slurm_host("node1") == "node1");
  CHECK(dist::first_slurm_host("a,b") == "a");
  CHECK(dist::first_slurm_host("rack[3-4]-n[01-02]") == "rack3-n01");

  auto err = [](std::map<std::string, std::string> v) {
    try {
      world_of(v);
    } catch (const genlens::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}).find("RANK") !=
        std::string::npos);
  CHECK(err({{"RANK", "0"}, {"WORLD_SIZE", "two"}}).find("WORLD_SIZE") != std::string::npos);
  CHECK(err({{"RANK", "0"}}).find("WORLD_SIZE") != std::string::npos);
  CHECK(err({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}).find("MASTER_ADDR") != std::string::npos);
  CHECK(err({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT") !=
        std::string::npos);

  // Slices: contiguous, in rank order, sizes differ by at most one, cover 0..n-1.
  for (int n : {0, 1, 7, 8, 9}) {
    int64_t next = 0;
    for (int r = 0; r < 3; ++r) {
      auto sl = dist::slice_of(n, r, 3);
      CHECK(sl.begin == next);
      CHECK(sl.size() >= n / 3);
      CHECK(sl.size() <= n / 3 + 1);
      next = sl.end;
    }
    CHECK(next == n);
  }
}

TEST_CASE("launch: sets the torchrun variables, one failing rank stops the others and is named") {
  auto r = test::run_genlens(
      "launch --nproc 3 -- sh -c 'echo \"R=$RANK W=$WORLD_SIZE L=$LOCAL_RANK A=$MASTER_ADDR P=$MASTER_PORT\"'");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  for (int k = 0; k < 3; ++k)
    CHECK(r.output.find("R=" + std::to_string(k) + " W=3 L=" + std::to_string(k) + " A=127.0.0.1 P=") !=
          std::string::npos);

  // Rank 1 fails at once; rank 0 would sleep 60 s: the launcher must stop it and say why.
  auto f = test::run_genlens("launch --nproc 2 --grace 5 -- sh -c 'if [ \"$RANK\" = 1 ]; then exit 3; fi; exec sleep 60'");
  INFO(f.output);
  CHECK(f.exit_code == 3);
  CHECK(f.output.find("rank 1 (pid") != std::string::npos);
  CHECK(f.output.find("exited with status 3; stopping the other 1 rank(s)") != std::string::npos);
  CHECK(f.output.find("failed: rank 1 exited with status 3") != std::string::npos);

  // Commands that do not run distributed refuse a multi-process launch.
  auto t = test::run_command("RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 " +
                             test::shell_quote(GENLENS_CLI_PATH) + " init-model --config none.json --out none");
  CHECK(t.exit_code == cli::kFailure);
  CHECK(t.output.find("does not run distributed") != std::string::npos);
}

TEST_CASE("launch --nproc 2 train (Gloo): the loss curve and adapter of one process with the same global batch") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("dist-train");
  write_responses(tmp / "responses.jsonl", 21);
  auto base = "train --quiet --model " + q(model) + " --data " + q(tmp / "responses.jsonl") +
              " --steps 20 --batch-size 8 --save-every 5 --thought 2 --compression 3 --lr 3e-3 --warmup 2 --out ";
  auto one = test::run_genlens(base + q(tmp / "one"));
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  // Two ranks: first to step 10, then --resume to 20 (resume under the launcher too).
  auto two_a = test::run_genlens("launch --nproc 2 -- genlens " + base + q(tmp / "two") + " --stop-at 10");
  INFO(two_a.output);
  REQUIRE(two_a.exit_code == 0);
  CHECK(gen::list_checkpoints(tmp / "two").back().first == 10);
  auto two_b = test::run_genlens("launch --nproc 2 -- genlens " + base + q(tmp / "two") + " --resume");
  INFO(two_b.output);
  REQUIRE(two_b.exit_code == 0);
  CHECK(two_b.output.find("trained to step 20 of 20") != std::string::npos);

  auto ra = runtime::MetricsLog::read(tmp / "one" / "metrics.jsonl");
  auto rb = runtime::MetricsLog::read(tmp / "two" / "metrics.jsonl");
  REQUIRE(ra.size() == 20);
  REQUIRE(rb.size() == 20);  // rank 0 alone writes the metrics
  double worst = 0;
  for (size_t i = 0; i < 20; ++i) {
    CHECK(rb[i].step == static_cast<int64_t>(i + 1));
    for (auto* key : {"loss", "recon_loss", "align_loss", "grad_norm"}) {
      const double a = ra[i].value_or(key, 0), b = rb[i].value_or(key, 1);
      INFO("step ", i + 1, " ", key, ": one process ", a, ", two ranks ", b);
      CHECK(std::abs(a - b) <= 1e-5);
      if (std::string(key) == "loss") worst = std::max(worst, std::abs(a - b));
    }
  }
  MESSAGE("largest per-step loss difference, 1 process vs 2 ranks: ", worst);
  for (auto* file : {"adapter.safetensors", "optimizer.safetensors"}) {
    auto a = io::load_safetensors(tmp / "one" / "checkpoint-20" / file);
    auto b = io::load_safetensors(tmp / "two" / "checkpoint-20" / file);
    REQUIRE(a.size() == b.size());
    for (auto& [n, t] : a) {
      INFO(file, " ", n);
      CHECK((t - b.at(n)).abs().max().item<double>() <= 1e-5);
    }
  }
  // The loss would not match if it were averaged per rank: guard that the two ranks'
  // shards really differ in target length (the weighting is exercised).
  auto state = io::read_json_file(tmp / "two" / "checkpoint-20" / "trainer_state.json");
  CHECK(state.at("world_size") == 2);

  // A different world size may continue the run: one process resumes the 2-rank run.
  fs::create_directories(tmp / "mixed");
  fs::copy(tmp / "two" / "checkpoint-10", tmp / "mixed" / "checkpoint-10", fs::copy_options::recursive);
  fs::copy_file(tmp / "two" / "teacher.npy", tmp / "mixed" / "teacher.npy");
  fs::copy_file(tmp / "two" / "teacher.json", tmp / "mixed" / "teacher.json");
  auto mixed = test::run_genlens(base + q(tmp / "mixed") + " --resume");
  INFO(mixed.output);
  REQUIRE(mixed.exit_code == 0);
  auto am = io::load_safetensors(tmp / "mixed" / "checkpoint-20" / "adapter.safetensors");
  auto a1 = io::load_safetensors(tmp / "one" / "checkpoint-20" / "adapter.safetensors");
  for (auto& [n, t] : a1) CHECK((t - am.at(n)).abs().max().item<double>() <= 1e-5);
}

TEST_CASE("train on 2 ranks: when one rank dies (SIGKILL) the other exits with a clear error, not a hang") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("dist-kill");
  write_responses(tmp / "responses.jsonl", 12);
  auto args = " train --model " + q(model) + " --data " + q(tmp / "responses.jsonl") + " --out " + q(tmp / "run") +
              " --steps 100000 --batch-size 4 --save-every 100000 --thought 2 --compression 2";
  const std::string port = std::to_string(20000 + (::getpid() % 20000));
  // Two ranks started by hand (as torchrun or srun would), each recording its exit status.
  for (int r = 0; r < 2; ++r) {
    auto cmd = "RANK=" + std::to_string(r) + " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port +
               " GENLENS_DIST_TIMEOUT=30 " + test::shell_quote(GENLENS_CLI_PATH) + args;
    auto tag = std::to_string(r);
    REQUIRE(test::run_command("(sh -c " +
                              test::shell_quote(cmd + " > " + q(tmp / ("log" + tag)) + " 2>&1 & echo $! > " +
                                                q(tmp / ("pid" + tag)) + "; wait $!; echo $? > " + q(tmp / ("rc" + tag))) +
                              " > /dev/null 2>&1 &)")
                .exit_code == 0);
  }
  // Training is under way once rank 0 has logged a few steps.
  bool running = wait_until([&] {
    return fs::exists(tmp / "run" / "metrics.jsonl") &&
           io::read_jsonl_complete(tmp / "run" / "metrics.jsonl").rows.size() >= 3;
  }, 120);
  INFO(test::read_file(tmp / "log0"));
  INFO(test::read_file(tmp / "log1"));
  REQUIRE(running);
  test::run_command("kill -9 " + test::read_file(tmp / "pid1"));
  const auto t0 = std::chrono::steady_clock::now();
  // Rank 0 must notice within the collective timeout (30 s), plus start-up slack.
  bool ended = wait_until([&] { return fs::exists(tmp / "rc0") && !test::read_file(tmp / "rc0").empty(); }, 60);
  if (!ended) test::run_command("kill -9 " + test::read_file(tmp / "pid0"));
  REQUIRE(ended);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("rank 0 exited ", s, " s after rank 1 was killed");
  auto log0 = test::read_file(tmp / "log0");
  INFO(log0);
  CHECK(std::stoi(test::read_file(tmp / "rc0")) == cli::kFailure);
  CHECK(log0.find("rank 0 of 2: all-reduce") != std::string::npos);
  CHECK(log0.find("another rank has most likely died") != std::string::npos);
}

TEST_CASE("launch: a rank killed mid-run makes the launcher stop the rest and name it") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("dist-launch-kill");
  write_responses(tmp / "responses.jsonl", 12);
  auto cmd = test::shell_quote(GENLENS_CLI_PATH) + " launch --nproc 2 -- genlens train --model " + q(model) +
             " --data " + q(tmp / "responses.jsonl") + " --out " + q(tmp / "run") +
             " --steps 100000 --batch-size 4 --save-every 100000 --thought 2 --compression 2";
  REQUIRE(test::run_command("(sh -c " + test::shell_quote(cmd + " > " + q(tmp / "log") + " 2>&1; echo $? > " + q(tmp / "rc")) +
                            " > /dev/null 2>&1 &)").exit_code == 0);
  bool running = wait_until([&] {
    return fs::exists(tmp / "run" / "metrics.jsonl") &&
           io::read_jsonl_complete(tmp / "run" / "metrics.jsonl").rows.size() >= 3;
  }, 120);
  INFO(test::read_file(tmp / "log"));
  REQUIRE(running);
  // "genlens launch: 2 ranks (pids A B), ..." -> kill rank 1 (B).
  auto log = test::read_file(tmp / "log");
  auto at = log.find("(pids ");
  REQUIRE(at != std::string::npos);
  std::istringstream pids(log.substr(at + 6));
  long p0 = 0, p1 = 0;
  pids >> p0 >> p1;
  REQUIRE(p1 > 0);
  test::run_command("kill -9 " + std::to_string(p1));
  bool ended = wait_until([&] { return fs::exists(tmp / "rc") && !test::read_file(tmp / "rc").empty(); }, 60);
  if (!ended) test::run_command("kill -9 " + std::to_string(p0));
  REQUIRE(ended);
  log = test::read_file(tmp / "log");
  INFO(log);
  CHECK(std::stoi(test::read_file(tmp / "rc")) == 128 + 9);
  CHECK(log.find("rank 1 (pid " + std::to_string(p1) + ") was killed by signal 9") != std::string::npos);
  CHECK(log.find("failed: rank 1 was killed by signal 9") != std::string::npos);
  CHECK(test::run_command("kill -0 " + std::to_string(p0)).exit_code != 0);  // rank 0 is gone too
}

TEST_CASE("sharded encode and generate on 2 ranks write the one-process files (same bytes, same row order)") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("dist-shard");
  std::string texts, queries;
  for (int i = 0; i < 23; ++i) {
    std::string t = "text number " + std::to_string(i);
    for (int k = 0; k < i % 6; ++k) t += " with more words";
    texts += io::Json{{"text", t}}.dump() + "\n";
    if (i < 7) queries += io::Json{{"id", "q" + std::to_string(i)}, {"question", "Say something about " + t}}.dump() + "\n";
  }
  test::write_file(tmp / "texts.jsonl", texts);
  test::write_file(tmp / "queries.jsonl", queries);

  for (auto* mode : {"mean", "last"}) {
    auto enc = "encode --quiet --model " + q(model) + " --input " + q(tmp / "texts.jsonl") + " --mode " + mode +
               " --batch-size 3 --window 5 --output ";
    auto one = test::run_genlens(enc + q(tmp / "one.npy"));
    INFO(one.output);
    REQUIRE(one.exit_code == 0);
    auto two = test::run_genlens("launch --nproc 2 -- genlens " + enc + q(tmp / "two.npy"));
    INFO(two.output);
    REQUIRE(two.exit_code == 0);
    CHECK(test::read_file(tmp / "one.npy") == test::read_file(tmp / "two.npy"));
    // The windowed (streaming) output equals the whole-file encode up to rounding.
    auto whole = test::run_genlens("encode --quiet --model " + q(model) + " --input " + q(tmp / "texts.jsonl") +
                                   " --mode " + mode + " --batch-size 64 --window 1000 --output " + q(tmp / "whole.npy"));
    REQUIRE(whole.exit_code == 0);
    auto a = io::load_npy(tmp / "two.npy"), b = io::load_npy(tmp / "whole.npy");
    REQUIRE(a.sizes() == b.sizes());
    CHECK(a.size(0) == 23);
    CHECK((a - b).abs().max().item<double>() <= 1e-4);
    // Nothing partial left behind.
    for (auto& e : fs::directory_iterator(tmp.path))
      CHECK(e.path().filename().string().find(".partial") == std::string::npos);
  }

  auto gen = "generate --quiet --model " + q(model) + " --input " + q(tmp / "queries.jsonl") +
             " --max-new-tokens 6 --batch-size 2 --output ";
  auto g1 = test::run_genlens(gen + q(tmp / "one.jsonl"));
  INFO(g1.output);
  REQUIRE(g1.exit_code == 0);
  auto g2 = test::run_genlens("launch --nproc 2 -- genlens " + gen + q(tmp / "two.jsonl"));
  INFO(g2.output);
  REQUIRE(g2.exit_code == 0);
  CHECK(test::read_file(tmp / "one.jsonl") == test::read_file(tmp / "two.jsonl"));
  CHECK(io::read_jsonl(tmp / "two.jsonl").size() == 7);
  CHECK_FALSE(fs::exists(tmp / "two.jsonl.rank-0-of-2"));
  CHECK_FALSE(fs::exists(tmp / "two.jsonl.rank-1-of-2"));
  // Rerun on the merged file: nothing is generated again, the file stays the same.
  auto g3 = test::run_genlens("launch --nproc 2 -- genlens " + gen + q(tmp / "two.jsonl"));
  INFO(g3.output);
  REQUIRE(g3.exit_code == 0);
  CHECK(g3.output.find("0 generated now") != std::string::npos);
  CHECK(test::read_file(tmp / "one.jsonl") == test::read_file(tmp / "two.jsonl"));
}

TEST_CASE("encode: killed mid-run (SIGKILL), the rerun continues the finished windows and writes the same file") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("dist-encode-resume");
  std::string texts;
  for (int i = 0; i < 3000; ++i) texts += io::Json{{"text", "short text " + std::to_string(i * 7919 % 1000)}}.dump() + "\n";
  test::write_file(tmp / "texts.jsonl", texts);
  auto enc = test::shell_quote(GENLENS_CLI_PATH) + " encode --model " + q(model) + " --input " + q(tmp / "texts.jsonl") +
             " --mode mean --batch-size 8 --window 100 --output ";
  auto ref = test::run_command(enc + q(tmp / "ref.npy") + " --quiet");
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);

  REQUIRE(test::run_command("(" + enc + q(tmp / "out.npy") + " > " + q(tmp / "log") + " 2>&1 & echo $! > " +
                            q(tmp / "pid") + ")").exit_code == 0);
  const auto marks = tmp / "out.npy.partial.done-0";
  bool some = wait_until([&] { return fs::exists(marks) && io::read_jsonl_complete(marks).rows.size() >= 2; }, 120);
  test::run_command("kill -9 " + test::read_file(tmp / "pid"));
  REQUIRE(some);
  wait_until([&] { return test::run_command("kill -0 " + test::read_file(tmp / "pid")).exit_code != 0; }, 10);
  const auto done = io::read_jsonl_complete(marks).rows.size();
  if (fs::exists(tmp / "out.npy")) {
    MESSAGE("the first run finished before it was killed; resume not exercised");
    return;
  }
  REQUIRE(done < 30);
  auto again = test::run_command(enc + q(tmp / "out.npy"));
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(again.output.find("windows of 100 rows already done") != std::string::npos);
  CHECK(test::read_file(tmp / "out.npy") == test::read_file(tmp / "ref.npy"));
  CHECK_FALSE(fs::exists(marks));
  CHECK_FALSE(fs::exists(tmp / "out.npy.partial"));
}

TEST_CASE("sharded latent-index on 2 ranks writes the one-process index (entries, vectors, settings)") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("dist-latent");
  std::string corpus;
  for (int i = 0; i < 29; ++i) {
    std::string t = "answer " + std::to_string(i) + " is about";
    for (int k = 0; k < 1 + i % 4; ++k) t += " topic" + std::to_string((i * 5 + k) % 11);
    corpus += io::Json{{"answer", t}}.dump() + "\n";
  }
  test::write_file(tmp / "c.jsonl", corpus);
  // A small --max-per-token: the second part's rows are capped by the first part's tokens.
  auto cmd = "latent-index --quiet --model " + q(model) + " --corpus " + q(tmp / "c.jsonl") +
             " --layers 1:2 --batch-size 3 --max-per-token 4 --shard-entries 32 --out ";
  auto one = test::run_genlens(cmd + q(tmp / "one"));
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  auto two = test::run_genlens("launch --nproc 2 -- genlens " + cmd + q(tmp / "two"));
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK(test::read_file(tmp / "one" / "entries.jsonl") == test::read_file(tmp / "two" / "entries.jsonl"));
  auto a = io::Json::parse(test::read_file(tmp / "one" / "index.json"));
  auto b = io::Json::parse(test::read_file(tmp / "two" / "index.json"));
  for (auto* k : {"settings", "model", "n_entries", "n_rows", "rows_done", "layers", "complete", "has_hnsw", "entries_bytes"})
    CHECK_MESSAGE(a[k] == b[k], k);
  auto ia = analysis::LatentIndex::open(tmp / "one"), ib = analysis::LatentIndex::open(tmp / "two");
  REQUIRE(ia->size() == ib->size());
  int64_t differ = 0;
  for (int64_t e = 0; e < ia->size(); ++e) differ += ia->vector(e) != ib->vector(e);
  CHECK(differ == 0);
  CHECK_FALSE(fs::exists(tmp / "two" / "part-0"));
  CHECK_FALSE(fs::exists(tmp / "two" / "part-1"));
  // Rerun on the finished index: nothing is rebuilt.
  auto again = test::run_genlens("launch --nproc 2 -- genlens " + cmd + q(tmp / "two"));
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(test::read_file(tmp / "one" / "entries.jsonl") == test::read_file(tmp / "two" / "entries.jsonl"));
}
