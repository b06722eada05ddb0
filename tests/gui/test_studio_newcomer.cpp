// The studio binary on what a newcomer tripped on, driven by --script under
// Xvfb (no model needed): following a finished run and a live one, errors shown where the
// person looks (a corpus with a bad line, an empty corpus, a workspace that does not
// exist), the training form's warm-up warning, paths under $HOME shown with ~; and,
// without a display, what --model / --corpus say instead of a window.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/gui/gui_shell.h"
#include "genlens_paths.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#if GENLENS_HAVE_STUDIO
namespace fs = std::filesystem;

namespace {

using namespace genlens::gui_test;

// A run directory as `genlens train` leaves one: metrics rows for steps [from, to] and
// checkpoint-<step>/trainer_state.json (the planned step count) at `checkpoints`.
void fake_run(const fs::path& dir, int from, int to, std::initializer_list<int> checkpoints, int planned) {
  fs::create_directories(dir);
  std::ofstream m(dir / "metrics.jsonl", std::ios::app);
  for (int s = from; s <= to; ++s)
    m << fmt::format(R"({{"step": {}, "loss": {}, "recon_loss": {}, "align_loss": {}, "lr": {}, "grad_norm": {}, "step_s": 0.1}})",
                     s, 2.0 / s, 1.5 / s, 0.5 / s, 1e-3 * std::min(1.0, s / 10.0), s == 7 ? 30.0 : 1.0)
      << "\n";
  for (int c : checkpoints) {
    fs::create_directories(dir / fmt::format("checkpoint-{}", c));
    write(dir / fmt::format("checkpoint-{}", c) / "trainer_state.json",
          fmt::format(R"({{"step": {}, "settings": {{"steps": {}}}}})", c, planned));
  }
}

Run studio(const fs::path& tmp, const std::string& script, const std::string& args, const std::string& before = "") {
  write(tmp / "s.script", script);
  return sh(fmt::format("{}xvfb-run -a -s '-screen 0 1280x800x24' '{}' --width 1280 --height 800 --script {} {}", before,
                        GENLENS_STUDIO_PATH, q(tmp / "s.script"), args));
}

}  // namespace

TEST_CASE("studio: following a finished run draws every step and lists its checkpoints, a live run keeps growing") {
  const fs::path tmp = fs::path(GENLENS_BUILD_DIR) / "test-tmp" / "studio-follow";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  // A run that has ended (30 of 30 steps): everything is on disk before the studio opens it.
  fake_run(tmp / "done", 1, 30, {10, 20, 30}, 30);
  auto r = studio(tmp, fmt::format(R"(view training
expect training-points 30 10
expect checkpoints 3 10
expect training-state finished
frames 3
screenshot {}
)",
                                   (tmp / "done.png").string()),
                  "--run " + q(tmp / "done"));
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK(fs::exists(tmp / "done.png"));

  // A live run: 10 steps written, 20 more (and a checkpoint) while the studio follows it.
  fake_run(tmp / "live", 1, 10, {}, 30);
  write(tmp / "more.sh", fmt::format("sleep 4; i=11; while [ $i -le 30 ]; do "
                                     "echo '{{\"step\": '$i', \"loss\": 0.5, \"lr\": 0.001}}' >> {}; i=$((i+1)); done; "
                                     "mkdir -p {}/checkpoint-30\n",
                                     q(tmp / "live" / "metrics.jsonl"), q(tmp / "live")));
  auto l = studio(tmp, R"(view training
expect training-points 10 10
expect checkpoints 0
expect training-points 30 60
expect checkpoints 1 30
)",
                  "--run " + q(tmp / "live"), "(sh " + q(tmp / "more.sh") + " &) ; ");
  INFO(l.out);
  CHECK(l.rc == 0);
}

TEST_CASE("studio: errors show where the person looks, the warm-up warning, paths under $HOME read ~") {
  const fs::path tmp = fs::path(GENLENS_BUILD_DIR) / "test-tmp" / "studio-errors";
  fs::remove_all(tmp);
  fs::create_directories(tmp / "home");
  write(tmp / "home" / "bad.jsonl", "{\"text\": \"one\"}\n{\"text\": \"two\"}\nnot json\n{\"text\": \"four\"}\n");
  write(tmp / "home" / "empty.jsonl", "\n\n");
  // HOME is the test's folder: the studio shows ~/bad.jsonl, never the build machine's path.
  auto r = studio(tmp, fmt::format(R"(open corpus ~/bad.jsonl
wait corpus 30
expect-text corpus-error ~/bad.jsonl:3: expected one JSON object per line
expect-text map-status The corpus could not be read: ~/bad.jsonl:3: expected one JSON object per line
view workspace
frames 3
screenshot {shots}/bad-corpus.png
open corpus ~/empty.jsonl
wait corpus 30
expect-text map-status has no rows
open workspace ~/no-such-workspace
expect-text workspace-error cannot open workspace ~/no-such-workspace: no such directory
expect-text log cannot open workspace ~/no-such-workspace
view training
train-set steps 30
expect-text train-warning --warmup 100 is not shorter than --steps 30
frames 3
screenshot {shots}/warmup.png
)",
                                   fmt::arg("shots", tmp.string())),
                  "", "HOME=" + q(tmp / "home") + " ");
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK(fs::exists(tmp / "bad-corpus.png"));
  CHECK(fs::exists(tmp / "warmup.png"));
}

TEST_CASE("studio: with no display, --model and --corpus say so and what to run instead (exit 2)") {
  const fs::path tmp = fs::path(GENLENS_BUILD_DIR) / "test-tmp" / "studio-headless";
  fs::create_directories(tmp);
  auto r = sh(fmt::format("env -u DISPLAY -u WAYLAND_DISPLAY '{}' --model /models/tiny --corpus {}", GENLENS_STUDIO_PATH,
                          q(tmp / "texts.jsonl")));
  INFO(r.out);
  CHECK(r.rc == 2);
  CHECK(r.out.find("no display") != std::string::npos);
  CHECK(r.out.find("--model       /models/tiny") != std::string::npos);
  CHECK(r.out.find("texts.jsonl") != std::string::npos);
  CHECK(r.out.find("genlens lens --model /models/tiny") != std::string::npos);
  CHECK(r.out.find("genlens neighbors") != std::string::npos);
  CHECK(r.out.find("xvfb-run -a genlens-studio --model /models/tiny") != std::string::npos);
  CHECK(r.out.find("demo workspace: none") == std::string::npos);  // not the demo report
}
#endif
