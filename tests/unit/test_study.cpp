// `genlens study` on a tiny Qwen3: a variant is the run `train` + `eval` make by hand,
// a killed study continues without retraining what finished, bad --vary input is refused
// before anything trains, and the table's mean, spread and "~" marks are what the
// numbers say (core/runs/study.h, study_file.h).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/safetensors.h"
#include "core/runs/study_file.h"
#include "core/runtime/metrics_log.h"
#include "tests/gen_fixtures.h"
#include "genlens_paths.h"

using namespace genlens;
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

void write_jsonl(const fs::path& p, const std::vector<Json>& rows) {
  std::string s;
  for (auto& r : rows) s += r.dump() + "\n";
  test::write_file(p, s);
}

const std::vector<std::string> kTopics = {"bees and honey", "trains and stations", "stocks and markets", "rain and clouds"};
const std::vector<std::string> kLabels = {"nature", "travel", "finance", "weather"};

// Responses, two small tasks (sts, clustering) and held-out queries with the model's answers.
void write_inputs(const fs::path& root) {
  std::vector<Json> rows, heldout;
  for (int i = 0; i < 12; ++i) {
    const auto& t = kTopics[static_cast<size_t>(i % 4)];
    rows.push_back({{"id", "r" + std::to_string(i)},
                    {"question", "Tell me about " + t + " (" + std::to_string(i) + ")."},
                    {"answer", "A short note about " + t + ", number " + std::to_string(i) + "."}});
  }
  for (int i = 0; i < 6; ++i) {
    const auto& t = kTopics[static_cast<size_t>(i % 4)];
    heldout.push_back({{"id", "h" + std::to_string(i)},
                       {"question", "What do you know about " + t + "?"},
                       {"answer", "Something about " + t + "."},
                       {"category", kLabels[static_cast<size_t>(i % 4)]}});
  }
  write_jsonl(root / "responses.jsonl", rows);
  write_jsonl(root / "heldout.jsonl", heldout);
  test::write_file(root / "tasks/sts/task.json", R"({"type": "sts", "name": "tiny-sts"})");
  std::vector<Json> pairs, texts;
  for (int i = 0; i < 8; ++i)
    pairs.push_back({{"text1", kTopics[static_cast<size_t>(i % 4)]},
                     {"text2", kTopics[static_cast<size_t>((i * 3) % 4)] + " today"},
                     {"score", (i % 4) == ((i * 3) % 4) ? 5.0 : 0.5 * i}});
  write_jsonl(root / "tasks/sts/pairs.jsonl", pairs);
  test::write_file(root / "tasks/clu/task.json", R"({"type": "clustering", "name": "tiny-clustering"})");
  for (int i = 0; i < 12; ++i)
    texts.push_back({{"text", kTopics[static_cast<size_t>(i % 4)] + " (" + std::to_string(i) + ")"},
                     {"label", kLabels[static_cast<size_t>(i % 4)]}});
  write_jsonl(root / "tasks/clu/texts.jsonl", texts);
}

// The training settings every run here shares (as `genlens train` takes them).
std::string train_args(const fs::path& model, const fs::path& in) {
  return " --model " + q(model) + " --data " + q(in / "responses.jsonl") +
         " --batch-size 3 --compression 2 --lr 3e-3 --warmup 2 --query-max-length 32 --response-max-length 24";
}
std::string base_args(const fs::path& model, const fs::path& in) {
  return train_args(model, in) + " --tasks " + q(in / "tasks");
}

void check_same_tensors(const fs::path& a, const fs::path& b) {
  auto ta = io::load_safetensors(a);
  auto tb = io::load_safetensors(b);
  REQUIRE(ta.size() == tb.size());
  for (auto& [name, t] : ta) {
    INFO(a.string(), " ", name);
    REQUIRE(tb.count(name) == 1);
    CHECK(torch::equal(t, tb.at(name)));
  }
}

}  // namespace

