// The studio's analysis jobs: a query (tokens, logit lens, decoding, neighbours, its place
// on the maps), the interpolation walk, the latent lens of a pinned cell, the maps (PCA
// or UMAP with the layout animating while it optimises) and the evaluation table. Each
// runs core/analysis on a job thread through core_bridge and publishes plain results;
// the poll_* functions copy them into the views' snapshots on the UI thread.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "app/studio/core_bridge.h"
#include "app/studio/lens_snapshot.h"
#include "app/studio/studio_app.h"
#include "app/studio/studio_results.h"
#include "core/analysis/eval.h"
#include "core/io/atomic_file.h"
#include "core/runtime/job.h"
#include "core/util/error.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

namespace {

std::string job_error(const runtime::JobSnapshot& s) {
  if (s.state == runtime::JobState::Cancelled) return "cancelled";
  return s.error.empty() ? "failed" : s.error;
}

void normalise_rows(std::vector<float>& v, int64_t dim) {
  for (size_t r = 0; dim > 0 && r * size_t(dim) < v.size(); ++r) {
    double n = 0;
    for (int64_t c = 0; c < dim; ++c) n += double(v[r * size_t(dim) + size_t(c)]) * v[r * size_t(dim) + size_t(c)];
    n = std::sqrt(n) + 1e-12;
    for (int64_t c = 0; c < dim; ++c) v[r * size_t(dim) + size_t(c)] = float(v[r * size_t(dim) + size_t(c)] / n);
  }
}

// Fits the 2-D layout of one space; UMAP publishes its frames to `feed` as it goes.
MapFit fit_layout(const analysis::Points& emb, const std::string& method, const std::string& mode,
                  analysis::LayoutFeed& feed, runtime::JobContext& ctx, analysis::Points& layout) {
  MapFit f;
  f.mode = mode;
  f.method = method;
  if (method == "UMAP") {
    analysis::UmapOptions o;
    o.n_neighbors = int(std::min<int64_t>(15, std::max<int64_t>(2, emb.rows - 1)));
    ctx.set_stage("UMAP (" + mode + ")");
    o.publish_every = 5;
    o.on_frame = feed.callback();
    f.umap = analysis::umap_fit(emb, o, &ctx);
    layout = f.umap.embedding;
  } else {
    ctx.set_stage("PCA (" + mode + ")");
    f.pca = analysis::pca(emb);
    layout = f.pca.coords;
  }
  f.ok = true;
  return f;
}

std::vector<float> place(const MapFit& f, const analysis::Points& q) {
  analysis::Points xy = f.method == "UMAP" ? analysis::umap_transform(f.umap, q) : analysis::pca_transform(f.pca, q);
  return {xy.at(0, 0), xy.at(0, 1)};
}

}  // namespace

// ------------------------------------------------------------------ the query

