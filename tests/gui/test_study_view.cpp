// The Compare tab's study: a hand-written study folder (tests/gui/study_fixture.h) read
// as the view's snapshot (each column's best and its ties as worked out by hand there),
// the held-out maps of two variants with a selection linked by query id (clicked in the
// headless ImGui context), the inspected query's decoded texts from both samples files,
// a study without held-out maps said in words; and, under Xvfb, the studio opening the
// fixture with --study and a broken study.json showing the reader's error in the tab.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <imgui_internal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "app/studio/study_snapshot.h"
#include "core/util/error.h"
#include "genlens_paths.h"
#include "tests/gui/gui_shell.h"
#include "tests/gui/imgui_headless.h"
#include "tests/gui/study_fixture.h"
#include "views/study_view.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::path(GENLENS_BUILD_DIR) / "test-tmp" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The fixture's snapshot with the maps of rows 0 and 1 loaded, as the controller does.
views::StudySnapshot fixture_with_maps(const fs::path& dir) {
  auto snap = studio::study_snapshot(runs::read_study(dir));
  snap.a = studio::read_study_probe(dir, snap.variants[0].probe_run, 0);
  snap.b = studio::read_study_probe(dir, snap.variants[1].probe_run, 1);
  studio::share_labels(snap.a, snap.b);
  return snap;
}

}  // namespace

TEST_CASE("study: the table marks each column's best and the values within the spread of the best") {
  const fs::path dir = fresh_dir("study-table");
  gui_test::write_study_fixture(dir);
  const auto s = studio::study_snapshot(runs::read_study(dir));
  REQUIRE(s.open);
  REQUIRE(s.variants.size() == 3);
  REQUIRE(s.columns.size() == 4);
  CHECK(s.columns[1].label == "harmful@5");
  CHECK(s.columns[1].lower_is_better);
  // By hand (study_fixture.h): best sts-demo 0.5, harmful@5 0 (lower is better), decode
  // 0.5, lens 0.5; ties: sts-demo of 1 and lens of 0.
  const bool best[3][4] = {{false, true, false, false}, {true, false, true, true}, {false, false, false, false}};
  const bool near[3][4] = {{false, false, false, true}, {false, false, false, false}, {true, false, false, false}};
  for (int v = 0; v < 3; ++v)
    for (int c = 0; c < 4; ++c) {
      CAPTURE(v);
      CAPTURE(c);
      CHECK(s.variants[size_t(v)].cells[size_t(c)].best == best[v][c]);
      CHECK(s.variants[size_t(v)].cells[size_t(c)].near_best == near[v][c]);
    }
  // Two finished seeds: mean ± spread; one: the mean alone; the unfinished seed counted.
  CHECK(views::study_cell_text(s.variants[1].cells[0]) == "0.650 ± 0.010");
  CHECK(views::study_cell_text(s.variants[2].cells[0]) == "0.645");
  CHECK(s.variants[2].runs_done == 1);
  CHECK(s.variants[2].runs_total == 2);
  CHECK(views::study_cell_text(views::StudyCell{}) == "-");
  // Its maps come from the first finished run, seed-43.
  CHECK(s.variants[2].probe_run == "variants/rw1/seed-43");
  // The maps open on the first variant and the best of the first column.
  CHECK(studio::default_study_picks(s) == std::pair<int, int>{0, 1});

  // Sorting by harmful@5 ascending: 0.200, 0.250, 0.300.
  views::StudyState st;
  st.sort_column = 3;
  st.ascending = true;
  CHECK(views::sorted_study_rows(s, st) == std::vector<size_t>{0, 2, 1});

  // The plot of sts-demo against recon-weight: one series (no other setting), x the values.
  const auto plot = views::study_plot_data(s, 0, 0);
  REQUIRE(plot.series.size() == 1);
  CHECK(plot.numeric_x);
  CHECK(plot.series[0].x == std::vector<double>{0, 0.5, 1});
  CHECK(plot.series[0].y[1] == doctest::Approx(0.65));
  CHECK(plot.series[0].err[1] == doctest::Approx(0.01));
  CHECK(plot.series[0].err[2] == 0);  // one seed: no error bar
}

