// What a newcomer tripped on, in the headless ImGui context and the views'
// pure helpers: axis ticks that read "-0", map labels that overlap, the cosine matrix of a
// selection (label order, groups, label means), text cut without an ellipsis, paths that
// show a build machine's home.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "tests/gui/imgui_headless.h"
#include "views/compare_view.h"
#include "views/inspector_view.h"
#include "views/training_view.h"
#include "views/view_common.h"
#include "views/widgets/line_plot.h"
#include "views/widgets/scatter.h"

using namespace genlens;

TEST_CASE("line plot: ticks are multiples of the step and zero reads 0, never -0") {
  for (auto [lo, hi] : {std::pair{-0.3, 0.7}, std::pair{-1e-9, 2.0}, std::pair{-0.07, 0.013}, std::pair{-5.0, 5.0}}) {
    auto t = views::nice_ticks(lo, hi, 5);
    REQUIRE(!t.empty());
    bool zero = false;
    for (double v : t) {
      CHECK(v >= lo - 1e-12);
      CHECK(v <= hi + 1e-12);
      const auto s = views::tick_label(v, false);
      INFO(lo, " ", hi, " ", v, " ", s);
      CHECK(s != "-0");  // "-0.05" is fine, "-0" alone is not
      CHECK(s.find("e-1") == std::string::npos);  // no 1e-17 from a running sum
      if (v == 0) {
        zero = true;
        CHECK_FALSE(std::signbit(v));
      }
    }
    CHECK(zero);
  }
  CHECK(views::tick_label(-0.0, false) == "0");
  // A short axis (a small plot's y) still gets two ticks to read a value by.
  CHECK(views::nice_ticks(-0.27, 4.7, 2).size() >= 2);
  CHECK(views::nice_ticks(0.0, 0.9, 1).size() >= 2);
  // One format per axis, from the step: not "0.001" next to "5.0e-04".
  CHECK(views::tick_labels({0, 0.0005, 0.001, 0.0015}) == std::vector<std::string>{"0", "0.0005", "0.0010", "0.0015"});
  CHECK(views::tick_labels({-0.2, 0, 0.2}) == std::vector<std::string>{"-0.2", "0", "0.2"});
  CHECK(views::tick_labels({100, 200, 300}) == std::vector<std::string>{"100", "200", "300"});
  CHECK(views::tick_label(0.0, true) == "1");  // log axis: 10^0
}

TEST_CASE("line plot: a spike draws as whole segments, and a gap in the log stays a gap") {
  test::HeadlessImGui gui(800, 400);
  std::vector<views::PlotSeries> series(1);
  series[0].name = "grad_norm";
  for (int i = 0; i < 3000; ++i) {  // many steps a pixel, one spike, one missing value
    series[0].x.push_back(i);
    series[0].y.push_back(i == 1500 ? 40.0 : i == 2000 ? NAN : 1.0 + 0.1 * std::sin(i * 0.37));
  }
  views::LinePlotState st;
  ImDrawData* d = nullptr;
  for (int f = 0; f < 2; ++f) {
    gui.begin_frame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImGui::GetIO().DisplaySize);
    ImGui::Begin("w", nullptr, ImGuiWindowFlags_NoDecoration);
    views::draw_line_plot("g", series, st, 600, 300);
    ImGui::End();
    d = gui.end_frame();
  }
  // The envelope keeps a few points a pixel column: far fewer vertices than one segment a step.
  CHECK(test::total_vertices(d) > 200);
  CHECK(test::total_vertices(d) < 3000 * 8);
  CHECK(st.y1 > 39);  // the spike is in range
}