void StudioApp::inspect(const std::string& query) {
  std::snprintf(insp_state_.query, sizeof insp_state_.query, "%s", query.c_str());
  if (model_.empty()) {
    insp_.tokens_status = {Status::Failed, "No model is open: open one in the Workspace tab first."};
    return;
  }
  const std::string instruction =
      insp_.presets.empty() ? "" : insp_.presets[size_t(std::clamp(insp_state_.preset, 0, int(insp_.presets.size()) - 1))].instruction;
  auto res = std::make_shared<QueryResults>();
  res->query = query;
  res->instruction = instruction;
  query_ = res;
  query_seen_ = 0;
  const std::string model = model_, adapter = adapter_, corpus = corpus_;
  const auto texts = std::make_shared<std::vector<std::string>>(corpus_texts_);
  auto fits = fits_;
  query_fits_ = fits_;  // the layouts the query job places it on (none yet: start_place_query later)
  CoreSession* core = &core_;
  query_job_ = jobs_.start("query", [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    ctx.set_stage("tokens");
    res->publish(res->tokens, token_chips(*m, instruction + query));
    {
      ctx.set_stage("logit lens");
      auto lk = core->compute();
      ctx.check_cancel();
      res->publish(res->lens, run_lens(*m, query, instruction, {}));
    }
    if (has_adapter(*m)) {
      ctx.set_stage("decode");
      auto lk = core->compute();
      ctx.check_cancel();
      res->publish(res->decode, run_decode(*m, query, instruction, 48));
    } else {
      res->problem(res->decode, "Open an adapter (a checkpoint or a run) to decode from the soft prompts.");
    }
    // The query on the maps, in the spaces they were fitted on.
    if (fits) {
      for (auto* f : {&fits->generative, &fits->input}) {
        auto& part = f == &fits->generative ? res->place_generative : res->place_input;
        if (!f->ok || (f->mode == "generative" && !has_adapter(*m))) {
          res->problem(part, "no map");
          continue;
        }
        ctx.set_stage("place on the " + f->mode + " map");
        analysis::Points q;
        {
          auto lk = core->compute();
          q = encode(nullptr, *m, {query}, f->mode, fits->instruction);
        }
        res->publish(part, place(*f, q));
      }
    }
    if (!texts->empty()) {
      ctx.set_stage("neighbours");
      auto lk = core->compute();
      std::vector<std::string> modes = {"mean"};
      if (has_adapter(*m)) modes.insert(modes.begin(), "generative");
      res->publish(res->neighbors, run_neighbors(ctx, *m, *texts, corpus, query, instruction, modes, 8));
    } else {
      res->problem(res->neighbors, "Open a corpus (Workspace tab) to see the nearest texts.");
    }
  });
  insp_.query_shown = query;
  insp_.tokens.clear();
  insp_.answer.clear();
  insp_.decoded.clear();
  insp_.lens.clear();
  insp_.neighbours_generative.clear();
  insp_.neighbours_input.clear();
  insp_.latent.clear();
  insp_state_.heat.pinned_row = insp_state_.heat.pinned_col = -1;
  latent_pin_.clear();
  insp_.tokens_status = {Status::Running, "loading the model…"};
  insp_.lens_status = insp_.answer_status = insp_.decoded_status = insp_.neighbours_status = {Status::Running, "waiting…"};
  map_.generative.data.has_marker = map_.input.data.has_marker = false;
  log("inspect: " + query);
}

// The inspected query on the maps (a white triangle; its text cut short, whole on hover).
void StudioApp::set_markers(const QueryResults& r) {
  auto mark = [&](views::MapPanel& p, const Part<std::vector<float>>& part) {
    if (!part.value) return;
    p.data.has_marker = true;
    p.data.marker_x = (*part.value)[0];
    p.data.marker_y = (*part.value)[1];
    p.data.marker_text = views::cut_chars(r.query, 24);
    p.data.marker_tooltip = "query: " + r.query;
  };
  mark(map_.generative, r.place_generative);
  mark(map_.input, r.place_input);
}

// A query inspected before the maps were laid out (or on older layouts) is placed when
// the new layouts are in: its own job, so the query's other parts stay as they are.
void StudioApp::start_place_query() {
  if (!query_ || !fits_ || query_fits_ == fits_ || model_.empty()) return;
  query_fits_ = fits_;
  auto res = std::make_shared<QueryResults>();
  res->query = query_->query;
  place_ = res;
  const std::string model = model_, adapter = adapter_, query = query_->query;
  auto fits = fits_;
  CoreSession* core = &core_;
  place_job_ = jobs_.start("place", [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    for (auto* f : {&fits->generative, &fits->input}) {
      auto& part = f == &fits->generative ? res->place_generative : res->place_input;
      if (!f->ok || (f->mode == "generative" && !has_adapter(*m))) {
        res->problem(part, "no map");
        continue;
      }
      ctx.set_stage("place the query on the " + f->mode + " map");
      analysis::Points q;
      {
        auto lk = core->compute();
        q = encode(nullptr, *m, {query}, f->mode, fits->instruction);
      }
      res->publish(part, place(*f, q));
    }
  });
}