TEST_CASE("study: a variant is the run train + eval --modes generative make by hand (same tensors, same scores)") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("study-same");
  write_inputs(tmp.path);
  auto r = test::run_genlens("study --quiet" + base_args(model, tmp.path) + " --steps 6 --heldout " +
                             q(tmp / "heldout.jsonl") + " --out " + q(tmp / "st") + " --vary thought=0,2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("| thought=0 |") != std::string::npos);
  const fs::path v = tmp / "st/variants/thought=0/seed-42";
  REQUIRE(fs::exists(v / "done.json"));

  auto t = test::run_genlens("train --quiet" + train_args(model, tmp.path) + " --steps 6 --thought 0 --out " +
                             q(tmp / "hand/run"));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  auto e = test::run_genlens("eval --quiet --model " + q(model) + " --adapter " + q(tmp / "hand/run") + " --tasks " +
                             q(tmp / "tasks") + " --modes generative --out " + q(tmp / "hand/eval"));
  INFO(e.output);
  REQUIRE(e.exit_code == 0);
  check_same_tensors(v / "run/checkpoint-6/adapter.safetensors", tmp / "hand/run/checkpoint-6/adapter.safetensors");
  Json a = io::read_json_file(v / "eval/results.json"), b = io::read_json_file(tmp / "hand/eval/results.json");
  CHECK(a["tasks"] == b["tasks"]);

  // study.json carries the same numbers, and the probe wrote its files for the studio.
  auto s = runs::read_study(tmp / "st");
  REQUIRE(s.variants.size() == 2);
  CHECK(s.variants[0].name == "thought=0");
  CHECK(s.variants[0].runs.at(0).done);
  for (auto& task : b["tasks"]) {
    const double want = task["scores"]["generative"][task["main_metric"].get<std::string>()].get<double>();
    CHECK(s.variants[0].mean.at(task["name"].get<std::string>()) == doctest::Approx(want));
  }
  auto probe = io::read_json_file(v / "probe/probe.json");
  CHECK(probe["n"] == 6);
  CHECK(probe["measure"] == "answer words");  // these held-out rows carry answers, no signature
  auto map = io::read_json_file(v / "probe/map.json");
  CHECK(map["ids"].size() == 6);
  CHECK(map["pca"].size() == 6);
  CHECK(map["umap"].size() == 6);
  CHECK(io::read_jsonl_complete(v / "probe/samples.jsonl").rows.size() == 6);
  CHECK(s.variants[0].mean.count("decode") == 1);
  CHECK(test::read_file(tmp / "st/table.md").find("| thought=2 |") != std::string::npos);
}