TEST_CASE("map labels: placed without overlaps, inside the plot, the lower-ranked dropped when crowded") {
  const views::LabelBox bounds{0, 0, 400, 300};
  std::vector<views::LabelRequest> req;
  for (int i = 0; i < 16; ++i) req.push_back({200.0f + float(i), 150.0f, 120, 18});  // all on one spot
  std::vector<views::LabelBox> reserved{{205, 140, 300, 160}};                       // the query's text
  auto p = views::place_labels(req, bounds, reserved, 6);
  REQUIRE(p.size() == req.size());
  CHECK(p[0].placed);  // the most important one always finds a place near its anchor here
  int placed = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!p[i].placed) continue;
    ++placed;
    const auto& b = p[i].box;
    CHECK(b.x0 >= bounds.x0);
    CHECK(b.x1 <= bounds.x1);
    CHECK(b.y0 >= bounds.y0);
    CHECK(b.y1 <= bounds.y1);
    CHECK_FALSE(b.overlaps(reserved[0]));
    for (size_t j = 0; j < i; ++j)
      if (p[j].placed) CHECK_FALSE(b.overlaps(p[j].box));
    // Near its anchor: within a few label heights.
    CHECK(std::fabs((b.y0 + b.y1) * 0.5f - 150) < 120);
  }
  CHECK(placed >= 4);
  CHECK(placed < 16);  // sixteen labels of 120 px do not all fit around one point
  // Far-apart anchors: every label placed, above its anchor.
  auto q = views::place_labels({{50, 100, 60, 16}, {300, 200, 60, 16}}, bounds, {}, 6);
  CHECK(q[0].placed);
  CHECK(q[1].placed);
  CHECK(q[0].box.y1 <= 100);
  // With points to avoid: the place that hides none of them wins over the nearer one.
  auto avoid = views::place_labels({{200, 150, 60, 16}}, bounds, {}, 6, [](const views::LabelBox& b) {
    return b.y1 <= 150 ? 5 : 0;  // everything above the anchor is crowded
  });
  CHECK(avoid[0].placed);
  CHECK(avoid[0].box.y0 >= 150);
  // An anchor outside the plot gets no label.
  CHECK_FALSE(views::place_labels({{-50, 100, 60, 16}}, bounds, {}, 6)[0].placed);
}

TEST_CASE("compare: the selection's cosines ordered by label with groups, label means from mean vectors") {
  // Five unit vectors in 2-D, labels b, a, b, a, unlabelled.
  const std::vector<float> emb = {1, 0, 0, 1, 0.6f, 0.8f, 0.8f, 0.6f, -1, 0};
  const std::vector<int> labels = {1, 0, 1, 0, -1};
  const std::vector<std::string> names = {"a", "b"};
  const std::vector<std::string> texts = {"t0", "t1", "t2", "t3", "t4"};
  const std::vector<int> sel = {0, 1, 2, 3, 4};
  auto ordered = views::order_by_label(sel, labels);
  CHECK(ordered == std::vector<int>{1, 3, 0, 2, 4});  // a, a, b, b, unlabelled
  auto h = views::cosine_matrix(emb, 2, ordered, labels, names, texts);
  CHECK(h.rows == 5);
  CHECK(h.square);
  REQUIRE(h.row_groups.size() == 3);
  CHECK(h.row_groups[0].name == "a");
  CHECK(h.row_groups[0].count == 2);
  CHECK(h.row_groups[1].start == 2);
  CHECK(h.row_groups[2].name == "unlabelled");
  CHECK(h.value[0 * 5 + 1] == doctest::Approx(0.6f));  // #1 . #3
  CHECK(h.tooltip[0 * 5 + 2][1].find("[a] t1") != std::string::npos);  // both texts with their labels
  CHECK(h.tooltip[0 * 5 + 2][2].find("[b] t0") != std::string::npos);
  // Label means: mean over pairs, a != b within a label.
  auto m = views::label_mean_cosine(emb, 2, sel, labels, names);
  REQUIRE(m.rows == 3);
  CHECK(m.value[0] == doctest::Approx(0.6f));                                   // a x a: the one pair
  CHECK(m.value[1] == doctest::Approx((0.0f + 0.8f + 0.8f + 0.96f) / 4.0f));  // a x b
  CHECK(std::isnan(m.value[2 * 3 + 2]));                                         // one unlabelled point: no pair
  CHECK(m.row_labels[0] == "a (2)");
  // One colour scale for both, with a colour bar naming its range.
  const float lo = views::share_colour_scale({&h, &m});
  CHECK(lo == doctest::Approx(-1.0f));
  CHECK(h.colour_bar);
  CHECK(h.bar_lo == "-1.00");
  CHECK(h.value[0] == doctest::Approx(1.0f));
  for (float v : h.value) CHECK((v >= 0 && v <= 1));

  // Drawn: fits the panel, or scrolls when there are more points than pixels.
  test::HeadlessImGui gui(1200, 800);
  views::CompareSnapshot s;
  s.eval_status = {views::Status::Idle, "no table"};
  s.sim_status = views::Status::ready();
  s.sim_input = s.sim_generative = h;
  s.sim_input_labels = s.sim_generative_labels = m;
  s.sim_points = 5;
  views::CompareState st;
  for (int f = 0; f < 2; ++f) {
    gui.begin_frame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImGui::GetIO().DisplaySize);
    ImGui::Begin("view", nullptr, ImGuiWindowFlags_NoDecoration);
    views::draw_compare_view(s, st);
    ImGui::End();
    CHECK(test::total_vertices(gui.end_frame()) > 500);
  }
}

