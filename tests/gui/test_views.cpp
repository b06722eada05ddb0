// Every view renders from a fixture snapshot in the headless ImGui context, and the pure
// helpers behind them (lens cells, eval table sort/gain/export, series picking) are
// checked against hand-worked expectations.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/gui/imgui_headless.h"
#include "views/compare_view.h"
#include "views/demo_build_view.h"
#include "views/inspector_view.h"
#include "views/map_view.h"
#include "views/training_view.h"
#include "views/workspace_view.h"

using namespace genlens;

namespace {
template <class F>
ImDrawData* two_frames(test::HeadlessImGui& gui, F&& draw) {
  ImDrawData* d = nullptr;
  for (int i = 0; i < 2; ++i) {
    gui.begin_frame();
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImGui::GetIO().DisplaySize);
    ImGui::Begin("view", nullptr, ImGuiWindowFlags_NoDecoration);
    draw();
    ImGui::End();
    d = gui.end_frame();
  }
  return d;
}

views::InspectorSnapshot inspector_fixture() {
  views::InspectorSnapshot s;
  s.presets = {{"none", ""}, {"STS", "Generate text that is semantically similar to this text: "}};
  s.query_shown = "How do bees make honey?";
  s.tokens = {{4340, "How", 0, 3, false}, {653, " do", 3, 6, false}, {39458, " bees", 6, 11, false}};
  s.tokens_status = views::Status::ready();
  s.answer = "Bees collect nectar and evaporate it in the hive.";
  s.answer_status = views::Status::ready();
  s.decoded_status = {views::Status::Running, "decoding…"};
  s.lens_layers = {"L0", "L1"};
  s.lens_positions = {"c1", "c2", "c3"};
  for (int i = 0; i < 6; ++i) s.lens.push_back({{{i % 2 ? " honey" : " nectar", 0.1f * float(i + 1)}, {" hive", 0.05f}}});
  s.tracked_words = {" honey"};
  s.lens_status = views::Status::ready();
  s.latent_status = {views::Status::Unavailable, "not in this build"};
  s.neighbours_generative = {{"Honey is made from nectar.", "bees", 0.91f}};
  s.neighbours_input = {{"Bees are insects.", "bees", 0.88f}};
  s.neighbours_status = views::Status::ready();
  s.ablation_title = "c2 at layer 1, zeroed";
  s.ablation_cosine = 0.93f;
  s.ablation_decoded = "Bees make something.";
  s.ablation_bars = {{"c1", 0.01f, false}, {"c2", 0.07f, true}, {"c3", 0.0f, false}};
  s.ablation_neighbours = {{"Honey is made from nectar.", "bees", 0.90f}};
  s.ablation_status = views::Status::ready();
  s.walk = {{0.0f, "bees"}, {1.0f, "trains"}};
  s.walk_status = views::Status::ready();
  return s;
}
}  // namespace

TEST_CASE("inspector: the lens heatmap takes the top-1 piece and probability, stars tracked words") {
  auto s = inspector_fixture();
  auto h = views::lens_heatmap(s);
  CHECK(h.rows == 2);
  CHECK(h.cols == 3);
  CHECK(h.value[1] == doctest::Approx(0.2f));
  CHECK(h.cell_text[0] == "·nectar");
  CHECK(h.cell_text[1] == "★·honey");
  CHECK(h.tooltip[1].size() == 2);
  CHECK(h.tooltip[1][0].find("★") != std::string::npos);

  test::HeadlessImGui gui(1200, 900);
  views::InspectorState st;
  st.heat.pinned_row = 0, st.heat.pinned_col = 1;  // shows the latent-lens section too
  auto* d = two_frames(gui, [&] { views::draw_inspector_view(s, st); });
  CHECK(test::total_vertices(d) > 2000);
}