TEST_CASE("study: killed mid-study and rerun, finished runs are not retrained and the table is identical") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("study-kill");
  write_inputs(tmp.path);
  const std::string args = "study --quiet" + base_args(model, tmp.path) +
                           " --steps 60 --save-every 10 --vary lr=0.003,0.001,0.002 --out ";
  auto ref = test::run_genlens(args + q(tmp / "ref"));
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);

  const fs::path st = tmp / "victim";
  auto launch = test::run_command("(" + test::shell_quote(GENLENS_CLI_PATH) + " " + args + q(st) + " > " +
                                  q(tmp / "victim.log") + " 2>&1 & echo $! > " + q(tmp / "pid") + ")");
  REQUIRE(launch.exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto pid = std::stoi(test::read_file(tmp / "pid"));
  // Killed once the first run is done and the second has a checkpoint but is not finished.
  const fs::path first = st / "variants/lr=0.003/seed-42", second = st / "variants/lr=0.001/seed-42";
  bool ready = false;
  for (int i = 0; i < 2400 && !ready; ++i) {  // up to 120 s
    ready = fs::exists(first / "done.json") && fs::exists(second / "run/checkpoint-10/genlens.json");
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  test::run_command("kill -9 " + std::to_string(pid));
  for (int i = 0; i < 100 && test::run_command("kill -0 " + std::to_string(pid)).exit_code == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(ready);
  const bool second_unfinished = !fs::exists(second / "done.json");
  const std::string killed_when = second_unfinished ? "unfinished" : "already finished (a fast machine)";
  MESSAGE("killed with the second run ", killed_when);
  const auto first_adapter = first / "run/checkpoint-60/adapter.safetensors";
  REQUIRE(fs::exists(first_adapter));
  const auto first_time = fs::last_write_time(first_adapter);
  const auto first_metrics = test::read_file(first / "run/metrics.jsonl");

  auto again = test::run_genlens("study" + args.substr(std::string("study --quiet").size()) + q(st));
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(again.output.find("lr=0.003 seed 42: done earlier, not trained again") != std::string::npos);
  CHECK(fs::last_write_time(first_adapter) == first_time);
  CHECK(test::read_file(first / "run/metrics.jsonl") == first_metrics);
  // Every run's metrics hold each step once (the second resumed from its checkpoint).
  for (auto* v : {"lr=0.003", "lr=0.001", "lr=0.002"}) {
    auto rows = runtime::MetricsLog::read(st / "variants" / v / "seed-42/run/metrics.jsonl");
    REQUIRE(rows.size() == 60);
    for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i].step == static_cast<int64_t>(i + 1));
  }
  CHECK(test::read_file(st / "table.md") == test::read_file(tmp / "ref/table.md"));

  // A third run changes nothing and trains nothing.
  const auto table = test::read_file(st / "table.md");
  auto third = test::run_genlens("study" + args.substr(std::string("study --quiet").size()) + q(st));
  REQUIRE(third.exit_code == 0);
  CHECK(third.output.find("lr=0.002 seed 42: done earlier, not trained again") != std::string::npos);
  CHECK(test::read_file(st / "table.md") == table);
}

TEST_CASE("study: bad --vary input is refused before anything trains, naming the key and the value") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("study-bad");
  write_inputs(tmp.path);
  const std::string args = "study" + base_args(model, tmp.path) + " --steps 5 --out " + q(tmp / "st");
  struct Case {
    std::string vary, expect;
  };
  const std::vector<Case> cases = {
      {"--vary thougt=0,10", "--vary thougt: unknown key \"thougt\", did you mean \"thought\"?"},
      {"--vary thought=", "--vary thought: no values (expected thought=V1,V2,...)"},
      {"--vary thought=0,,10", "--vary thought: an empty value"},
      {"--vary thought", "--vary thought: expected KEY=V1,V2,..."},
      {"--vary thought=0,-1", "--vary thought=-1: training setting --thought: expected 0 to 4096, found -1"},
      {"--vary lr=0.1,fast", "--vary lr=fast: expected a number"},
      {"--vary seed=1,-2", "--vary seed=-2: expected a whole number >= 0"},
      {"--vary recon-weight=0 --vary align-weight=0", "loss weights: expected at least one > 0"},
      {"--vary lr=0.1 --vary thought=1,2 --zip", "--zip: every --vary needs as many values (lr has 1, thought has 2)"},
      {"--vary lr=0.1 --vary lr=0.2", "--vary lr: given twice"},
      {"--vary thought=1,1", "two variants are both \"thought=1\""},
  };
  for (const auto& c : cases) {
    auto r = test::run_genlens(args + " " + c.vary);
    INFO(c.vary, "\n", r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find(c.expect) != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "st"));  // refused before the study folder was made
  }
  // A missing task folder or held-out file is named before the first step, too.
  auto r = test::run_genlens("study" + base_args(model, tmp.path) + " --steps 5 --out " + q(tmp / "st2") +
                             " --vary thought=0 --heldout " + q(tmp / "nope.jsonl"));
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("nope.jsonl") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "st2/variants"));
}

