// Widgets in a headless ImGui context: drawing, and the interactions that matter
// (hover readouts, box selection, pinning), driven by simulated mouse input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "tests/gui/imgui_headless.h"
#include "views/widgets/heatmap.h"
#include "views/widgets/line_plot.h"
#include "views/widgets/palette.h"
#include "views/widgets/scatter.h"
#include "views/widgets/token_strip.h"

using namespace genlens;

namespace {
// Runs `draw` inside a full-screen window for one frame with the given mouse state.
template <class F>
ImDrawData* frame(test::HeadlessImGui& gui, ImVec2 mouse, bool down, F&& draw, float wheel = 0) {
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = mouse;
  io.MouseDown[0] = down;
  io.MouseWheel = wheel;
  gui.begin_frame();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::Begin("w", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
  draw();
  ImGui::End();
  return gui.end_frame();
}
}  // namespace

TEST_CASE("line plot: EMA smoothing matches a hand computation, hover reads the series at the mouse") {
  // Debiased EMA with weight 0.5 of {2, 4, 8}: 2; (0.5*1+2)/0.75 = 3.333...; (0.5*2.5+4)/0.875 = 6.
  auto s = views::smooth_ema({2, 4, 8}, 0.5f);
  REQUIRE(s.size() == 3);
  CHECK(s[0] == doctest::Approx(2.0));
  CHECK(s[1] == doctest::Approx(10.0 / 3.0));
  CHECK(s[2] == doctest::Approx(6.0));
  CHECK(views::smooth_ema({1, 5}, 0.0f) == std::vector<double>{1, 5});

  test::HeadlessImGui gui(800, 400);
  std::vector<views::PlotSeries> series(2);
  for (int i = 0; i <= 100; ++i) {
    series[0].x.push_back(i), series[0].y.push_back(std::exp(-i / 30.0));
    series[1].x.push_back(i), series[1].y.push_back(0.5);
  }
  series[0].name = "loss", series[1].name = "flat";
  views::LinePlotState st;
  st.log_y = true;
  views::LinePlotResult r;
  ImDrawData* d = nullptr;
  for (int f = 0; f < 3; ++f)
    d = frame(gui, ImVec2(400, 150), false, [&] { r = views::draw_line_plot("p", series, st, 780, 300); });
  CHECK(test::total_vertices(d) > 400);
  CHECK(r.hovered);
  CHECK(r.hover_x > 0);
  CHECK(r.hover_x < 100);
  CHECK(st.y0 < std::log10(std::exp(-100 / 30.0)));  // log axis spans the data
  // Wheel zoom stops following the data and narrows the x range.
  double span = st.x1 - st.x0;
  frame(gui, ImVec2(400, 150), false, [&] { views::draw_line_plot("p", series, st, 780, 300); }, 2.0f);
  CHECK_FALSE(st.follow);
  CHECK(st.x1 - st.x0 < span);
}

TEST_CASE("scatter: box selection by dragging selects exactly the visible points in the box") {
  test::HeadlessImGui gui(600, 600);
  views::ScatterData data;
  for (int i = 0; i < 40; ++i) {
    data.x.push_back(float(i % 8));
    data.y.push_back(float(i / 8));
    data.label.push_back(i % 2);
  }
  data.label_names = {"even", "odd"};
  CHECK(views::points_in_box(data, 0.5f, -1, 2.5f, 10).size() == 10);  // x in {1, 2}, 5 rows
  CHECK(views::points_in_box(data, 2.5f, 10, 0.5f, -1).size() == 10);  // any corner order

  views::ScatterView view;
  std::vector<uint8_t> selected;
  std::vector<bool> hidden{false, true};  // "odd" hidden: never selected
  auto draw = [&] { views::draw_scatter("s", data, view, selected, hidden, 560, 560); };
  frame(gui, ImVec2(-1, -1), false, draw);
  frame(gui, ImVec2(-1, -1), false, draw);
  // Drag from the window's top-left to bottom-right: the whole plot.
  frame(gui, ImVec2(10, 10), true, draw);
  frame(gui, ImVec2(300, 300), true, draw);
  frame(gui, ImVec2(565, 565), true, draw);
  frame(gui, ImVec2(565, 565), false, draw);
  REQUIRE(selected.size() == 40);
  int n_sel = 0;
  for (size_t i = 0; i < 40; ++i) {
    n_sel += selected[i];
    if (data.label[i] == 1) CHECK(selected[i] == 0);
  }
  CHECK(n_sel == 20);
}

TEST_CASE("scatter: past the density threshold the plot draws a grid, not one quad per point") {
  test::HeadlessImGui gui(600, 600);
  views::ScatterData data;
  for (int i = 0; i < 20000; ++i) {
    data.x.push_back(float(std::sin(i * 0.37) * (i % 97)));
    data.y.push_back(float(std::cos(i * 0.11) * (i % 89)));
  }
  views::ScatterView view;
  std::vector<uint8_t> sel;
  std::vector<bool> hidden;
  ImDrawData* points = nullptr;
  ImDrawData* density = nullptr;
  int vp = 0, vd = 0;
  for (int f = 0; f < 2; ++f) points = frame(gui, ImVec2(-1, -1), false, [&] { views::draw_scatter("a", data, view, sel, hidden, 560, 560); });
  vp = test::total_vertices(points);
  for (int f = 0; f < 2; ++f)
    density = frame(gui, ImVec2(-1, -1), false, [&] { views::draw_scatter("b", data, view, sel, hidden, 560, 560, 1000); });
  vd = test::total_vertices(density);
  CHECK(vp >= 4 * 20000);  // one quad per point
  CHECK(vd < vp);          // cells, bounded by the plot's pixel grid
}

TEST_CASE("heatmap: a click pins the cell under the mouse, a second click unpins it") {
  test::HeadlessImGui gui(600, 400);
  views::HeatmapData h;
  h.rows = 3, h.cols = 4;
  for (int i = 0; i < 12; ++i) h.value.push_back(i / 11.0f), h.cell_text.push_back("t" + std::to_string(i));
  h.row_labels = {"L0", "L1", "L2"};
  h.col_labels = {"c0", "c1", "c2", "c3"};
  views::HeatmapState st;
  views::HeatmapResult r;
  auto draw = [&] { r = views::draw_heatmap("h", h, st, 560); };
  frame(gui, ImVec2(-1, -1), false, draw);
  // Find a point over the last row, last column by scanning the item's rectangle.
  ImVec2 target(-1, -1);
  for (float y = 0; y < 300 && target.x < 0; y += 3)
    for (float x = 0; x < 600; x += 5) {
      frame(gui, ImVec2(x, y), false, draw);
      if (r.hovered_row == 2 && r.hovered_col == 3) {
        target = ImVec2(x, y);
        break;
      }
    }
  REQUIRE(target.x >= 0);
  frame(gui, target, true, draw);
  frame(gui, target, false, draw);
  CHECK(st.pinned_row == 2);
  CHECK(st.pinned_col == 3);
  frame(gui, target, true, draw);
  frame(gui, target, false, draw);
  CHECK(st.pinned_row == -1);
}

TEST_CASE("token strip: whitespace is made visible, hovering a chip reports it") {
  CHECK(views::visible_piece(" the") == "·the");
  CHECK(views::visible_piece("\n") == "↵");
  CHECK(views::visible_piece("") == "∅");
  test::HeadlessImGui gui(600, 300);
  std::vector<views::TokenChip> toks{{785, "The", 0, 3, false}, {3974, " sea", 3, 7, false}, {0, "<q1>", 7, 7, true}};
  int hovered = -2;
  auto draw = [&] { hovered = views::draw_token_strip("t", toks, 500); };
  frame(gui, ImVec2(-1, -1), false, draw);
  CHECK(hovered == -1);
  ImVec2 first = ImGui::GetStyle().WindowPadding;
  frame(gui, ImVec2(first.x + 4, first.y + 4), false, draw);
  CHECK(hovered == 0);
}

TEST_CASE("token strip: attribution scores colour the chips on a diverging map, red for +, blue for -") {
  test::HeadlessImGui gui(600, 300);
  auto rgb = [](float t) { return ImGui::ColorConvertU32ToFloat4(views::diverging_color(t)); };
  const ImVec4 pos = rgb(1), neg = rgb(-1), zero = rgb(0), half = rgb(0.5f);
  CHECK(pos.x > pos.z + 0.4f);
  CHECK(neg.z > neg.x + 0.4f);
  CHECK(std::fabs(zero.x - zero.z) < 0.05f);
  CHECK(half.x > zero.x);  // stronger with |t|
  CHECK(half.x < pos.x);
  CHECK(rgb(3.0f).x == doctest::Approx(pos.x));  // clipped at the ends
  // The chips' fill colours come from the scores only when the strip is given a scale.
  std::vector<views::TokenChip> toks{{785, "The", 0, 3, false, 0.2f}, {3974, " sea", 3, 7, false, -0.2f}};
  auto fills = [&](float scale) {
    std::vector<ImU32> cols;
    frame(gui, ImVec2(-1, -1), false, [&] {
      ImDrawList* dl = ImGui::GetWindowDrawList();
      const int before = dl->VtxBuffer.Size;
      views::draw_token_strip("t", toks, 500, scale);
      for (int i = before; i < dl->VtxBuffer.Size; ++i) cols.push_back(dl->VtxBuffer[i].col);
    });
    return cols;
  };
  auto has = [](const std::vector<ImU32>& v, ImU32 c) { return std::find(v.begin(), v.end(), c) != v.end(); };
  const auto scored = fills(0.2f), plain = fills(0);
  CHECK(has(scored, views::diverging_color(1.0f, 0.9f)));
  CHECK(has(scored, views::diverging_color(-1.0f, 0.9f)));
  CHECK_FALSE(has(plain, views::diverging_color(1.0f, 0.9f)));
}

namespace {
// Stands in for the studio's GL renderer: records what the scatter hands it.
struct RecordingRenderer : views::PointRenderer {
  int calls = 0;
  size_t points = 0;
  Transform last{};
  void draw(void* dl, const char*, const views::ScatterData& d, const std::vector<uint8_t>&, const std::vector<bool>&,
            const Transform& t) override {
    ++calls;
    points = d.x.size();
    last = t;
    CHECK(dl != nullptr);
  }
};
}  // namespace

TEST_CASE("scatter: large layouts go to the point renderer (no per-point ImDrawList work), hover still finds points") {
  test::HeadlessImGui gui(800, 600);
  views::ScatterData d;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    d.x.push_back(float(i % 250));
    d.y.push_back(float(i / 250));
    d.label.push_back(i % 3);
  }
  d.label_names = {"a", "b", "c"};
  d.version = 1;
  views::ScatterView v;
  std::vector<uint8_t> sel;
  std::vector<bool> hidden;
  RecordingRenderer rec;
  views::set_point_renderer(&rec, 20000);
  views::ScatterResult r;
  ImDrawData* dd = nullptr;
  for (int f = 0; f < 2; ++f)
    dd = frame(gui, ImVec2(400, 300), false, [&] { r = views::draw_scatter("big", d, v, sel, hidden, 780, 580); });
  views::set_point_renderer(nullptr);
  CHECK(rec.calls == 2);
  CHECK(rec.points == size_t(n));
  CHECK(rec.last.scale == doctest::Approx(v.scale));
  CHECK(test::total_vertices(dd) < 2000);  // the frame, not 50k points
  // The hovered point is the one nearest the mouse in data space.
  REQUIRE(r.hovered >= 0);
  const float mx = v.cx + (400 - rec.last.mid_x) / v.scale, my = v.cy - (300 - rec.last.mid_y) / v.scale;
  CHECK(std::fabs(d.x[size_t(r.hovered)] - mx) <= 1.0f);
  CHECK(std::fabs(d.y[size_t(r.hovered)] - my) <= 1.0f);
  // Without a renderer the same data is drawn by ImDrawList (density grid or points).
  for (int f = 0; f < 2; ++f)
    dd = frame(gui, ImVec2(400, 300), false, [&] { views::draw_scatter("big", d, v, sel, hidden, 780, 580); });
  CHECK(test::total_vertices(dd) > 2000);
}
