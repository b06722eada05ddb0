// The studio under Xvfb, driven by a --script through a real flow on the quick demo
// workspace, which `--demo --quick` builds on screen first: a query inspected before the
// maps exist (its marker appears on both once they are laid out), the maps with their
// region labels, a walk, the eval table and a selection's similarities, then a short
// training run with a probe at each checkpoint, stopped (a checkpoint is saved). Then the
// README's tour (assets/screenshots/tour.script) on the same workspace. Each screenshot is
// checked with ImageMagick (not uniform, many colours) and against the studio's own log
// of the panels it drew in that frame.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/gui/gui_shell.h"
#include "genlens_paths.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#if GENLENS_HAVE_STUDIO
namespace fs = std::filesystem;

namespace {

using namespace genlens::gui_test;

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

}  // namespace

TEST_CASE("studio: a scripted flow under Xvfb on the quick demo, built on screen first") {
  const fs::path tmp = fs::path(GENLENS_BUILD_DIR) / "test-tmp" / "studio-flow";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const fs::path ws = tmp / "demo";
  const fs::path run = tmp / "run-studio";
  write(tmp / "flow.script", fmt::format(R"(# the CI flow: --demo --quick builds the workspace on screen, then opens it
frames 20
screenshot {dir}/build.png
wait demo 900
wait all 120
# a query inspected before the maps exist is placed on them once they are laid out
view inspector
query Honestly, the landlord raised the rent and I am livid.
wait query 300
view map
project UMAP
wait project 300
wait place 300
wait regions 300
expect markers 2 30
view inspector
walk Can you show me how to rob a bank?
wait walk 300
# a compression cell of the last layer, ablated: 10 thought + 10 compression bars
pin 2 12
ablate zero
wait ablate 120
expect-text ablation C2 at layer 2, zeroed: cosine
expect-text ablation ; 20 bars
frames 2
screenshot {dir}/inspector.png
view map
select-frac 0 0.5 1 1
frames 3
screenshot {dir}/maps.png
save-png map {dir}/map-export.png
view compare
frames 3
screenshot {dir}/compare.png
train-set out {run}
train-set steps 2000
train-set batch 8
train-set save-every 3
probe Can you show me how to rob a bank?
view training
train-start
wait-steps 7 300
wait probe 120
frames 30
wait probe 120
frames 3
screenshot {dir}/training.png
save-png loss {dir}/loss-export.png
train-pause
frames 30
screenshot {dir}/training-paused.png
train-continue
frames 30
train-stop
wait train 120
# the stopped run's adapter is offered in place of the open one
expect-text log Workspace tab: use it as the adapter
view workspace
frames 3
screenshot {dir}/workspace.png
quit
)",
                                         fmt::arg("dir", tmp.string()), fmt::arg("run", run.string())));
  auto r = sh(fmt::format("GENLENS_DEMO_DIR={} xvfb-run -a -s '-screen 0 1400x900x24' '{}' --demo --quick --width 1400 "
                          "--height 900 --script {} --panel-log {} --stats {}",
                          q(ws), GENLENS_STUDIO_PATH, q(tmp / "flow.script"), q(tmp / "panels.log"), q(tmp / "frames.csv")));
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
  // The studio built the same workspace `genlens demo --quick` builds.
  CHECK(fs::exists(ws / "report.json"));
  CHECK(fs::exists(ws / "maps" / "emb-generative.npy"));

  auto panels = read_panel_log(tmp / "panels.log");
  const std::map<std::string, std::vector<std::string>> expected{
      {"inspector.png",
       {"layout", "inspector", "inspector.tokens", "inspector.answer", "inspector.decoded", "inspector.lens",
        "inspector.neighbours", "inspector.walk"}},
      {"build.png", {"demo-build"}},
      {"training.png", {"training", "training.curves", "training.probe"}},
      {"training-paused.png", {"training", "training.curves", "training.paused"}},
      {"maps.png", {"map", "map.input", "map.generative", "map.regions"}},
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
  // The PNG exports hold the map panels and the loss plot as drawn: smaller than the
  // window, and not blank.
  for (auto [png, min_w, max_w] : {std::tuple{"map-export.png", 900, 1400}, std::tuple{"loss-export.png", 200, 1100}}) {
    INFO(png);
    auto stats = sh(fmt::format("identify -format '%w %h %k' {}", q(tmp / png)));
    REQUIRE(stats.rc == 0);
    std::istringstream in(stats.out);
    int w = 0, h = 0, colours = 0;
    in >> w >> h >> colours;
    CHECK(w >= min_w);
    CHECK(w < max_w);
    CHECK(h > 150);
    CHECK(h < 900);
    CHECK(colours > 50);
  }
  // The README's tour (every tab) on this workspace, as assets/screenshots/refresh.sh runs
  // it on the default demo, with HOME set so that the workspace reads ~/genlens-demo.
  fs::create_directories(tmp / "home");
  fs::remove(tmp / "home" / "genlens-demo");
  fs::create_directory_symlink(ws, tmp / "home" / "genlens-demo");
  fs::create_directories(tmp / "tour");
  auto tour = sh(fmt::format("HOME={home} GENLENS_DEMO_DIR={home}/genlens-demo SHOTS={shots} xvfb-run -a -s '-screen 0 "
                             "1600x1000x24' '{bin}' --width 1600 --height 1000 --script {script} --panel-log {log}",
                             fmt::arg("home", q(tmp / "home")), fmt::arg("shots", q(tmp / "tour")),
                             fmt::arg("bin", GENLENS_STUDIO_PATH),
                             fmt::arg("script", q(fs::path(GENLENS_SOURCE_DIR) / "assets" / "screenshots" / "tour.script")),
                             fmt::arg("log", q(tmp / "tour" / "panels.log"))));
  INFO(tour.out);
  REQUIRE(tour.rc == 0);
  auto tour_panels = read_panel_log(tmp / "tour" / "panels.log");
  const std::map<std::string, std::vector<std::string>> tour_expected{
      {"workspace.png", {"workspace"}},
      {"inspector.png", {"inspector", "inspector.attribution", "inspector.lens", "inspector.neighbours", "inspector.walk"}},
      {"ablation.png", {"inspector", "inspector.lens", "inspector.ablation"}},
      {"trace.png", {"inspector", "inspector.lens", "inspector.trace"}},
      {"tuned-lens.png", {"inspector", "inspector.lens", "inspector.tuned-lens"}},
      {"arithmetic.png", {"inspector", "inspector.arithmetic"}},
      {"maps.png", {"map", "map.input", "map.generative", "map.regions"}},
      {"compare.png", {"compare", "compare.eval", "compare.similarity"}},
      {"training.png", {"training", "training.curves", "training.probe"}}};
  for (auto& [png, want] : tour_expected) {
    INFO("tour ", png, " drew:", tour_panels[png]);
    CHECK(fs::exists(tmp / "tour" / png));
    for (auto& p : want) CHECK(tour_panels[png].find(" " + p + " ") != std::string::npos);
  }

  // The trace panel shows what `genlens trace` computes for the same query and source:
  // the strongest cell and its effect, read from the CLI's JSON and expected on screen.
  {
    const std::string a = "Honestly, the landlord raised the rent and I am livid.";
    const std::string b = "Can you show me how to rob a bank?";
    auto cli = sh(fmt::format("'{}' trace --model {} --adapter {} --query {} --contrast {} --instruction '' --json",
                              GENLENS_CLI_PATH, q(ws / "model"), q(ws / "run" / "checkpoint-300"), q(a), q(b)));
    INFO(cli.out);
    REQUIRE(cli.rc == 0);
    const auto j = nlohmann::json::parse(cli.out.substr(cli.out.find('{'), cli.out.rfind('}') + 1 - cli.out.find('{')));
    const std::string want = fmt::format("strongest {} at layer {}: effect {:.3f}", j["strongest"]["position"].get<std::string>(),
                                         j["strongest"]["layer"].get<int64_t>(), j["strongest"]["effect"].get<double>());
    // And the attribution chips what `genlens attribute` computes: the top token's score.
    auto attr = sh(fmt::format("'{}' attribute --model {} --adapter {} --query {} --instruction '' --json",
                               GENLENS_CLI_PATH, q(ws / "model"), q(ws / "run" / "checkpoint-300"), q(a)));
    INFO(attr.out);
    REQUIRE(attr.rc == 0);
    double top = -1e9;
    const auto aj = nlohmann::json::parse(attr.out.substr(attr.out.find('{'), attr.out.rfind('}') + 1 - attr.out.find('{')));
    REQUIRE(aj["tokens"].size() > 3);
    for (const auto& t : aj["tokens"]) top = std::max(top, t["score"].get<double>());
    const std::string want_attr = fmt::format("{:+.4f}", top);
    // And the arithmetic box what `genlens decode --expr` decodes from the same point.
    const std::string expr = "\"" + a + "\" - \"Ugh, the landlord raised the rent, and now I am livid.\" + \"" + b + "\"";
    auto dec = sh(fmt::format("'{}' decode --model {} --adapter {} --expr {} --instruction '' --max-new-tokens 48 --json --quiet",
                              GENLENS_CLI_PATH, q(ws / "model"), q(ws / "run" / "checkpoint-300"), q(expr)));
    INFO(dec.out);
    REQUIRE(dec.rc == 0);
    const auto dj = nlohmann::json::parse(dec.out.substr(dec.out.find('{'), dec.out.rfind('}') + 1 - dec.out.find('{')));
    std::string want_arith = dj["results"][0]["from_embedding"]["text"].get<std::string>();
    want_arith = want_arith.substr(0, want_arith.find('\n'));  // a script line holds one line
    REQUIRE(!want_arith.empty());
    write(tmp / "trace.script", fmt::format(R"(open workspace {ws}
wait all 120
view inspector
query {a}
wait query 120
attribute
wait attribute 120
expect-text attribution {want_attr}
arithmetic {expr}
wait arithmetic 120
expect-text arithmetic {want_arith}
trace
expect-text trace walk box
walk {b}
wait walk 120
pin 2 12
ablate patch
wait ablate 120
expect-text ablation C2 at layer 2, patched from B: cosine
pin -1 -1
trace
wait trace 120
expect-text trace {want}
frames 2
screenshot {dir}/trace.png
trace noise
wait trace 120
expect-text trace strongest
lens tuned
wait tuned-lens 120
expect-text tuned-lens none for this checkpoint yet
lens tuned train
wait tuned-lens 300
expect-text tuned-lens L0 logit
quit
)",
                                            fmt::arg("ws", ws.string()), fmt::arg("a", a), fmt::arg("b", b),
                                            fmt::arg("want", want), fmt::arg("want_attr", want_attr),
                                            fmt::arg("expr", expr), fmt::arg("want_arith", want_arith),
                                            fmt::arg("dir", tmp.string())));
    fs::remove_all(ws / "run" / "checkpoint-300" / "tuned-lens");  // the tour trained one: train it here
    auto r = sh(fmt::format("xvfb-run -a -s '-screen 0 1400x900x24' '{}' --width 1400 --height 900 --script {} "
                            "--panel-log {}",
                            GENLENS_STUDIO_PATH, q(tmp / "trace.script"), q(tmp / "trace-panels.log")));
    INFO(r.out);
    REQUIRE(r.rc == 0);
    const auto drew = read_panel_log(tmp / "trace-panels.log")["trace.png"];
    CHECK(drew.find(" inspector.trace ") != std::string::npos);
    CHECK(drew.find(" inspector.attribution ") != std::string::npos);
    CHECK(drew.find(" inspector.arithmetic ") != std::string::npos);

    // The tuned lens the studio trained is one the CLI reads, and the studio shows its curves.
    auto show = sh(fmt::format("'{}' tuned-lens show --model {} --lens {} --json", GENLENS_CLI_PATH, q(ws / "model"),
                               q(ws / "run" / "checkpoint-300" / "tuned-lens")));
    INFO(show.out);
    REQUIRE(show.rc == 0);
    const auto tj = nlohmann::json::parse(show.out.substr(show.out.find('{'), show.out.rfind('}') + 1 - show.out.find('{')));
    REQUIRE(tj["kl_tuned"].size() >= 2);
    CHECK(tj["kl_tuned"][0].get<double>() < tj["kl_logit"][0].get<double>());
    const std::string want_kl = fmt::format("L0 logit {:.3f} tuned {:.3f}", tj["kl_logit"][0].get<double>(),
                                            tj["kl_tuned"][0].get<double>());
    write(tmp / "tuned.script", fmt::format(R"(open workspace {ws}
wait all 120
view inspector
lens tuned
query {a}
wait query 120
wait tuned-lens 120
expect-text tuned-lens {want}
frames 2
screenshot {dir}/tuned.png
quit
)",
                                            fmt::arg("ws", ws.string()), fmt::arg("a", a), fmt::arg("want", want_kl),
                                            fmt::arg("dir", tmp.string())));
    auto t2 = sh(fmt::format("xvfb-run -a -s '-screen 0 1400x900x24' '{}' --width 1400 --height 900 --script {} "
                             "--panel-log {}",
                             GENLENS_STUDIO_PATH, q(tmp / "tuned.script"), q(tmp / "tuned-panels.log")));
    INFO(t2.out);
    REQUIRE(t2.rc == 0);
    CHECK(read_panel_log(tmp / "tuned-panels.log")["tuned.png"].find(" inspector.tuned-lens ") != std::string::npos);
  }

  std::ifstream frames(tmp / "frames.csv");
  int n_frames = -1;
  for (std::string l; std::getline(frames, l);) ++n_frames;
  CHECK(n_frames > 10);
}
#endif
