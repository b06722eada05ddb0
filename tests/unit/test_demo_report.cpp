// The demo's report and progress: the next step opens the workspace
// that was built, each example is marked right or wrong, the one overall bar never moves
// back, and a fresh build says nothing of resuming. Unit tests on the report and progress
// functions, plus one in-process `--quick` build that checks them against the real
// pipeline's phases.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/demo/pipeline.h"
#include "core/runtime/job.h"
#include "tests/gen_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Sets $GENLENS_DEMO_DIR (the default workspace) for one scope.
struct DemoDirEnv {
  std::optional<std::string> old;
  explicit DemoDirEnv(const std::string& value) {
    if (const char* v = std::getenv("GENLENS_DEMO_DIR")) old = v;
    setenv("GENLENS_DEMO_DIR", value.c_str(), 1);
  }
  ~DemoDirEnv() {
    if (old) setenv("GENLENS_DEMO_DIR", old->c_str(), 1);
    else unsetenv("GENLENS_DEMO_DIR");
  }
};

json example(bool lens_hit, bool right_kind) {
  return json{{"id", "h1"},
              {"question", "where do I find the stapler?"},
              {"category", "supplies"},
              {"lens_top10", {"stapler", "drawer", "supply"}},
              {"lens_hit", lens_hit},
              {"decoded", "The stapler is in the top drawer."},
              {"decode_right_kind", right_kind}};
}

// A phase the job's stage line shows: stage index, the line, done of total.
struct Point {
  int stage;
  std::string phase;
  int64_t done, total;
};

// The overall fraction at every point, and the first point where it moved back.
std::string first_step_back(const std::vector<Point>& points) {
  double last = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    const double f = demo::overall_fraction(p.stage, p.phase, p.done, p.total);
    if (f + 1e-12 < last)
      return fmt::format("point {} (stage {} '{}' {}/{}): {:.4f} after {:.4f}", i, p.stage, p.phase, p.done, p.total,
                         f, last);
    last = f;
  }
  return "";
}

// The points a phase passes through: its start (done 0, or `from`), a middle and its end.
void through(std::vector<Point>& out, int stage, const std::string& phase, int64_t total, int64_t from = 0) {
  for (int64_t d : {from, (from + total) / 2, total}) out.push_back({stage, phase, d, total});
}

}  // namespace

TEST_CASE("demo report: the next step opens the workspace that was built") {
  test::TempDir tmp("demo-report-next");
  const fs::path def = tmp / "default-ws";
  DemoDirEnv env(def.string());
  // The default workspace: `--demo` opens it (spelt with a trailing slash or not).
  for (const std::string& ws : {def.string(), def.string() + "/"}) {
    CAPTURE(ws);
    CHECK(demo::demo_studio_command(ws) == "genlens-studio --demo   (opens this workspace)");
    const auto text = demo::format_demo_report(json{{"workspace", ws}});
    CHECK(has(text, "genlens-studio --demo"));
    CHECK_FALSE(has(text, "--workspace"));
  }
  // Any other (`genlens demo --out PATH`): `--demo` would open another one, so --workspace PATH.
  const fs::path other = tmp / "elsewhere";
  CHECK(demo::demo_studio_command(other) == "genlens-studio --workspace " + other.string());
  const auto text = demo::format_demo_report(json{{"workspace", other.string()}});
  CHECK(has(text, "genlens-studio --workspace " + other.string() + "\n"));
  CHECK_FALSE(has(text, "--demo"));
  CHECK(has(text, "genlens eval --model " + other.string() + "/model --adapter " + other.string() + "/run"));
  // A path with a space or a quote is one shell word.
  CHECK(demo::demo_studio_command("/tmp/my demo") == "genlens-studio --workspace '/tmp/my demo'");
  CHECK(demo::demo_studio_command("/tmp/it's") == "genlens-studio --workspace '/tmp/it'\\''s'");
  // The same directory by another spelling (a symlink) is still the default one.
  fs::create_directories(def);
  fs::create_directory_symlink(def, tmp / "link");
  CHECK(demo::demo_studio_command(tmp / "link") == "genlens-studio --demo   (opens this workspace)");
}

