#include "app/studio/compare_controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/analysis/eval.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

CompareController::CompareController(StudioContext& cx) : cx_(cx) {
  cmp_.eval_status = {Status::Idle, "Open a workspace with eval/results.json, or one with tasks/ and press Run evaluation."};
  cmp_.sim_status = {Status::Idle, "Project the corpus (Map tab) and select points to compare their similarities."};
}

void CompareController::load_results(const std::string& path) {
  auto pending = std::make_shared<views::CompareSnapshot>();
  eval_.start(cx_.jobs, "eval-results", pending, [pending, path](runtime::JobContext& ctx) {
    ctx.set_stage("read results.json");
    auto r = analysis::read_results(path);
    // Every mode scored, input-centric ones first and generative last: the table reads
    // left to right towards the method (and its gain column).
    std::vector<std::string> modes = r.modes;
    for (auto& t : r.tasks)
      for (auto& [m, s] : t.scores)
        if (std::find(modes.begin(), modes.end(), m) == modes.end()) modes.push_back(m);
    auto rank = [](const std::string& m) { return m == "mean" ? 0 : m == "last" ? 1 : m == "generative" ? 3 : 2; };
    std::stable_sort(modes.begin(), modes.end(), [&](auto& a, auto& b) { return rank(a) < rank(b); });
    pending->modes = modes;
    for (auto& t : r.tasks) {
      views::EvalRow row;
      row.task = t.name;
      row.kind = t.type;
      row.metric = t.main_metric;
      for (auto& m : modes) {
        auto it = t.scores.find(m);
        double v = NAN;
        if (it != t.scores.end()) {
          auto k = it->second.metrics.find(t.main_metric);
          if (k != it->second.metrics.end()) v = k->second;
        }
        row.scores.push_back(v);
      }
      auto g = analysis::generative_gain(t);
      row.gain = g ? *g * 100.0 : NAN;
      row.lower_is_better = analysis::lower_is_better(t.main_metric);
      pending->rows.push_back(std::move(row));
    }
    for (auto& [m, why] : r.skipped) pending->notes.push_back(fmt::format("{} skipped: {}", m, why));
  });
  cmp_.eval_status = {Status::Running, "reading " + path + "…"};
}

void CompareController::run_eval() {
  const auto& open = cx_.open;
  if (open.model.empty() || open.tasks_dir.empty()) {
    cmp_.eval_status = {Status::Failed, "Needs a model and a tasks/ folder (open a workspace that has them)."};
    return;
  }
  analysis::EvalOptions o;
  o.model_dir = open.model;
  o.adapter = open.adapter;
  o.tasks_dir = open.tasks_dir;
  o.modes = open.adapter.empty() ? std::vector<std::string>{"mean", "last"}
                                 : std::vector<std::string>{"generative", "mean", "last"};
  o.out_dir = fs::path(open.workspace.empty() ? fs::temp_directory_path().string() : open.workspace) / "eval";
  const std::string out = (o.out_dir / "results.json").string();
  CoreSession* core = &cx_.core;
  eval_.start(cx_.jobs, "eval", nullptr, [o, core](runtime::JobContext& ctx) {
    auto lk = core->compute();
    analysis::run_eval(o, &ctx);
  });
  cx_.open.eval_results = out;
  cmp_.eval_status = {Status::Running, "evaluating every task under every mode…"};
  cx_.log("eval: " + open.tasks_dir + " -> " + out);
}

void CompareController::poll() {
  auto s = eval_.poll(cx_.jobs);
  if (!s) return;
  if (!s->finished()) {
    if (cmp_.eval_status.kind == Status::Running && !s->stage.empty())
      cmp_.eval_status.text = s->stage + (s->total > 0 ? fmt::format(" {}/{}", s->done, s->total) : "") + "…";
    return;
  }
  if (s->state != runtime::JobState::Done) {
    cmp_.eval_status = {Status::Failed, job_error(*s)};
  } else if (auto* table = eval_.result()) {
    cmp_.modes = table->modes;
    cmp_.rows = table->rows;
    cmp_.notes = table->notes;
    cmp_.eval_status = Status::ready();
    cmp_.eval_source = cx_.open.eval_results;
    eval_.drop_result();
  } else {
    load_results(cx_.open.eval_results);  // `genlens eval` finished: read what it wrote
  }
}

void CompareController::update_similarity(const MapController& map) {
  const auto& emb = map.embeddings();
  if (emb.version != embeddings_seen_) {  // a new projection: the selection is compared afresh
    embeddings_seen_ = emb.version;
    last_selection_.clear();
  }
  if (map.state().selected == last_selection_) return;
  last_selection_ = map.state().selected;
  const auto sel = views::selected_indices(map.state());
  const auto& c = cx_.corpus;
  cmp_.sim_points = int(sel.size());
  if (sel.size() < 2 || emb.input.empty()) {
    cmp_.sim_status = {Status::Idle, emb.input.empty() ? "Project the corpus (Map tab) and select points."
                                                       : "Select at least two points on the map."};
    return;
  }
  // Rows and columns by label; per point up to kMaxPointMatrix, label means always.
  const auto ordered = views::order_by_label(sel, c.labels);
  const bool points = int(ordered.size()) <= views::kMaxPointMatrix;
  auto fill = [&](views::HeatmapData& h, views::HeatmapData& by_label, const std::vector<float>& e, int64_t dim) {
    h = points ? views::cosine_matrix(e, dim, ordered, c.labels, c.label_names, c.texts) : views::HeatmapData{};
    by_label = views::label_mean_cosine(e, dim, sel, c.labels, c.label_names);
  };
  fill(cmp_.sim_input, cmp_.sim_input_labels, emb.input, emb.dim_input);
  if (!emb.generative.empty()) fill(cmp_.sim_generative, cmp_.sim_generative_labels, emb.generative, emb.dim_generative);
  else cmp_.sim_generative = cmp_.sim_generative_labels = {};
  // One colour scale for all four matrices, from the lowest cosine in any of them to 1.
  const float lo = views::share_colour_scale(
      {&cmp_.sim_input, &cmp_.sim_generative, &cmp_.sim_input_labels, &cmp_.sim_generative_labels});
  cmp_.sim_scale = fmt::format("colour: cosine from {:.2f} (lowest in either space) to 1", lo);
  cmp_.sim_status = Status::ready();
}

}  // namespace genlens::studio