void StudioApp::poll_place() {
  if (!place_job_) return;
  auto* j = jobs_.find(place_job_);
  if (!j) return;
  auto snap = j->snapshot();
  if (!snap.finished()) return;
  place_job_ = 0;
  if (!place_ || !query_ || place_->query != query_->query) return;  // another query since
  std::lock_guard<std::mutex> lk(place_->mu);
  if (snap.state == runtime::JobState::Done) set_markers(*place_);
  else log("place the query on the maps: " + job_error(snap));
}

void StudioApp::walk(const std::string& to) {
  std::snprintf(insp_state_.walk_to, sizeof insp_state_.walk_to, "%s", to.c_str());
  const std::string from = insp_state_.query;
  if (model_.empty() || from.empty() || to.empty()) {
    insp_.walk_status = {Status::Failed, "Type a query above and a second query to walk to."};
    return;
  }
  const std::string instruction = query_ ? query_->instruction : "";
  auto res = std::make_shared<QueryResults>();
  walk_ = res;
  const std::string model = model_, adapter = adapter_;
  CoreSession* core = &core_;
  walk_job_ = jobs_.start("walk", [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    ctx.set_stage("interpolate", 5, "steps");
    auto lk = core->compute();
    res->publish(res->walk, run_walk(*m, from, to, instruction, 5, 32));
    ctx.set_done(5);
  });
  insp_.walk.clear();
  insp_.walk_status = {Status::Running, "decoding 5 points between the two queries…"};
  log(fmt::format("walk: {} -> {}", from, to));
}

void StudioApp::start_latent() {
  const auto& h = insp_state_.heat;
  if (h.pinned_row < 0 || h.pinned_col < 0 || !query_) return;
  const std::string key = fmt::format("{}/{}", h.pinned_row, h.pinned_col);
  if (key == latent_pin_) return;
  latent_pin_ = key;
  insp_.latent.clear();
  if (latent_index_.empty()) {
    insp_.latent_status = {Status::Unavailable,
                           "No latent index in this workspace (build one: genlens latent-index --model M --corpus "
                           "responses.jsonl --out WORKSPACE/latent)."};
    return;
  }
  if (size_t(h.pinned_row) >= insp_.lens_layers.size() || size_t(h.pinned_col) >= insp_.lens_positions.size()) return;
  const int64_t layer = std::stoll(insp_.lens_layers[size_t(h.pinned_row)].substr(1));  // "L3"
  const std::string label = insp_.lens_positions[size_t(h.pinned_col)];
  auto res = std::make_shared<QueryResults>();
  latent_ = res;
  const std::string model = model_, adapter = adapter_, index = latent_index_, query = query_->query,
                    instruction = query_->instruction;
  CoreSession* core = &core_;
  latent_job_ = jobs_.start("latent", [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    ctx.set_stage("latent lens");
    auto lk = core->compute();
    auto r = run_latent(*m, index, query, instruction, layer, 8);
    for (auto& p : r.positions)
      if (p.position.label == label) return res->publish(res->latent, p);
    res->problem(res->latent, fmt::format("position {} is not one the latent lens searches", label));
  });
  insp_.latent_status = {Status::Running, fmt::format("searching the index for {} at layer {}…", label, layer)};
}