TEST_CASE("demo report: each example is marked right or wrong kind") {
  const auto right = demo::format_demo_example(example(true, true));
  CHECK(has(right, "query    (supplies) where do I find the stapler?"));
  CHECK(has(right, "lens     [has a response word] stapler drawer supply"));
  CHECK(has(right, "decoded  [right kind] The stapler is in the top drawer."));
  const auto wrong = demo::format_demo_example(example(false, false));
  CHECK(has(wrong, "lens     [no response word] stapler"));
  CHECK(has(wrong, "decoded  [wrong kind] The stapler"));
  // A report from before the marks (or a hand-edited one): no mark, never an exception.
  json old = example(true, true);
  old.erase("decode_right_kind");
  old["lens_hit"] = "yes";
  const auto unmarked = demo::format_demo_example(old);
  CHECK_FALSE(has(unmarked, "["));
  CHECK(has(unmarked, "decoded  The stapler"));
  CHECK_NOTHROW(demo::format_demo_example(json::array()));
  // In the whole report, every example carries its marks.
  json report{{"workspace", "/tmp/ws"},
              {"lens", {{"n", 3}, {"examples", {example(true, true), example(false, false), example(true, false)}}}}};
  const auto text = demo::format_demo_report(report);
  size_t marks = 0;
  for (size_t at = 0; (at = text.find("kind] ", at)) != std::string::npos; ++at) ++marks;
  CHECK(marks == 3);
  CHECK(has(text, "[wrong kind]"));
  CHECK(has(text, "[right kind]"));
}

