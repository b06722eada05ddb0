// Views render in a headless ImGui context; the studio opens a real window under Xvfb.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stb_image.h>

#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <map>

#include "tests/gui/imgui_headless.h"
#include "views/about_view.h"
#include "views/layout_view.h"
#include "genlens_paths.h"

using namespace genlens;

TEST_CASE("views: about panel and layout frame produce draw commands") {
  test::HeadlessImGui gui;
  views::AboutSnapshot about{"0.1.0", "1.13.0", "/usr/lib/libblas.so.3", false, 2, {"cpu"}};
  views::AboutViewState about_state;
  views::LayoutSnapshot layout{"(empty workspace)", {{"run", "run-1", "/runs/run-1"}, {"run", "run-2", ""}}, {"hello"}};
  views::LayoutState layout_state;
  views::Rect center;
  for (int i = 0; i < 2; ++i) {  // ImGui lays out on the first frame, draws on the second
    gui.begin_frame();
    center = views::draw_layout(layout, layout_state, 1280, 800);
    views::draw_about_view(about, about_state);
    auto* d = gui.end_frame();
    if (i == 1) {
      CHECK(d->CmdListsCount >= 4);  // menu bar, workspace, log, about
      CHECK(test::total_vertices(d) > 500);
    }
  }
  CHECK(center.x == doctest::Approx(layout_state.sidebar_width));
  CHECK(center.w > 0);
  CHECK(center.h > 0);
  CHECK(about_state.open);
}

#if GENLENS_HAVE_STUDIO
namespace {
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  CHECK_MESSAGE(rc == 0, cmd, "\n", out);
  return out;
}
}  // namespace

TEST_CASE("studio: a real window under Xvfb renders a non-uniform screenshot") {
  auto png = std::filesystem::path(GENLENS_BUILD_DIR) / "test-tmp" / "studio-screenshot.png";
  std::filesystem::create_directories(png.parent_path());
  std::filesystem::remove(png);
  run(fmt::format("xvfb-run -a -s '-screen 0 1280x800x24' '{}' --screenshot '{}' --frames 5",
                  GENLENS_STUDIO_PATH, png.string()));
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(png.string().c_str(), &w, &h, &c, 3);
  REQUIRE(px != nullptr);
  CHECK(w == 1280);
  CHECK(h == 800);
  std::map<uint32_t, int> colors;
  for (int i = 0; i < w * h; ++i) colors[px[3 * i] << 16 | px[3 * i + 1] << 8 | px[3 * i + 2]]++;
  stbi_image_free(px);
  int dominant = 0;
  for (auto& [c, n] : colors) dominant = std::max(dominant, n);
  CHECK(colors.size() >= 8);                 // text, panels, background, title bar
  CHECK(dominant < 0.9 * double(w) * h);     // not a blank (uniform) frame
}

TEST_CASE("studio: without a display it says so and runs the headless report") {
  auto out = run(fmt::format("env -u DISPLAY -u WAYLAND_DISPLAY '{}'", GENLENS_STUDIO_PATH));
  CHECK(out.find("no display") != std::string::npos);
  CHECK(out.find("genlens demo report") != std::string::npos);
}
#endif