void StudioApp::poll_query() {
  runtime::JobSnapshot snap;
  auto job_state = [&](int id) {
    auto* j = jobs_.find(id);
    if (j) snap = j->snapshot();
    return j != nullptr;
  };
  if (query_ && job_state(query_job_)) {
    std::lock_guard<std::mutex> lk(query_->mu);
    auto& r = *query_;
    if (r.version != query_seen_) {
      query_seen_ = r.version;
      if (r.tokens.value) insp_.tokens = *r.tokens.value, insp_.tokens_status = Status::ready();
      if (r.lens.value) {
        fill_lens(*r.lens.value, insp_);
        insp_.lens_title = r.lens.value->positions.empty() || r.lens.value->positions.front().kind ==
                                                                    analysis::PositionKind::Ordinary
                               ? "the query's own tokens (no adapter open)"
                               : "thought (T) and compression (C) tokens";
      }
      if (r.decode.value) {
        fill_decode(*r.decode.value, insp_);
        if (!r.decode.value->has_model_answer) insp_.answer_status = {Status::Unavailable, "the model has no chat template"};
      } else if (!r.decode.problem.empty()) {
        insp_.decoded_status = insp_.answer_status = {Status::Unavailable, r.decode.problem};
      }
      if (r.neighbors.value) {
        insp_.neighbours_generative.clear();
        insp_.neighbours_input.clear();
        for (auto& list : r.neighbors.value->per_mode) {
          auto& dst = list.mode == "generative" ? insp_.neighbours_generative : insp_.neighbours_input;
          for (auto& h : list.hits) {
            std::string label;
            if (size_t(h.index) < corpus_labels_.size() && corpus_labels_[size_t(h.index)] >= 0)
              label = corpus_label_names_[size_t(corpus_labels_[size_t(h.index)])];
            dst.push_back({h.text, label, float(h.similarity)});
          }
        }
        insp_.neighbours_status = Status::ready();
      } else if (!r.neighbors.problem.empty()) {
        insp_.neighbours_status = {Status::Unavailable, r.neighbors.problem};
      }
      set_markers(r);
    }
    if (snap.finished()) {
      // Parts the job never reached: say why (its error, or cancelled by a newer query).
      const std::string why = snap.state == runtime::JobState::Done ? "" : job_error(snap);
      auto fail_pending = [&](Status& s) {
        if (s.kind == Status::Running) s = why.empty() ? Status{Status::Idle, "—"} : Status{Status::Failed, why};
      };
      fail_pending(insp_.tokens_status);
      fail_pending(insp_.lens_status);
      fail_pending(insp_.answer_status);
      fail_pending(insp_.decoded_status);
      fail_pending(insp_.neighbours_status);
      if (!why.empty() && why != "cancelled") log("query: " + why);
      query_job_ = 0;
    } else {
      // Show the stage the job is in on the parts still waiting.
      for (auto* s : {&insp_.tokens_status, &insp_.lens_status, &insp_.answer_status, &insp_.decoded_status,
                      &insp_.neighbours_status})
        if (s->kind == Status::Running) s->text = snap.stage + "…";
    }
  }
  if (walk_ && walk_job_ && job_state(walk_job_) && snap.finished()) {
    std::lock_guard<std::mutex> lk(walk_->mu);
    if (walk_->walk.value) fill_walk(*walk_->walk.value, insp_);
    else insp_.walk_status = {Status::Failed, job_error(snap)};
    walk_job_ = 0;
  }
  if (latent_ && latent_job_ && job_state(latent_job_) && snap.finished()) {
    std::lock_guard<std::mutex> lk(latent_->mu);
    if (latent_->latent.value) fill_latent(*latent_->latent.value, insp_);
    else insp_.latent_status = {Status::Failed, latent_->latent.problem.empty() ? job_error(snap) : latent_->latent.problem};
    latent_job_ = 0;
  }
}

// ------------------------------------------------------------------ the maps