TEST_CASE("demo report: the overall bar never moves back through a build") {
  const auto& names = demo::demo_stage_names();
  const int n = static_cast<int>(names.size());
  auto index = [&](const std::string& name) {
    return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  // A fresh build as the pipeline reports it: each stage starts under its own name (after
  // a moment in which the job's line still shows the previous stage's last phase), then
  // the phases of the code it calls, each counting from 0 again.
  std::vector<Point> fresh;
  std::string previous;
  auto begin = [&](const std::string& stage, int64_t prev_total = 0) {
    if (!previous.empty()) fresh.push_back({index(stage), previous, prev_total, prev_total});
    fresh.push_back({index(stage), stage, 0, 0});
  };
  begin("world");
  begin("tokenizer");
  begin("lm");
  through(fresh, index("lm"), "lm: pretraining 0.53M parameters", 300);
  previous = "lm: pretraining 0.53M parameters";
  begin("lm-check", 300);
  through(fresh, index("lm-check"), "lm-check", 171);
  previous = "lm-check";
  begin("responses", 171);
  through(fresh, index("responses"), "tokenize", 2000);
  through(fresh, index("responses"), "generate", 2000);
  previous = "generate";
  begin("adapter", 2000);
  // A regression this guards: "tokenize" at 100% read 97%, then "train" 0/300 read 44%.
  through(fresh, index("adapter"), "tokenize", 2000);
  through(fresh, index("adapter"), "teacher", 2000);
  through(fresh, index("adapter"), "train", 300);
  previous = "train";
  begin("eval", 300);
  for (const char* mode : {"generative", "mean", "last"}) {
    through(fresh, index("eval"), std::string("encode ") + mode, 400);
    through(fresh, index("eval"), std::string("score ") + mode, 5);
  }
  previous = "score last";
  begin("maps", 5);
  through(fresh, index("maps"), "maps", 3);
  previous = "maps";
  begin("lens", 3);
  through(fresh, index("lens"), "lens", 171);
  CHECK(first_step_back(fresh) == "");
  CHECK(demo::overall_fraction(n - 1, "lens", 171, 171) == doctest::Approx(1.0));
  CHECK(demo::overall_fraction(-1, "", 0, 0) == 0.0);
  // The adapter's training is most of the adapter stage: halfway through it is past the
  // stage's middle, and its first step is not its tokenization's end.
  const double a0 = demo::overall_fraction(index("adapter"), "adapter", 0, 0);
  const double a1 = demo::overall_fraction(index("adapter") + 1, "eval", 0, 0);
  CHECK(demo::overall_fraction(index("adapter"), "train", 150, 300) > (a0 + a1) / 2);
  CHECK(demo::overall_fraction(index("adapter"), "tokenize", 2000, 2000) < a0 + 0.05 * (a1 - a0));

  // A rerun of a finished workspace (every stage cached) and a resumed one (responses and
  // the adapter continue from their own files: start_done > 0).
  std::vector<Point> cached;
  for (int i = 0; i < n; ++i) cached.push_back({i, names[static_cast<size_t>(i)], 0, 0});
  CHECK(first_step_back(cached) == "");
  std::vector<Point> resumed = {{index("responses"), "responses", 0, 0}};
  through(resumed, index("responses"), "tokenize", 800);
  through(resumed, index("responses"), "generate", 2000, 1200);
  resumed.push_back({index("adapter"), "generate", 2000, 2000});
  resumed.push_back({index("adapter"), "adapter", 0, 0});
  through(resumed, index("adapter"), "tokenize", 2000);
  through(resumed, index("adapter"), "train", 300, 120);
  CHECK(first_step_back(resumed) == "");
}

TEST_CASE("demo report: train --resume on a fresh run says nothing of resuming") {
  test::TempDir tmp("demo-report-train");  // (no "resume" in the path: the output is searched for it)
  const auto model = test::tiny_qwen3_text_model();
  std::string responses;
  for (int i = 0; i < 4; ++i)
    responses += json{{"id", std::to_string(i)}, {"question", "question " + std::to_string(i)},
                      {"answer", "answer " + std::to_string(i)}}.dump() + "\n";
  test::write_file(tmp / "responses.jsonl", responses);
  auto train = [&](int steps) {
    return test::run_genlens("train --model " + test::shell_quote(model.string()) + " --data " +
                             test::shell_quote((tmp / "responses.jsonl").string()) + " --out " +
                             test::shell_quote((tmp / "run").string()) + " --batch-size 2 --thought 1 --compression 1 "
                             "--warmup 0 --resume --steps " + std::to_string(steps));
  };
  // `genlens demo` runs its adapter stage this way (resume on): a first build has no
  // checkpoint yet, and says nothing about one.
  auto fresh = train(1);
  INFO(fresh.output);
  REQUIRE(fresh.exit_code == 0);
  CHECK_FALSE(has(fresh.output, "resum"));
  CHECK_FALSE(has(fresh.output, "no checkpoint"));
  // Resuming is still said when it happens.
  auto again = train(2);
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(has(again.output, "resumed from"));
}

TEST_CASE("demo report: a --quick build in process: the bar never moves back, no resume notice, marked examples") {
  test::TempDir tmp("demo-report-quick");
  runtime::Job* job_ptr = nullptr;
  size_t cursor = 0;
  int stage = -1;
  std::vector<Point> points;
  std::vector<std::string> logs;
  // The job's events so far happened in stage `stage`: each stage line becomes a point at
  // its start (done 0) and a point at the end of the previous line (done = total). A line
  // set again under the same name is a stage giving its own line a total (the pipeline
  // names each stage as it starts, without one): the first had no progress to end.
  auto drain = [&] {
    for (auto& e : job_ptr->events_since(cursor)) {
      if (e.kind == runtime::JobEvent::Kind::Log) logs.push_back(e.text);
      if (e.kind != runtime::JobEvent::Kind::Stage) continue;
      if (!points.empty() && points.back().phase != e.text) points.push_back({stage, points.back().phase, 1, 1});
      points.push_back({stage, e.text, 0, 1});
    }
  };
  demo::DemoOptions d;
  d.workspace = tmp / "ws";
  d.quick = true;
  d.on_stage = [&](int index, const std::string&) {
    drain();
    stage = index;
    // The moment between two stages: the new index, the old line at its end.
    if (!points.empty()) points.push_back({stage, points.back().phase, 1, 1});
  };
  json report;
  runtime::Job job("demo", [&](runtime::JobContext& ctx) { report = demo::run_demo(ctx, d); });
  job_ptr = &job;
  job.run_here();
  drain();
  job.rethrow_if_failed();
  std::string seen;
  for (auto& p : points) seen += fmt::format("{} '{}' {}/{}\n", p.stage, p.phase, p.done, p.total);
  INFO("phases:\n" << seen);
  CHECK(first_step_back(points) == "");
  CHECK(demo::overall_fraction(stage, points.back().phase, 1, 1) == doctest::Approx(1.0));
  // Every phase the pipeline showed is one the bar knows (else it reads as the stage's start).
  for (auto& p : points) {
    const auto& name = demo::demo_stage_names()[static_cast<size_t>(p.stage)];
    const auto& phases = demo::demo_stage_phases(name);
    bool known = p.phase == name;
    for (auto& ph : phases) known = known || p.phase.rfind(ph.name, 0) == 0;
    if (p.done == 0) CHECK_MESSAGE(known, "stage " << name << " shows an unlisted phase '" << p.phase << "'");
  }
  // A fresh build: no word of resuming.
  for (auto& l : logs) CHECK_MESSAGE(!has(l, "resum"), l);
  // The report marks each example, and its next step opens this workspace.
  const auto text = demo::format_demo_report(report);
  INFO(text);
  const auto& examples = report["lens"]["examples"];
  REQUIRE(examples.is_array());
  REQUIRE(!examples.empty());
  size_t marks = 0;
  for (size_t at = 0; (at = text.find(" kind] ", at)) != std::string::npos; ++at) ++marks;
  CHECK(marks == examples.size());
  CHECK(has(text, "genlens-studio --workspace " + fs::absolute(tmp / "ws").string()));
}