TEST_CASE("study: --reuse copies a finished identical run instead of training it") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("study-reuse");
  write_inputs(tmp.path);
  const std::string args = "study" + base_args(model, tmp.path) + " --steps 6 --thought 2";
  auto a = test::run_genlens(args + " --quiet --out " + q(tmp / "a") + " --vary recon-weight=1,0");
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  auto b = test::run_genlens(args + " --out " + q(tmp / "b") + " --vary compression=2,3 --reuse " + q(tmp / "a"));
  INFO(b.output);
  REQUIRE(b.exit_code == 0);
  CHECK(b.output.find("compression=2 seed 42: the same run is finished in") != std::string::npos);
  CHECK(b.output.find("compression=3 seed 42: the same run is finished in") == std::string::npos);
  check_same_tensors(tmp / "a/variants/recon-weight=1/seed-42/run/checkpoint-6/adapter.safetensors",
                     tmp / "b/variants/compression=2/seed-42/run/checkpoint-6/adapter.safetensors");
  // Its metrics were not extended: the copy trained no further step.
  CHECK(runtime::MetricsLog::read(tmp / "b/variants/compression=2/seed-42/run/metrics.jsonl").size() == 6);
}

TEST_CASE("study --runs: finished runs compared side by side, named by the settings that differ, never trained") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("study-runs");
  write_inputs(tmp.path);
  std::string args = train_args(model, tmp.path);
  args.erase(args.find(" --lr 3e-3"), std::string(" --lr 3e-3").size());  // the one setting these runs differ in
  for (auto [dir, lr] : {std::pair<const char*, const char*>{"a", "3e-3"}, {"b", "1e-3"}}) {
    auto t = test::run_genlens("train --quiet" + args + " --steps 5 --thought 1 --lr " + lr +
                               " --out " + q(tmp / dir));
    INFO(t.output);
    REQUIRE(t.exit_code == 0);
  }
  const auto before = test::read_file(tmp / "a/metrics.jsonl");
  auto r = test::run_genlens("study --quiet --model " + q(model) + " --tasks " + q(tmp / "tasks") + " --heldout " +
                             q(tmp / "heldout.jsonl") + " --runs " + q(tmp / "a") + " " + q(tmp / "b") + " --out " +
                             q(tmp / "st"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto s = runs::read_study(tmp / "st");
  REQUIRE(s.variants.size() == 2);
  CHECK(s.variants[0].name == "lr=0.003");  // the one setting that differs, as the option reads
  CHECK(s.variants[1].name == "lr=0.001");
  REQUIRE(s.vary.size() == 1);
  CHECK(s.vary[0].key == "lr");
  CHECK(test::read_file(tmp / "a/metrics.jsonl") == before);  // not trained further
  // Its scores are eval --modes generative of that run.
  auto e = test::run_genlens("eval --quiet --model " + q(model) + " --adapter " + q(tmp / "b") + " --tasks " +
                             q(tmp / "tasks") + " --modes generative --out " + q(tmp / "eval-b"));
  REQUIRE(e.exit_code == 0);
  for (auto& task : io::read_json_file(tmp / "eval-b/results.json")["tasks"])
    CHECK(s.variants[1].mean.at(task["name"].get<std::string>()) ==
          doctest::Approx(task["scores"]["generative"][task["main_metric"].get<std::string>()].get<double>()));
  CHECK(fs::exists(tmp / "st" / s.variants[1].runs[0].dir / "probe/map.json"));

  auto bad = test::run_genlens("study --model " + q(model) + " --tasks " + q(tmp / "tasks") + " --runs " +
                               q(tmp / "tasks") + " --out " + q(tmp / "st2"));
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("no checkpoint with trainer_state.json here") != std::string::npos);
  auto none = test::run_genlens("study --model " + q(model) + " --tasks " + q(tmp / "tasks") + " --out " + q(tmp / "st3"));
  CHECK(none.exit_code != 0);
  CHECK(none.output.find("give --vary KEY=V1,V2 (train variants) or --runs RUN1 RUN2") != std::string::npos);
}