TEST_CASE("study: the plot draws one line per combination of the other settings, categories in order") {
  views::StudySnapshot s;
  s.open = true;
  s.status = views::Status::ready();
  s.columns = {{"sts", "sts", "spearman", "eval", false, ""}};
  s.vary = {{"thought", {"4", "8"}}, {"mode", {"mean", "last"}}};
  auto row = [](const char* t, const char* m, double mean) {
    views::StudyVariantRow r;
    r.name = fmt::format("thought={} mode={}", t, m);
    r.setting = {{"thought", t}, {"mode", m}};
    views::StudyCell c;
    c.mean = mean, c.spread = 0.01, c.runs = 2;
    r.cells = {c};
    return r;
  };
  s.variants = {row("4", "mean", 0.1), row("8", "mean", 0.2), row("4", "last", 0.3), row("8", "last", 0.4)};
  auto by_mode = views::study_plot_data(s, 0, 1);  // x: mode (not numbers: positions 0, 1)
  CHECK_FALSE(by_mode.numeric_x);
  CHECK(by_mode.categories == std::vector<std::string>{"mean", "last"});
  REQUIRE(by_mode.series.size() == 2);
  CHECK(by_mode.series[0].name == "thought=4");
  CHECK(by_mode.series[0].x == std::vector<double>{0, 1});
  CHECK(by_mode.series[0].y == std::vector<double>{0.1, 0.3});
  CHECK(by_mode.series[1].y == std::vector<double>{0.2, 0.4});
}

TEST_CASE("study: clicking a query on one map selects the same id on the other, and shows both decoded texts") {
  const fs::path dir = fresh_dir("study-maps");
  gui_test::write_study_fixture(dir);
  const auto s = fixture_with_maps(dir);
  REQUIRE(s.a.status.is_ready());
  REQUIRE(s.b.status.is_ready());
  // One label list for both maps: "harm" is the same colour on each.
  CHECK(s.a.label_names == s.b.label_names);
  CHECK(s.a.pca.label[2] == s.b.pca.label[0]);  // q3 on both

  test::HeadlessImGui gui(1280, 1200);
  views::StudyState st;
  st.pick_a = 0, st.pick_b = 1;
  auto draw = [&] { views::draw_study_view(s, st); };
  test::frame_with_mouse(gui, ImVec2(-1, -1), false, draw);
  REQUIRE(st.map_a_rect[2] > st.map_a_rect[0]);
  REQUIRE(st.map_b_rect[0] >= st.map_a_rect[2]);  // side by side

  auto rect = [](const float r[4]) { return ImVec4(r[0], r[1], r[2], r[3]); };
  const ImVec4 area_a = rect(st.map_a_rect), area_b = rect(st.map_b_rect);
  // A point clicked on map A: the query inspected, its id selected on both maps.
  auto hit = test::click_until(gui, draw, [&] { return !st.inspected_id.empty(); }, area_a, 4);
  REQUIRE(hit.x >= 0);
  const std::string x = st.inspected_id;
  const int ia = s.a.index_of(x), ib = s.b.index_of(x);
  REQUIRE(ia >= 0);
  REQUIRE(ib >= 0);
  CHECK(st.selected_ids == std::vector<std::string>{x});
  std::vector<uint8_t> only_b(4, 0), only_a(4, 0);
  only_b[size_t(ib)] = 1, only_a[size_t(ia)] = 1;
  CHECK(st.sel_a == only_a);
  CHECK(st.sel_b == only_b);  // the same query, at its own index on B
  // The decoded texts shown for it: each variant's own row of samples.jsonl.
  const std::string want_a[] = {"", "rw0 says: use a whetstone", "rw0 says: oil it", "rw0 says: a key", "rw0 says: no"};
  const std::string want_b[] = {"", "rw05 says: hone the bevel", "rw05 says: grease", "rw05 says: refuse",
                                "rw05 says: cannot help"};
  const int q = x[1] - '0';  // "q1".."q4"
  REQUIRE(s.a.sample(x));
  REQUIRE(s.b.sample(x));
  CHECK(s.a.sample(x)->decoded == want_a[q]);
  CHECK(s.b.sample(x)->decoded == want_b[q]);

  // And the other way: a different query clicked on map B is selected on map A.
  st.inspected_id.clear();
  hit = test::click_until(gui, draw, [&] { return !st.inspected_id.empty() && st.inspected_id != x; }, area_b, 4);
  REQUIRE(hit.x >= 0);
  const std::string y = st.inspected_id;
  std::vector<uint8_t> y_on_a(4, 0);
  y_on_a[size_t(s.a.index_of(y))] = 1;
  CHECK(st.sel_a == y_on_a);
}

TEST_CASE("study: a variant without held-out maps is said in words, and the view draws it") {
  const fs::path dir = fresh_dir("study-nomap");
  gui_test::write_study_fixture(dir);
  auto s = studio::study_snapshot(runs::read_study(dir));
  s.a = studio::read_study_probe(dir, s.variants[2].probe_run, 2);
  s.b = studio::read_study_probe(dir, s.variants[0].probe_run, 0);
  CHECK(s.a.status.kind == views::Status::Unavailable);
  CHECK(s.a.status.text.find("no held-out map") != std::string::npos);
  test::HeadlessImGui gui(1280, 1000);
  views::StudyState st;
  auto* d = test::frame_with_mouse(gui, ImVec2(-1, -1), false, [&] { views::draw_study_view(s, st); });
  CHECK(test::total_vertices(d) > 500);
  CHECK(st.map_a_rect[2] == 0);  // no map drawn in place of the words
}