void StudioApp::project(const std::string& method_in) {
  const std::string method = method_in.empty() ? (map_state_.method == 1 ? "UMAP" : "PCA") : method_in;
  map_state_.method = method == "UMAP" ? 1 : 0;
  if (corpus_job_) {  // the corpus is still being read: project when it is in
    pending_project_ = method;
    map_.generative.status = map_.input.status = {Status::Running, "reading the corpus…"};
    return;
  }
  if (model_.empty() || corpus_texts_.empty()) {
    auto why = map_hint();
    if (why.kind == Status::Idle) why.kind = Status::Failed;
    map_.generative.status = map_.input.status = why;
    return;
  }
  auto res = std::make_shared<ProjectResults>();
  res->method = method;
  projection_ = res;
  gen_frame_seen_ = input_frame_seen_ = 0;
  const std::string model = model_, adapter = adapter_, maps = maps_dir_;
  const auto texts = std::make_shared<std::vector<std::string>>(corpus_texts_);
  const std::string instruction =
      insp_.presets.empty() ? "" : insp_.presets[size_t(std::clamp(insp_state_.preset, 0, int(insp_.presets.size()) - 1))].instruction;
  CoreSession* core = &core_;
  project_job_ = jobs_.start("project", [=](runtime::JobContext& ctx) {
    const int64_t n = int64_t(texts->size());
    // Embeddings: the workspace's (maps/emb-MODE.npy, row-aligned with the corpus) or encoded here.
    auto from_workspace = [&](const std::string& mode, analysis::Points& out) {
      fs::path p = fs::path(maps) / ("emb-" + mode + ".npy");
      if (maps.empty() || !fs::exists(p)) return false;
      out = load_points(p);
      if (out.rows != n) fail("{}: {} rows, but the corpus has {} texts", p.string(), out.rows, n);
      return true;
    };
    std::shared_ptr<const LoadedModel> m;
    auto model_handle = [&]() -> const LoadedModel& {
      if (!m) m = core->get(model, adapter, ctx);
      return *m;
    };
    bool loaded_input = from_workspace("mean", res->input_emb);
    bool loaded_gen = from_workspace("generative", res->gen_emb);
    res->source = loaded_input || loaded_gen ? "maps/emb-*.npy" : "encoded here";
    if (!loaded_input) {
      ctx.set_stage("encode (mean pool)", n, "texts");
      auto lk = core->compute();
      res->input_emb = encode(&ctx, model_handle(), *texts, "mean", instruction);
    }
    if (!loaded_gen) {
      if (adapter.empty()) {
        res->generative_problem = "Open an adapter or a run to see the generative map.";
      } else {
        ctx.set_stage("encode (generative)", n, "texts");
        auto lk = core->compute();
        res->gen_emb = encode(&ctx, model_handle(), *texts, "generative", instruction);
      }
    }
    res->has_generative = res->gen_emb.rows > 0;
    res->fits->instruction = instruction;
    // Embeddings from the workspace were made with its own instruction (maps/MODE.json,
    // as `genlens demo` writes it): a typed query is placed on the maps with the same one.
    if (loaded_gen || loaded_input) {
      const fs::path meta = fs::path(maps) / (loaded_gen ? "generative.json" : "mean.json");
      if (fs::exists(meta)) {
        auto j = io::read_json_file(meta);
        if (j.contains("instruction") && j["instruction"].is_string()) res->fits->instruction = j["instruction"];
      }
    }
    if (res->has_generative)
      res->fits->generative = fit_layout(res->gen_emb, method, "generative", res->gen_feed, ctx, res->gen_layout);
    res->fits->input = fit_layout(res->input_emb, method, "mean", res->input_feed, ctx, res->input_layout);
  });
  map_.method = method;
  map_.generative.status = {Status::Running, "starting…"};
  map_.input.status = {Status::Running, "starting…"};
  fits_.reset();
  map_.generative.data.notes.clear();  // the old regions' labels belong to the old layout
  map_.region_status = {Status::Idle, ""};
  log(fmt::format("project: encoding the corpus and laying it out ({})", method));
}

void StudioApp::open_layout(const std::string& npy) {
  auto path = npy;
  auto res = std::make_shared<ProjectResults>();
  res->method = "layout";
  projection_ = res;
  project_job_ = jobs_.start("project", [res, path](runtime::JobContext& ctx) {
    ctx.set_stage("read " + fs::path(path).filename().string());
    res->input_layout = load_points(path);
    if (res->input_layout.cols != 2 && res->input_layout.cols != 3)
      fail("{}: a layout has 2 columns (x, y) or 3 (x, y, label), found {}", path, res->input_layout.cols);
    res->gen_layout = res->input_layout;
    res->has_generative = true;
    res->source = path;
  });
  map_.generative.status = map_.input.status = {Status::Running, "reading the layout…"};
  log("layout: " + npy);
}