TEST_CASE("study table: mean, sample standard deviation, the best per column and ~ inside the spread") {
  runs::Study s;
  s.seeds = {1, 2};
  s.columns = {{"sts", "sts", "spearman", "eval", false}, {"harm", "harm", "harmful_at_5", "eval", true}};
  auto variant = [](std::string name, double a1, double a2, double h1, double h2) {
    runs::StudyVariant v;
    v.name = std::move(name);
    v.runs = {{1, "d1", true, {{"sts", a1}, {"harm", h1}}}, {2, "d2", true, {{"sts", a2}, {"harm", h2}}}};
    return v;
  };
  // sts: A mean 0.5 sd 0.1414, B mean 0.6 sd 0.0 (best), C mean 0.2 sd 0.0.
  // harm (lower is better): A mean 0.3 sd 0.1414 (best), B 0.5 sd 0, C 0.35 sd 0.0707.
  s.variants = {variant("A", 0.4, 0.6, 0.2, 0.4), variant("B", 0.6, 0.6, 0.5, 0.5), variant("C", 0.2, 0.2, 0.3, 0.4)};
  runs::summarize(s);
  CHECK(s.variants[0].mean.at("sts") == doctest::Approx(0.5));
  CHECK(s.variants[0].spread.at("sts") == doctest::Approx(0.141421356));
  CHECK(s.variants[2].spread.at("harm") == doctest::Approx(0.070710678));
  CHECK(runs::best_variant(s, "sts") == 1u);
  CHECK(runs::best_variant(s, "harm") == 0u);
  CHECK(runs::within_spread_of_best(s, 0, "sts"));        // |0.5 - 0.6| <= max(0.141, 0)
  CHECK_FALSE(runs::within_spread_of_best(s, 2, "sts"));  // |0.2 - 0.6| > 0
  CHECK(runs::within_spread_of_best(s, 2, "harm"));       // |0.35 - 0.3| <= 0.141
  CHECK_FALSE(runs::within_spread_of_best(s, 1, "harm")); // |0.5 - 0.3| > 0.141
  const std::string md = runs::study_table_markdown(s);
  CHECK(md.find("| A | 0.500 ± 0.141 ~ | **0.300 ± 0.141** |") != std::string::npos);
  CHECK(md.find("| B | **0.600 ± 0.000** | 0.500 ± 0.000 |") != std::string::npos);
  CHECK(md.find("| C | 0.200 ± 0.000 | 0.350 ± 0.071 ~ |") != std::string::npos);
  CHECK(md.find("harm ↓") != std::string::npos);
  CHECK(md.find("over 2 seeds") != std::string::npos);
  // With one seed there is no spread, so nothing is "inside" it.
  s.seeds = {1};
  CHECK_FALSE(runs::within_spread_of_best(s, 0, "sts"));

  // study.json round trip, and a damaged file named with its field.
  test::TempDir tmp("study-file");
  s.seeds = {1, 2};
  s.model = "m";
  s.data = "d";
  s.tasks = "t";
  s.vary = {{"lr", {"1", "2", "3"}}};
  io::write_file_atomic(tmp / "study.json", runs::study_to_json(s).dump(2));
  auto back = runs::read_study(tmp.path);
  CHECK(runs::study_to_json(back) == runs::study_to_json(s));
  auto j = io::read_json_file(tmp / "study.json");
  j["variants"][1]["runs"][0]["scores"]["sts"] = "high";
  io::write_file_atomic(tmp / "study.json", j.dump());
  try {
    runs::read_study(tmp.path);
    FAIL("expected an error");
  } catch (const std::exception& e) {
    CHECK(std::string(e.what()).find("study.json: variants[1].runs[0].scores.sts: expected a number") !=
          std::string::npos);
  }
}