TEST_CASE("study: a malformed samples.jsonl line is an error naming the file and line") {
  const fs::path dir = fresh_dir("study-badsamples");
  gui_test::write_study_fixture(dir);
  gui_test::write_file(dir / "variants/rw0/seed-42/probe/samples.jsonl", "{\"id\": \"q1\"}\n{not json\n");
  try {
    studio::read_study_probe(dir, "variants/rw0/seed-42", 0);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("samples.jsonl:2") != std::string::npos);
  }
}

TEST_CASE("study: eval columns sharing a task prefix show the rest, and the prefix is said once") {
  auto col = [](const char* label, const char* kind) { return views::StudyColumnInfo{label, label, "m", kind, false, ""}; };
  // By hand: the common start of the eval labels, cut back to a '-' that leaves each a rest.
  CHECK(views::shared_task_prefix({col("helpdesk-classification", "eval"), col("helpdesk-sts", "eval"),
                                   col("decode", "probe"), col("lens", "probe")}) == "helpdesk-");
  CHECK(views::shared_task_prefix({col("a-b-x", "eval"), col("a-b-y", "eval")}) == "a-b-");
  CHECK(views::shared_task_prefix({col("a-b", "eval"), col("a-b-c", "eval")}) == "a-");  // "a-b" keeps "b"
  CHECK(views::shared_task_prefix({col("helpdesk-", "eval"), col("helpdesk-sts", "eval")}) == "");  // no rest
  CHECK(views::shared_task_prefix({col("helpdesk-sts", "eval"), col("decode", "probe")}) == "");   // one task
  CHECK(views::shared_task_prefix({col("stsb", "eval"), col("sts-demo", "eval")}) == "");          // no '-'

  const fs::path dir = fresh_dir("study-zip");
  gui_test::write_zip_study_fixture(dir);
  const auto s = studio::study_snapshot(runs::read_study(dir));
  CHECK(s.task_prefix == "helpdesk-");
  std::vector<std::string> headers, labels;
  for (const auto& c : s.columns) headers.push_back(c.shown()), labels.push_back(c.label);
  CHECK(headers == std::vector<std::string>{"classification", "sts", "safety", "decode", "lens"});
  // The full name stays the label (tooltips and the plot's hover say it).
  CHECK(labels[0] == "helpdesk-classification");

  // The hand-written fixture's tasks share nothing: its headers are its labels.
  const fs::path plain = fresh_dir("study-noprefix");
  gui_test::write_study_fixture(plain);
  const auto p = studio::study_snapshot(runs::read_study(plain));
  CHECK(p.task_prefix == "");
  CHECK(p.columns[0].shown() == "sts-demo");
  CHECK(p.columns[1].shown() == "harmful@5");
}

TEST_CASE("study: a zip study plots by variant by default, a one-setting study by its setting") {
  const fs::path dir = fresh_dir("study-zip-plot");
  gui_test::write_zip_study_fixture(dir);
  const auto z = studio::study_snapshot(runs::read_study(dir));
  CHECK(z.zip);
  CHECK(views::default_plot_axis(z) == views::kPlotByVariant);
  const auto by_variant = views::study_plot_data(z, 0, views::kPlotByVariant);
  CHECK(by_variant.by_variant);
  CHECK_FALSE(by_variant.numeric_x);
  CHECK(by_variant.categories ==
        std::vector<std::string>{"recon-weight=1 align-weight=1", "recon-weight=1 align-weight=0", "recon-weight=0 align-weight=1"});
  REQUIRE(by_variant.series.size() == 1);
  CHECK(by_variant.series[0].x == std::vector<double>{0, 1, 2});  // study order
  CHECK(by_variant.series[0].y[1] == doctest::Approx(0.509));
  CHECK(by_variant.series[0].variant == std::vector<int>{0, 1, 2});
  CHECK(views::study_x_ticks(by_variant) == std::vector<size_t>{0, 1, 2});
  // recon-weight's values 1, 1, 0: each x value labelled once, left to right (0 first).
  const auto by_rw = views::study_plot_data(z, 0, 0);
  CHECK(by_rw.numeric_x);
  CHECK(views::study_x_ticks(by_rw) == std::vector<size_t>{2, 0});

  const fs::path grid = fresh_dir("study-grid-plot");
  gui_test::write_study_fixture(grid);
  const auto g = studio::study_snapshot(runs::read_study(grid));
  CHECK_FALSE(g.zip);
  CHECK(views::default_plot_axis(g) == 0);
  // Compression-like values 20, 2, 10 given out of order: ticks sorted by value.
  views::StudyPlotData d;
  d.numeric_x = true;
  d.categories = {"20", "2", "10"};
  CHECK(views::study_x_ticks(d) == std::vector<size_t>{1, 2, 0});
}

