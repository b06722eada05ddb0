#include "app/studio/studio_app.h"

#include <fmt/format.h>
#include <imgui.h>

namespace genlens::studio {

namespace fs = std::filesystem;

const char* to_string(Tab t) {
  switch (t) {
    case Tab::Workspace: return "workspace";
    case Tab::Inspector: return "inspector";
    case Tab::Map: return "map";
    case Tab::Compare: return "compare";
    case Tab::Training: return "training";
  }
  return "?";
}

bool parse_tab(const std::string& name, Tab& out) {
  for (Tab t : {Tab::Workspace, Tab::Inspector, Tab::Map, Tab::Compare, Tab::Training})
    if (name == to_string(t)) {
      out = t;
      return true;
    }
  return false;
}

StudioApp::StudioApp(StudioOptions opt)
    : opt_(std::move(opt)),
      cx_(opt_.cli_path, [this](const std::string& line) { log(line); }, opt_.bf16_weights),
      workspace_(cx_),
      inspector_(cx_),
      trace_(cx_),
      attribution_(cx_),
      arithmetic_(cx_),
      tuned_(cx_),
      map_(cx_),
      compare_(cx_),
      study_(cx_),
      training_(cx_),
      demo_(cx_) {
  if (!opt_.workspace.empty()) open(views::OpenKind::Workspace, opt_.workspace);
  if (!opt_.model.empty()) open(views::OpenKind::Model, opt_.model);
  if (!opt_.adapter.empty()) open(views::OpenKind::Adapter, opt_.adapter);
  if (!opt_.corpus.empty()) open(views::OpenKind::Corpus, opt_.corpus);
  if (!opt_.run.empty()) open(views::OpenKind::Run, opt_.run);
  if (!opt_.study.empty()) {
    open_study(opt_.study);
    show(Tab::Compare);
  }
}

StudioApp::~StudioApp() {
  if (cx_.jobs.any_active())
    fmt::print(stderr, "genlens-studio: closing: stopping running jobs (a training run saves a checkpoint first)\n");
  cx_.jobs.shutdown();
}

void StudioApp::log(const std::string& line) {
  layout_.log_lines.push_back(views::display_path(line));  // ~ for $HOME, as every path on screen
  if (layout_.log_lines.size() > 400) layout_.log_lines.erase(layout_.log_lines.begin());
}

void StudioApp::open(views::OpenKind kind, const std::string& typed) {
  const auto opened = workspace_.open(kind, typed);
  if (!opened) return;
  const std::string& p = opened->path;
  switch (kind) {
    case views::OpenKind::Workspace:
      open_workspace_parts(opened->given);
      return;  // the workspace was logged before its parts
    case views::OpenKind::Model:
      training_.set_form_model(p);
      inspector_.model_opened();
      map_.show_hint();
      break;
    case views::OpenKind::Run:
      training_.follow_run(p);
      break;
    case views::OpenKind::Corpus:
      map_.show_hint();
      break;
    case views::OpenKind::Adapter:
      break;
  }
  workspace_.opened(kind, p);
}

// The parts find_workspace_parts finds, each opened as if the person had opened it.
void StudioApp::open_workspace_parts(const fs::path& given) {
  auto& o = cx_.open;
  o.tasks_dir = o.latent_index = o.maps_dir = o.eval_results = "";
  const auto parts = find_workspace_parts(given);
  if (!parts.model.empty()) open(views::OpenKind::Model, parts.model);
  if (!parts.corpus.empty()) open(views::OpenKind::Corpus, parts.corpus);
  o.maps_dir = parts.maps_dir;
  if (!parts.run.empty()) open(views::OpenKind::Run, parts.run);
  o.tasks_dir = parts.tasks_dir;
  o.latent_index = parts.latent_index;
  o.eval_results = parts.eval_results;
  if (!o.eval_results.empty()) compare_.load_results(o.eval_results);
  training_.set_form_paths(parts.responses, (given / "runs" / "studio").string());
  workspace_.list_extras();
}

void StudioApp::build_demo(const std::string& dir, bool quick) {
  if (!demo_.build(dir, quick)) open(views::OpenKind::Workspace, dir);
}

void StudioApp::trace(bool noise) {
  trace_.ui().source = noise ? 1 : 0;
  trace_.start(inspector_.query_shown(), inspector_.instruction(), inspector_.ui().walk_to, noise);
}

void StudioApp::lens_kind(bool tuned, bool train) {
  tuned_.ui().kind = tuned ? 1 : 0;
  if (tuned && (train || !tuned_.snapshot().status.is_ready()))
    tuned_.start(inspector_.query_shown(), inspector_.instruction(), train);
}

void StudioApp::attribute() {
  attribution_.start(inspector_.query_shown(), inspector_.instruction(), inspector_.snapshot().tokens);
}

void StudioApp::start_training(bool resume) {
  if (training_.start(resume)) workspace_.clear_offer();
}

void StudioApp::save_png(const std::string& target, const std::string& path) {
  png_.script_path(path);
  if (target == "map") map_.ui().png_pending = target;
  else training_.ui().png_pending = target;
}

bool StudioApp::job_active(const std::string& name) {
  if (name.empty() ? cx_.jobs.any_active() : cx_.jobs.active(name)) return true;
  // A finished job counts as active until a frame has taken its results in (so a script
  // that waits for it sees them).
  const std::pair<const char*, int> absorbing[] = {
      {"corpus", workspace_.corpus_job()}, {"project", map_.project_job()},   {"query", inspector_.query_job()},
      {"walk", inspector_.walk_job()},     {"latent", inspector_.latent_job()}, {"ablate", inspector_.ablation_job()},
      {"trace", trace_.job()}, {"attribute", attribution_.job()},
      {"arithmetic", arithmetic_.job()}, {"tuned-lens", tuned_.job()}, {"eval", compare_.eval_job()},
      {"eval-results", compare_.eval_job()}, {"demo", demo_.job()},         {"regions", map_.region_job()},
      {"probe", training_.probe_job()},    {"place", map_.place_job()},         {"study", study_.read_job()},
      {"study-maps", study_.maps_job()}};
  for (auto& [n, id] : absorbing)
    if (id != 0 && (name.empty() || name == n)) return true;
  return false;
}

std::string StudioApp::script_value(const std::string& key) const {
  if (auto v = map_.script_value(key)) return *v;
  if (auto v = training_.script_value(key)) return *v;
  if (auto v = study_.script_value(key)) return *v;
  // As drawn: paths under $HOME as ~.
  if (key == "ablation") {  // as drawn: the title and cosine, else the status line
    const auto& s = inspector_.snapshot();
    if (s.ablation_status.kind != views::Status::Ready) return s.ablation_status.text;
    return fmt::format("{}: cosine {:.4f}; {} bars", s.ablation_title, s.ablation_cosine, s.ablation_bars.size());
  }
  if (key == "trace") return trace_.script_value();
  if (key == "attribution") return attribution_.script_value();
  if (key == "arithmetic") return arithmetic_.script_value();
  if (key == "tuned-lens") return tuned_.script_value();
  if (key == "workspace-error") return views::display_path(workspace_.snapshot().workspace_error);
  if (key == "corpus-error") return views::display_path(workspace_.snapshot().corpus_error);
  if (key == "log") {
    std::string all;
    for (auto& l : layout_.log_lines) all += l + "\n";
    return all;
  }
  return "?";
}

// Each feature takes in what its jobs finished, in the order their results build on
// each other (the inspected query's markers before the map's; the corpus before a
// Project pressed while it was read).
void StudioApp::poll() {
  inspector_.poll(map_);
  trace_.poll();
  attribution_.poll();
  arithmetic_.poll();
  tuned_.poll();
  map_.poll();
  compare_.poll();
  study_.poll();
  const auto corpus = workspace_.poll_corpus();
  if (corpus != WorkspaceController::CorpusPoll::Waiting) {
    if (corpus == WorkspaceController::CorpusPoll::Loaded) inspector_.corpus_read();
    const std::string method = map_.corpus_read(corpus == WorkspaceController::CorpusPoll::Loaded);
    if (!method.empty()) project(method);
  }
  if (const auto offer = training_.poll(frame_no_); !offer.empty()) workspace_.offer_adapter(offer);
  if (const auto built = demo_.poll(); !built.empty()) {
    open(views::OpenKind::Workspace, built);
    show(Tab::Map);
  }
  training_.poll_probe(inspector_.query_shown(), inspector_.typed_query());
  compare_.update_similarity(map_);
  workspace_.refresh(frame_no_, training_.run_line(), layout_);
  cx_.jobs.end_frame();
}

void StudioApp::draw_tab(Tab t) {
  switch (t) {
    case Tab::Workspace: {
      auto in = views::draw_workspace_view(workspace_.snapshot(), workspace_.ui());
      for (auto& o : in.open) open(o.kind, o.path);
      const std::string offered = workspace_.offered_adapter();
      if (in.use_offered_adapter && !offered.empty()) open(views::OpenKind::Adapter, offered);
      if (in.dismiss_offer) workspace_.clear_offer();
      workspace_.cancel_jobs(in.cancel_jobs);
      break;
    }
    case Tab::Inspector: {
      bool trace_pressed = false, attribute_pressed = false, attributed = false;
      views::InspectorPanels panels;
      panels.tokens = [&](float width) {
        const auto a = views::draw_attribution_panel(attribution_.snapshot(), attribution_.ui(), width);
        attribute_pressed = a.attribute;
        attributed = a.drew_tokens;
        return a.drew_tokens;
      };
      panels.after_lens = [&](float width) {
        trace_pressed = views::draw_trace_panel(trace_.snapshot(), trace_.ui(), inspector_.ui().walk_to, width).trace;
      };
      views::TunedLensIntents lens_in;
      panels.lens_kind = [&] {
        lens_in = views::draw_lens_kind(tuned_.snapshot(), tuned_.ui());
        return views::tuned_cells(tuned_.snapshot(), tuned_.ui());
      };
      panels.under_lens = [&](float width) { views::draw_kl_plot(tuned_.snapshot(), tuned_.ui(), width); };
      views::ArithmeticIntents arith;
      panels.last = [&](float width) { arith = views::draw_arithmetic_panel(arithmetic_.snapshot(), arithmetic_.ui(), width); };
      auto in = views::draw_inspector_view(inspector_.snapshot(), inspector_.ui(), panels);
      if (lens_in.kind_changed || lens_in.train) lens_kind(tuned_.ui().kind == 1, lens_in.train);
      if (tuned_.ui().kind == 1 && tuned_.snapshot().status.is_ready()) drawn_.push_back("inspector.tuned-lens");
      if (arith.decode) arithmetic(arithmetic_.ui().expression);
      if (arith.use_inspected) arithmetic_.add_term(inspector_.query_shown());
      if (arithmetic_.snapshot().status.is_ready()) drawn_.push_back("inspector.arithmetic");
      if (trace_pressed) trace(trace_.ui().source == 1);
      if (attribute_pressed) attribute();
      if (attributed) drawn_.push_back("inspector.attribution");
      if (in.run) inspect(inspector_.typed_query());
      if (in.walk) walk(inspector_.ui().walk_to);
      if (in.pin_changed) inspector_.start_latent();
      if (in.ablate) inspector_.ablate();
      const auto& s = inspector_.snapshot();
      if (!s.tokens.empty()) drawn_.push_back("inspector.tokens");
      if (s.answer_status.is_ready()) drawn_.push_back("inspector.answer");
      if (s.decoded_status.is_ready()) drawn_.push_back("inspector.decoded");
      if (s.lens_status.is_ready() && !s.lens.empty()) drawn_.push_back("inspector.lens");
      if (s.neighbours_status.is_ready()) drawn_.push_back("inspector.neighbours");
      if (s.walk_status.is_ready()) drawn_.push_back("inspector.walk");
      if (inspector_.ui().heat.pinned_row >= 0 && s.ablation_status.is_ready() && !s.ablation_bars.empty())
        drawn_.push_back("inspector.ablation");
      if (trace_.snapshot().status.is_ready() && !trace_.snapshot().effect.empty()) drawn_.push_back("inspector.trace");
      break;
    }
    case Tab::Map: {
      auto in = views::draw_map_view(map_.snapshot(), map_.ui());
      const auto& s = map_.snapshot();
      if (in.project) project(in.method);
      if (in.send_to_inspector >= 0 && size_t(in.send_to_inspector) < s.texts.size()) {
        inspect(s.texts[size_t(in.send_to_inspector)]);
        show(Tab::Inspector);
      }
      if (in.png.wanted()) png_.request(in.png, cx_.open.workspace);
      if (in.export_selection) map_.export_selection();
      if (!s.input.data.x.empty()) drawn_.push_back("map.input");
      if (!s.generative.data.x.empty()) drawn_.push_back("map.generative");
      if (!s.generative.data.notes.empty()) drawn_.push_back("map.regions");
      break;
    }
    case Tab::Compare:
      draw_compare();
      break;
    case Tab::Training: {
      training_.check_form();
      auto in = views::draw_training_view(training_.snapshot(), training_.ui());
      const auto& s = training_.snapshot();
      if (in.start) start_training(false);
      if (in.resume) start_training(true);
      if (in.stop) stop_training();
      if (in.png.wanted()) png_.request(in.png, cx_.open.workspace);
      if (in.pause) pause_training(true);
      if (in.unpause) pause_training(false);
      if (!in.follow.empty()) {
        cx_.open.run = in.follow;
        training_.follow_run(in.follow);
      }
      if (in.probe_changed) training_.probe_entered();  // the person's own probe: no longer the inspected query
      if (in.open_checkpoint >= 0) {
        open(views::OpenKind::Adapter, training_.checkpoint_dir(in.open_checkpoint));
        show(Tab::Inspector);
      }
      if (!s.metrics.empty()) drawn_.push_back("training.curves");
      if (!s.probes.empty()) drawn_.push_back("training.probe");
      if (s.state == views::RunState::Paused) drawn_.push_back("training.paused");
      break;
    }
  }
}

void StudioApp::draw_compare() {
  study_.act(views::draw_study_open_row(study_.snapshot(), study_.ui()));
  if (!study_.snapshot().open) {
    draw_single_run_compare();
    return;
  }
  // A study first; the open workspace's own evaluation and similarity one tab away.
  if (ImGui::BeginTabBar("compare-parts")) {
    if (ImGui::BeginTabItem("Study")) {
      study_.act(views::draw_study_view(study_.snapshot(), study_.ui()));
      drawn_.push_back("compare.study");
      const auto& s = study_.snapshot();
      if (s.a.status.is_ready() && s.b.status.is_ready()) drawn_.push_back("compare.study-maps");
      ImGui::EndTabItem();
    }
    if (ImGui::BeginTabItem("Single run: evaluation and similarity")) {
      draw_single_run_compare();
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
}

void StudioApp::draw_single_run_compare() {
  auto in = views::draw_compare_view(compare_.snapshot(), compare_.ui());
  const auto& s = compare_.snapshot();
  if (in.run_eval) run_eval();
  if (in.export_csv) ImGui::SetClipboardText(views::table_csv(s).c_str());
  if (in.export_markdown) ImGui::SetClipboardText(views::table_markdown(s).c_str());
  if (s.eval_status.is_ready() && !s.rows.empty()) drawn_.push_back("compare.eval");
  if (s.sim_status.is_ready()) drawn_.push_back("compare.similarity");
}

void StudioApp::draw_main(const views::Rect& area) {
  ImGui::SetNextWindowPos(ImVec2(area.x, area.y));
  ImGui::SetNextWindowSize(ImVec2(area.w, area.h));
  ImGui::Begin("##main", nullptr,
               ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                   ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoBringToFrontOnFocus);
  if (demo_.showing()) {  // the demo is being built: its progress is the whole screen
    drawn_.push_back("demo-build");
    auto in = views::draw_demo_build_view(demo_.snapshot());
    if (in.cancel) demo_.cancel();
    if (in.retry) build_demo(demo_.dir(), demo_.quick());
    ImGui::End();
    return;
  }
  if (ImGui::BeginTabBar("views")) {
    for (Tab t : {Tab::Workspace, Tab::Inspector, Tab::Map, Tab::Compare, Tab::Training}) {
      static const char* kTitles[] = {"Workspace", "Query inspector", "Embedding map", "Compare", "Training"};
      ImGuiTabItemFlags flags = tab_pending_ && requested_tab_ == t ? ImGuiTabItemFlags_SetSelected : 0;
      if (!ImGui::BeginTabItem(kTitles[int(t)], nullptr, flags)) continue;
      tab_ = t;
      drawn_.push_back(to_string(t));
      ImGui::BeginChild("content", ImVec2(0, 0), false);
      if (scroll_ == Scroll::Top) ImGui::SetScrollY(0);
      draw_tab(t);
      if (scroll_ == Scroll::Bottom) ImGui::SetScrollHereY(1.0f);
      scroll_ = Scroll::None;
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  // A requested tab is forced until the tab bar shows it; after that the person's clicks rule.
  if (tab_pending_ && tab_ == requested_tab_) tab_pending_ = false;
  if (!tab_pending_) requested_tab_ = tab_;
  ImGui::End();
}

void StudioApp::frame(float w, float h) {
  ++frame_no_;
  drawn_.clear();
  poll();
  auto area = views::draw_layout(layout_, layout_state_, w, h);
  drawn_.push_back("layout");
  draw_main(area);
}

}  // namespace genlens::studio