TEST_CASE("inspector: the ablation bars are the importances over the largest, none when nothing moved") {
  auto s = inspector_fixture();
  auto h = views::ablation_bar_heights(s.ablation_bars);
  REQUIRE(h.size() == 3);
  CHECK(h[0] == doctest::Approx(1.0 / 7));
  CHECK(h[1] == doctest::Approx(1.0));
  CHECK(h[2] == 0);
  CHECK(views::ablation_bar_heights({{"a", 0, false}, {"b", -0.001f, false}}) == std::vector<float>{0, 0});
  // With a pinned cell the ablation section draws (the bars and labels add vertices).
  test::HeadlessImGui gui(1200, 1400);
  views::InspectorState st;
  st.heat.pinned_row = 1, st.heat.pinned_col = 1;
  auto* with = two_frames(gui, [&] { views::draw_inspector_view(s, st); });
  const auto n_with = test::total_vertices(with);
  s.ablation_bars.clear();
  s.ablation_neighbours.clear();
  auto* without = two_frames(gui, [&] { views::draw_inspector_view(s, st); });
  CHECK(n_with > test::total_vertices(without));
}

TEST_CASE("map: side-by-side panels with a shared selection, selected indices in order") {
  views::MapSnapshot s;
  s.label_names = {"bees", "trains"};
  for (int i = 0; i < 30; ++i) {
    s.texts.push_back("text " + std::to_string(i));
    s.generative.data.x.push_back(float(i)), s.generative.data.y.push_back(float(i % 5));
    s.input.data.x.push_back(float(i % 7)), s.input.data.y.push_back(float(i));
    s.generative.data.label.push_back(i % 2), s.input.data.label.push_back(i % 2);
  }
  s.generative.status = s.input.status = views::Status::ready();
  s.generative.title = "generative", s.input.title = "input-centric";
  s.generative.data.has_marker = true;
  s.generative.data.notes = {{5, 2, "honey · hive", "a region of 4 points"}};
  test::HeadlessImGui gui(1200, 800);
  views::MapState st;
  st.selected.assign(30, 0);
  st.selected[3] = st.selected[17] = 1;
  CHECK(views::selected_indices(st) == std::vector<int>{3, 17});
  auto* d = two_frames(gui, [&] { views::draw_map_view(s, st); });
  CHECK(test::total_vertices(d) > 1000);
  CHECK(st.selected.size() == 30);  // both panels share the one selection vector
  CHECK(views::selected_indices(st) == std::vector<int>{3, 17});
}

TEST_CASE("compare: gain, sorting (NaN last) and CSV / Markdown exports") {
  views::CompareSnapshot s;
  s.modes = {"mean", "generative"};
  s.rows = {{"sts-demo", "STS", "spearman", {0.50, 0.60}},
            {"clust-demo", "clustering", "v_measure", {0.40, 0.30}},
            {"cls,demo", "classification", "accuracy", {NAN, 0.70}}};
  CHECK(views::gain_percent(s.rows[0]) == doctest::Approx(20.0));
  CHECK(views::gain_percent(s.rows[1]) == doctest::Approx(-25.0));
  CHECK(std::isnan(views::gain_percent(s.rows[2])));
  views::CompareState st;
  st.sort_column = 4;  // gain
  st.ascending = false;
  CHECK(views::sorted_rows(s, st) == std::vector<size_t>{0, 1, 2});
  st.ascending = true;
  CHECK(views::sorted_rows(s, st) == std::vector<size_t>{1, 0, 2});  // NaN stays last
  st.sort_column = 0;
  CHECK(views::sorted_rows(s, st) == std::vector<size_t>{2, 1, 0});
  CHECK(views::table_csv(s) ==
        "task,kind,metric,mean,generative,gain_percent\n"
        "sts-demo,STS,spearman,0.5000,0.6000,20.00\n"
        "clust-demo,clustering,v_measure,0.4000,0.3000,-25.00\n"
        "\"cls,demo\",classification,accuracy,,0.7000,\n");
  auto md = views::table_markdown(s);
  CHECK(md.find("| task | kind | metric | mean | generative | gain |") == 0);
  CHECK(md.find("| sts-demo | STS | spearman | 0.5000 | 0.6000 | +20.0% |") != std::string::npos);

  s.eval_status = views::Status::ready();
  s.sim_generative.rows = s.sim_generative.cols = 2;
  s.sim_generative.value = {1, 0.5f, 0.5f, 1};
  s.sim_input = s.sim_generative;
  s.sim_status = views::Status::ready();
  test::HeadlessImGui gui(1200, 800);
  views::CompareState cst;
  auto* d = two_frames(gui, [&] { views::draw_compare_view(s, cst); });
  CHECK(test::total_vertices(d) > 1000);
}