void StudioApp::poll_projection() {
  if (!projection_ || !project_job_) return;
  auto* j = jobs_.find(project_job_);
  if (!j) return;
  auto snap = j->snapshot();
  auto fill = [&](views::MapPanel& panel, const analysis::Points& layout) {
    panel.data.x.resize(size_t(layout.rows));
    panel.data.y.resize(size_t(layout.rows));
    for (int64_t i = 0; i < layout.rows; ++i) {
      panel.data.x[size_t(i)] = layout.at(i, 0);
      panel.data.y[size_t(i)] = layout.at(i, 1);
    }
    panel.data.label = corpus_labels_;
    panel.data.label.resize(size_t(layout.rows), -1);
    panel.data.label_names = corpus_label_names_;
    ++panel.data.version;
    panel.status = Status::ready();
  };
  // UMAP frames: the layout animates while the SGD runs.
  analysis::UmapFrame f;
  if (projection_->gen_feed.latest(gen_frame_seen_, f)) {
    fill(map_.generative, f.coords);
    map_.generative.title = fmt::format("generative · UMAP epoch {}/{}", f.epoch, f.n_epochs);
    map_state_.gen_view.fit = true;
  }
  if (projection_->input_feed.latest(input_frame_seen_, f)) {
    fill(map_.input, f.coords);
    map_.input.title = fmt::format("input-centric (mean pool) · UMAP epoch {}/{}", f.epoch, f.n_epochs);
    map_state_.input_view.fit = true;
  }
  if (!snap.finished()) {
    // umap_fit names its stages tersely; say what they are.
    static const std::pair<const char*, const char*> kUmap[] = {
        {"knn", "UMAP: nearest neighbours"}, {"graph", "UMAP: fuzzy graph"},
        {"init", "UMAP: spectral initialisation"}, {"optimize", "UMAP: optimising the layout"}};
    for (auto& [k, v] : kUmap)
      if (snap.stage == k) snap.stage = v;
    const std::string st = snap.stage + (snap.total > 0 ? fmt::format(" {}/{} {}", snap.done, snap.total, snap.unit) : "") + "…";
    if (map_.input.status.kind == Status::Running) map_.input.status.text = st;
    if (map_.generative.status.kind == Status::Running) map_.generative.status.text = st;
    return;
  }
  project_job_ = 0;
  auto& r = *projection_;
  if (snap.state != runtime::JobState::Done) {
    map_.generative.status = map_.input.status = {Status::Failed, job_error(snap)};
    log("project: " + job_error(snap));
    return;
  }
  const std::string method = r.method == "layout" ? "layout from .npy" : r.method;
  fill(map_.input, r.input_layout);
  map_.input.title = fmt::format("input-centric (mean pool) · {}", method);
  if (r.has_generative) {
    fill(map_.generative, r.gen_layout);
    map_.generative.title = fmt::format("generative · {}", method);
  } else {
    map_.generative.data = {};
    map_.generative.status = {Status::Unavailable, r.generative_problem};
  }
  if (r.method == "layout") {
    map_.input.title = map_.generative.title =
        fmt::format("{} points from {}", r.input_layout.rows, fs::path(r.source).filename().string());
    map_.texts.assign(size_t(r.input_layout.rows), "");
    std::vector<int> labels;
    std::vector<std::string> names;
    if (r.input_layout.cols == 3)  // third column: an integer label per point
      for (int64_t i = 0; i < r.input_layout.rows; ++i) {
        int l = int(r.input_layout.at(i, 2));
        labels.push_back(l);
        while (int(names.size()) <= l) names.push_back(fmt::format("cluster {}", names.size()));
      }
    map_.label_names = names;
    for (auto* p : {&map_.generative, &map_.input}) {
      p->data.label = labels;
      p->data.label_names = names;
    }
  }
  emb_input_ = r.input_emb.data;
  emb_dim_input_ = r.input_emb.cols;
  normalise_rows(emb_input_, emb_dim_input_);
  emb_gen_ = r.gen_emb.data;
  emb_dim_gen_ = r.gen_emb.cols;
  normalise_rows(emb_gen_, emb_dim_gen_);
  last_selection_.clear();
  if (r.method != "layout") fits_ = r.fits;
  map_state_.gen_view.fit = map_state_.input_view.fit = true;
  // A query inspected before these layouts existed: place it on them now.
  if (fits_ && query_ && query_fits_ != fits_) {
    map_.generative.data.has_marker = map_.input.data.has_marker = false;
    start_place_query();
  }
  log(fmt::format("project: {} points laid out ({}, embeddings {})", r.input_layout.rows, method, r.source));
  if (r.has_generative && r.method != "layout" && !adapter_.empty() && r.gen_layout.rows >= 3)
    start_region_labels(r.gen_layout, r.fits->instruction);
}