namespace {
// The drawn table of the study view (the only table with this many columns).
ImGuiTable* study_table(size_t columns) {
  ImGuiContext& g = *ImGui::GetCurrentContext();
  for (int i = 0; i < g.Tables.GetMapSize(); ++i)
    if (ImGuiTable* t = g.Tables.TryGetMapData(i); t && t->ColumnsCount == int(4 + columns)) return t;
  return nullptr;
}
}  // namespace

TEST_CASE("study: no header, name or value of the table is cut, wide or narrow") {
  const fs::path dir = fresh_dir("study-zip-widths");
  gui_test::write_zip_study_fixture(dir);
  const auto s = studio::study_snapshot(runs::read_study(dir));
  for (float wide : {1400.0f, 560.0f}) {  // fits (stretched) and scrolls sideways
    CAPTURE(wide);
    test::HeadlessImGui gui(wide, 1200);
    views::StudyState st;
    auto draw = [&] { views::draw_study_view(s, st); };
    test::frame_with_mouse(gui, ImVec2(-1, -1), false, draw);
    test::frame_with_mouse(gui, ImVec2(-1, -1), false, draw);
    const auto w = views::study_table_widths(s);
    auto text_w = [](const std::string& t) { return ImGui::CalcTextSize(t.c_str()).x; };
    // The widths hold every text (by the font's own measure).
    for (const auto& v : s.variants) CHECK(w.variant >= text_w(v.name));
    for (size_t c = 0; c < s.columns.size(); ++c) {
      CHECK(w.columns[c] >= text_w(s.columns[c].shown()));
      for (const auto& v : s.variants) CHECK(w.columns[c] >= text_w(views::study_cell_text(v.cells[c])));
    }
    // And the drawn table gives each column at least that.
    ImGuiTable* t = study_table(s.columns.size());
    REQUIRE(t);
    CHECK(t->Columns[2].WidthGiven >= w.variant - 0.5f);
    for (size_t c = 0; c < s.columns.size(); ++c) {
      CAPTURE(c);
      CHECK(t->Columns[4 + int(c)].WidthGiven >= w.columns[c] - 0.5f);
    }
  }
}

#if GENLENS_HAVE_STUDIO
TEST_CASE("studio: --study opens the Compare tab on the study, and a broken study.json shows the reader's error") {
  const fs::path tmp = fresh_dir("studio-study");
  gui_test::write_study_fixture(tmp / "study");
  gui_test::write(tmp / "ok.script", fmt::format(R"(wait study 30
expect study-status ready
wait study-maps 30
expect study-maps ready
study-inspect q3
expect-text study-inspected rw05 says: refuse
study-pick 1 0
wait study-maps 30
expect study-maps ready
frames 3
screenshot {}
)",
                                               (tmp / "ok.png").string()));
  auto run = [&](const std::string& script, const fs::path& study) {
    return gui_test::sh(fmt::format("xvfb-run -a -s '-screen 0 1280x900x24' '{}' --width 1280 --height 900 --study {} "
                                    "--script {} --panel-log {}",
                                    GENLENS_STUDIO_PATH, gui_test::q(study), gui_test::q(tmp / script),
                                    gui_test::q(tmp / "panels.log")));
  };
  auto ok = run("ok.script", tmp / "study");
  INFO(ok.out);
  CHECK(ok.rc == 0);
  CHECK(fs::exists(tmp / "ok.png"));

  // A study.json with a variant's name missing: the reader's words, in the tab, no crash.
  gui_test::write_file(tmp / "broken" / "study.json",
                       R"({"format": "genlens-study/1", "model": "m", "data": "d", "tasks": "t", "vary": [],
"seeds": [42], "columns": [], "variants": [{"runs": []}]})");
  gui_test::write(tmp / "broken.script", fmt::format(R"(wait study 30
expect-text study-status variants[0].name
expect-text study-status study.json
frames 3
screenshot {}
)",
                                                   (tmp / "broken.png").string()));
  auto broken = run("broken.script", tmp / "broken");
  INFO(broken.out);
  CHECK(broken.rc == 0);
  CHECK(fs::exists(tmp / "broken.png"));
  std::ifstream panels(tmp / "panels.log");
  const std::string log((std::istreambuf_iterator<char>(panels)), std::istreambuf_iterator<char>());
  CHECK(log.find("ok.png: ") != std::string::npos);
  CHECK(log.find("compare.study-maps") != std::string::npos);
}
#endif