TEST_CASE("compare: the producer's gain wins, lower-is-better metrics flip the fallback") {
  views::EvalRow given{"safety", "safety", "harmful_at_5", {0.4, 0.2}};
  given.gain = 50.0;
  CHECK(views::gain_percent(given) == doctest::Approx(50.0));
  views::EvalRow harmful{"safety", "safety", "harmful_at_5", {0.4, 0.2}};
  harmful.lower_is_better = true;
  CHECK(views::gain_percent(harmful) == doctest::Approx(50.0));  // fewer harmful hits: a gain
  harmful.lower_is_better = false;
  CHECK(views::gain_percent(harmful) == doctest::Approx(-50.0));
}

TEST_CASE("training: curves from metrics rows, series picked by name in a fixed order") {
  views::TrainingSnapshot s;
  s.run_dir = "/runs/a";
  s.state = views::RunState::Running;
  s.own_run = true;
  s.step = 40, s.total_steps = 100, s.rate = 2.0, s.eta_s = 30;
  for (const char* k : {"loss", "recon_loss", "align_loss", "lr", "grad_norm", "samples_per_s", "cos_matched"}) {
    views::PlotSeries p;
    p.name = k;
    for (int i = 1; i <= 40; ++i) p.x.push_back(i), p.y.push_back(1.0 / i);
    s.metrics.push_back(p);
  }
  s.checkpoints = {"checkpoint-20", "checkpoint-40"};
  s.log_tail = {"step 40/100"};
  auto picked = views::pick_series(s.metrics, {"align_loss", "missing", "loss"});
  REQUIRE(picked.size() == 2);
  CHECK(picked[0].name == "align_loss");
  CHECK(picked[1].name == "loss");
  CHECK(picked[1].color == 2);  // colour by requested position, stable across frames

  test::HeadlessImGui gui(1400, 900);
  views::TrainingState st;
  auto* d = two_frames(gui, [&] { views::draw_training_view(s, st); });
  CHECK(test::total_vertices(d) > 3000);
  CHECK(st.loss_plot.log_y);  // losses default to a log axis
  CHECK(std::string(views::to_string(views::RunState::Following)) == "following");
}

TEST_CASE("training: Start runs a filled-in form, and is disabled while a run goes on, whose Stop stops it") {
  views::TrainingSnapshot s;
  views::TrainingState st;
  std::snprintf(st.form.model, sizeof st.form.model, "/models/tiny");
  std::snprintf(st.form.data, sizeof st.form.data, "/data/responses.jsonl");
  std::snprintf(st.form.out, sizeof st.form.out, "/runs/b");
  test::HeadlessImGui gui(900, 700);
  views::TrainingIntents in;
  auto draw = [&] { in = views::draw_training_view(s, st); };
  const ImVec4 form(0, 0, 400, 700);  // the form's column, on the left
  const ImVec2 start = test::click_until(gui, draw, [&] { return in.start; }, form);
  REQUIRE(start.x >= 0);
  CHECK_FALSE(in.stop);
  s.state = views::RunState::Running;
  s.own_run = true;
  s.run_dir = "/runs/b";
  test::click_at(gui, start, draw);
  CHECK_FALSE(in.start);  // the same click on a running run does nothing
  const ImVec2 stop = test::click_until(gui, draw, [&] { return in.stop; }, form);
  REQUIRE(stop.x >= 0);
  CHECK(stop.y == start.y);  // on the same row, after Start
  CHECK(stop.x > start.x);
  s.state = views::RunState::Stopping;
  test::click_at(gui, stop, draw);
  CHECK_FALSE(in.stop);  // asked once already
}