// ★ Cluster labels written by the embedding itself: each region of the generative map
// gets the words the logit lens of its members' compression tokens is dominated by.
void StudioApp::start_region_labels(const analysis::Points& layout, const std::string& instruction) {
  auto out = std::make_shared<std::vector<RegionLabel>>();
  region_labels_ = out;
  const std::string model = model_, adapter = adapter_;
  const auto texts = std::make_shared<std::vector<std::string>>(corpus_texts_);
  CoreSession* core = &core_;
  map_.region_status = {Status::Running, "labelling regions…"};
  region_job_ = jobs_.start("regions", [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    *out = run_region_labels(ctx, *m, layout, *texts, instruction, 10, 3);
  });
}

void StudioApp::poll_region_labels() {
  if (!region_job_) return;
  auto* j = jobs_.find(region_job_);
  if (!j) return;
  auto snap = j->snapshot();
  if (!snap.finished()) {
    map_.region_status.text = snap.total > 0 ? fmt::format("labelling regions {}/{}…", snap.done, snap.total)
                                             : std::string("labelling regions…");
    return;
  }
  region_job_ = 0;
  if (snap.state != runtime::JobState::Done) {
    map_.region_status = {Status::Failed, "region labels: " + job_error(snap)};
    return;
  }
  auto& notes = map_.generative.data.notes;
  notes.clear();
  for (auto& l : *region_labels_) {
    std::string text, weights;
    for (auto& w : l.words) {
      text += (text.empty() ? "" : " · ") + w.word;
      weights += fmt::format("\n  {}  {:.3f}", w.word, w.weight);
    }
    if (text.empty()) continue;
    // Which label the region's points mostly carry, for the tooltip.
    std::map<int, int> by_label;
    for (auto i : l.members)
      if (size_t(i) < corpus_labels_.size() && corpus_labels_[size_t(i)] >= 0) ++by_label[corpus_labels_[size_t(i)]];
    std::string most;
    if (!by_label.empty()) {
      auto top = std::max_element(by_label.begin(), by_label.end(), [](auto& a, auto& b) { return a.second < b.second; });
      most = fmt::format("\nmost points: {} ({} of {})", corpus_label_names_[size_t(top->first)], top->second, l.size);
    }
    notes.push_back({l.x, l.y, text,
                     fmt::format("a region of {} points; the words most over-represented in its compression tokens' "
                                 "logit lens compared with the other regions (c-TF-IDF weight):{}{}",
                                 l.size, weights, most)});
  }
  map_.region_status = Status::ready();
  log(fmt::format("map: {} regions labelled by the words over-represented in their compression tokens' logit lens",
                  notes.size()));
}

// ------------------------------------------------------------------ evaluation