TEST_CASE("text: cut with an ellipsis on whole characters, paths under $HOME shown with ~") {
  CHECK(views::cut_chars("short", 24) == "short");
  const auto c = views::cut_chars("Honestly, the landlord raised the rent and I am livid.", 24);
  CHECK(c.size() < 30);
  CHECK(c.substr(c.size() - 3) == "…");
  CHECK(views::cut_chars("ééééé", 3) == "ééé…");

  const char* old = std::getenv("HOME");
  const std::string keep = old ? old : "";
  setenv("HOME", "/home/ada", 1);
  CHECK(views::display_path("/home/ada/genlens-demo/run") == "~/genlens-demo/run");
  CHECK(views::display_path("/home/ada") == "~");
  CHECK(views::display_path("/home/adam/x") == "/home/adam/x");
  CHECK(views::display_path("/tmp/x") == "/tmp/x");
  CHECK(views::display_path("cannot read /home/ada/c.jsonl:172: not a JSON object") ==
        "cannot read ~/c.jsonl:172: not a JSON object");
  CHECK(views::expand_user("~/genlens-demo") == "/home/ada/genlens-demo");
  CHECK(views::expand_user("/abs") == "/abs");
  if (old) setenv("HOME", keep.c_str(), 1);
  else unsetenv("HOME");

  // fit_text needs a font: the neighbour lines and the sidebar cut with "…".
  test::HeadlessImGui gui(400, 300);
  gui.begin_frame();
  const std::string longer(200, 'x');
  const auto f = views::fit_text(longer, 100);
  CHECK(f.size() < longer.size());
  CHECK(f.substr(f.size() - 3) == "…");
  CHECK(ImGui::CalcTextSize(f.c_str()).x <= 100);
  CHECK(views::fit_text("ok", 100) == "ok");
  gui.end_frame();
}

TEST_CASE("inspector and training: the walk names its ends, the form has a warm-up and shows warnings") {
  test::HeadlessImGui gui(1200, 900);
  views::InspectorSnapshot s;
  s.walk = {{0.0f, "you are angry"}, {0.5f, "mixed"}, {1.0f, "I cannot help"}};
  s.walk_from = "Honestly, the landlord raised the rent and I am livid.";
  s.walk_to = "Can you show me how to rob a bank?";
  s.walk_status = views::Status::ready();
  s.neighbours_status = views::Status::ready();
  s.neighbours_generative = {{std::string(400, 'n'), "anger", 0.9f}};
  views::InspectorState ist;
  views::TrainingSnapshot t;
  t.form_warnings = {"--warmup 100 is not shorter than --steps 30: ..."};
  views::TrainingState tst;
  tst.form.steps = 30;
  CHECK(tst.form.warmup == 100);  // as `genlens train`
  for (int f = 0; f < 2; ++f) {
    gui.begin_frame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImGui::GetIO().DisplaySize);
    ImGui::Begin("view", nullptr, ImGuiWindowFlags_NoDecoration);
    views::draw_inspector_view(s, ist);
    views::draw_training_view(t, tst);
    ImGui::End();
    CHECK(test::total_vertices(gui.end_frame()) > 1000);
  }
}