TEST_CASE("workspace: jobs with progress and errors, each Cancel names its job by id") {
  views::WorkspaceSnapshot s;
  s.model_dir = "/models/tiny";
  s.model_summary = "qwen3 · 2 layers · hidden 64 · vocab 151936";
  s.recent = {"model: /models/tiny", "run: /runs/a"};
  s.device = "cpu", s.dtype = "f32", s.threads = 2, s.memory_mb = 512;
  views::JobRow train;
  train.id = 7, train.name = "train", train.state = "running", train.stage = "train";
  train.detail = "12/100 steps", train.fraction = 0.12f, train.can_cancel = true;
  views::JobRow encode;
  encode.id = 3, encode.name = "encode", encode.state = "failed";
  encode.error = "texts.jsonl:3: field \"text\": missing";
  s.jobs = {train, encode};
  test::HeadlessImGui gui(1000, 800);
  views::WorkspaceState st;
  views::WorkspaceIntents in;
  auto draw = [&] { in = views::draw_workspace_view(s, st); };
  const int with_error = test::total_vertices(two_frames(gui, draw));
  // The running job's Cancel (the failed one has none) names the job, not its row.
  const ImVec2 cancel =
      test::click_until(gui, draw, [&] { return !in.cancel_jobs.empty(); }, ImVec4(0, 0, 1000, 800), 6);
  REQUIRE(cancel.x >= 0);
  CHECK(in.cancel_jobs == std::vector<int>{7});
  s.jobs[0].can_cancel = false;  // finished
  test::click_at(gui, cancel, draw);
  CHECK(in.cancel_jobs.empty());
  // The failed job's error is drawn under its row.
  s.jobs[1].error.clear();
  CHECK(test::total_vertices(two_frames(gui, draw)) < with_error);
  CHECK(std::string(views::to_string(views::OpenKind::Run)) == "run");
}

TEST_CASE("demo build: stages with ticks, the running stage's bar, Cancel, and Continue after a failure") {
  views::DemoBuildSnapshot s;
  s.workspace = "/root/.cache/genlens/demo";
  s.variant = "quick";
  for (const char* n : {"world", "tokenizer", "lm", "lm-check"}) s.stages.push_back({n, views::DemoStageRow::Pending, 0});
  s.stages[0].state = s.stages[1].state = views::DemoStageRow::Done;
  s.stages[0].seconds = 0.2;
  s.stages[1].seconds = 3.5;
  s.stages[2].state = views::DemoStageRow::Running;
  s.overall = 0.2f;
  s.stage_fraction = 0.4f;
  s.detail = "lm: pretraining 0.52M parameters  120/300 steps";
  s.elapsed_s = 14;
  test::HeadlessImGui gui(1000, 800);
  views::DemoBuildIntents in;
  auto draw = [&] { in = views::draw_demo_build_view(s); };
  CHECK(test::total_vertices(two_frames(gui, draw)) > 500);
  const ImVec4 all(0, 0, 1000, 800);
  // While it builds: Cancel, and nothing to continue.
  const ImVec2 cancel = test::click_until(gui, draw, [&] { return in.cancel || in.retry; }, all);
  REQUIRE(cancel.x >= 0);
  CHECK(in.cancel);
  CHECK_FALSE(in.retry);
  // After a failure: Continue, and nothing to cancel.
  s.error = "lm: out of memory";
  CHECK(test::total_vertices(two_frames(gui, draw)) > 500);
  const ImVec2 cont = test::click_until(gui, draw, [&] { return in.cancel || in.retry; }, all);
  REQUIRE(cont.x >= 0);
  CHECK(in.retry);
  CHECK_FALSE(in.cancel);
}