void StudioApp::load_eval_results(const std::string& path) {
  auto pending = std::make_shared<views::CompareSnapshot>();
  eval_pending_ = pending;
  eval_job_ = jobs_.start("eval-results", [pending, path](runtime::JobContext& ctx) {
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

void StudioApp::run_eval() {
  if (model_.empty() || tasks_dir_.empty()) {
    cmp_.eval_status = {Status::Failed, "Needs a model and a tasks/ folder (open a workspace that has them)."};
    return;
  }
  analysis::EvalOptions o;
  o.model_dir = model_;
  o.adapter = adapter_;
  o.tasks_dir = tasks_dir_;
  o.modes = adapter_.empty() ? std::vector<std::string>{"mean", "last"} : std::vector<std::string>{"generative", "mean", "last"};
  o.out_dir = fs::path(workspace_.empty() ? fs::temp_directory_path().string() : workspace_) / "eval";
  const std::string out = (o.out_dir / "results.json").string();
  CoreSession* core = &core_;
  eval_job_ = jobs_.start("eval", [o, core](runtime::JobContext& ctx) {
    auto lk = core->compute();
    analysis::run_eval(o, &ctx);
  });
  eval_results_ = out;
  eval_pending_.reset();
  cmp_.eval_status = {Status::Running, "evaluating every task under every mode…"};
  log("eval: " + tasks_dir_ + " -> " + out);
}

void StudioApp::poll_jobs() {
  runtime::JobSnapshot s;
  auto finished = [&](int id) {
    auto* j = jobs_.find(id);
    if (!j) return false;
    s = j->snapshot();
    return s.finished();
  };
  poll_query();
  poll_projection();
  poll_place();
  poll_region_labels();
  if (eval_job_ && finished(eval_job_)) {
    eval_job_ = 0;
    if (s.state != runtime::JobState::Done) {
      cmp_.eval_status = {Status::Failed, job_error(s)};
    } else if (eval_pending_) {
      auto keep_sim = cmp_;
      cmp_.modes = eval_pending_->modes;
      cmp_.rows = eval_pending_->rows;
      cmp_.notes = eval_pending_->notes;
      cmp_.eval_status = Status::ready();
      cmp_.eval_source = eval_results_;
      eval_pending_.reset();
    } else {
      load_eval_results(eval_results_);  // `genlens eval` finished: read what it wrote
    }
  } else if (eval_job_) {
    if (auto* j = jobs_.find(eval_job_)) {
      auto snap = j->snapshot();
      if (cmp_.eval_status.kind == Status::Running && !snap.stage.empty())
        cmp_.eval_status.text = snap.stage + (snap.total > 0 ? fmt::format(" {}/{}", snap.done, snap.total) : "") + "…";
    }
  }
  if (corpus_job_ && finished(corpus_job_)) {
    corpus_job_ = 0;
    if (s.state == runtime::JobState::Done) {
      corpus_texts_ = std::move(*corpus_pending_texts_);
      corpus_label_names_.clear();
      corpus_labels_.clear();
      for (auto& l : *corpus_pending_labels_) {
        if (l.empty()) {
          corpus_labels_.push_back(-1);
          continue;
        }
        auto it = std::find(corpus_label_names_.begin(), corpus_label_names_.end(), l);
        if (it == corpus_label_names_.end()) it = corpus_label_names_.insert(corpus_label_names_.end(), l);
        corpus_labels_.push_back(int(it - corpus_label_names_.begin()));
      }
      map_.texts = corpus_texts_;
      map_.label_names = corpus_label_names_;
      ws_.corpus_rows = int64_t(corpus_texts_.size());
      ws_.corpus_labels = corpus_label_names_;
      log(fmt::format("corpus: {} texts, {} labels", corpus_texts_.size(), corpus_label_names_.size()));
      if (corpus_texts_.empty()) log(fmt::format("corpus: {} has no rows", corpus_));
      map_.generative.status = map_.input.status = map_hint();
      if (!pending_project_.empty()) project(pending_project_);
    } else {
      // Where the person looks: under the corpus row (Workspace) and on the maps.
      corpus_error_ = s.error;
      ws_.corpus_error = "cannot read the corpus: " + s.error;
      log("corpus: " + s.error);
      corpus_texts_.clear();
      map_.texts.clear();
      ws_.corpus_rows = 0;
      map_.generative.status = map_.input.status = map_hint();
    }
    pending_project_.clear();
  }
}

}  // namespace genlens::studio
