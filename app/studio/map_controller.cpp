#include "app/studio/map_controller.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

struct MapController::ProjectResults {
  std::string method;
  analysis::LayoutFeed gen_feed, input_feed;  // UMAP frames while the SGD runs
  analysis::Points gen_emb, input_emb;
  analysis::Points gen_layout, input_layout;
  std::shared_ptr<MapFits> fits = std::make_shared<MapFits>();
  bool has_generative = false;
  std::string generative_problem;  // why there is no generative map
  std::string source;              // "encoded here" / "maps/emb-*.npy"
};

namespace {

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

void place_on_maps(runtime::JobContext& ctx, CoreSession& core, const LoadedModel& m, const MapFits& fits,
                   const std::string& query, const std::string& stage, QueryResults& res) {
  for (auto* f : {&fits.generative, &fits.input}) {
    auto& part = f == &fits.generative ? res.place_generative : res.place_input;
    if (!f->ok || (f->mode == "generative" && !has_adapter(m))) {
      res.problem(part, "no map");
      continue;
    }
    ctx.set_stage(stage + f->mode + " map");
    analysis::Points q;
    {
      auto lk = core.compute();
      q = encode(nullptr, m, {query}, f->mode, fits.instruction);
    }
    res.publish(part, place(*f, q));
  }
}

MapController::MapController(StudioContext& cx) : cx_(cx) {
  map_.method = "PCA";
  map_.generative.title = "generative";
  map_.input.title = "input-centric (mean pool)";
  show_hint();
}

views::Status MapController::hint() const {
  const auto& c = cx_.corpus;
  const auto& o = cx_.open;
  if (!c.error.empty()) return {Status::Failed, "The corpus could not be read: " + views::display_path(c.error)};
  if (c.loading) return {Status::Running, "reading the corpus…"};
  if (!o.corpus.empty() && c.texts.empty())
    return {Status::Failed, fmt::format("The corpus {} has no rows: nothing to lay out (one JSON object per line, "
                                        "with \"text\")", views::display_path(o.corpus))};
  if (o.model.empty() && o.corpus.empty()) return {Status::Idle, "Open a model and a corpus (Workspace tab), then press Project."};
  if (o.model.empty()) return {Status::Idle, "Open a model (Workspace tab), then press Project."};
  if (o.corpus.empty()) return {Status::Idle, "Open a corpus (Workspace tab), then press Project."};
  return {Status::Idle, "Press Project to encode and lay out the corpus."};
}

std::string MapController::corpus_read(bool ok) {
  if (ok) {
    map_.texts = cx_.corpus.texts;
    map_.label_names = cx_.corpus.label_names;
  } else {
    map_.texts.clear();
  }
  show_hint();
  std::string method = ok ? pending_project_ : std::string();
  pending_project_.clear();
  return method;
}

void MapController::project(const std::string& method_in, const std::string& instruction) {
  const std::string method = method_in.empty() ? (map_state_.method == 1 ? "UMAP" : "PCA") : method_in;
  map_state_.method = method == "UMAP" ? 1 : 0;
  if (cx_.corpus.loading) {  // the corpus is still being read: project when it is in
    pending_project_ = method;
    map_.generative.status = map_.input.status = {Status::Running, "reading the corpus…"};
    return;
  }
  if (cx_.open.model.empty() || cx_.corpus.texts.empty()) {
    auto why = hint();
    if (why.kind == Status::Idle) why.kind = Status::Failed;
    map_.generative.status = map_.input.status = why;
    return;
  }
  auto res = std::make_shared<ProjectResults>();
  res->method = method;
  gen_frame_seen_ = input_frame_seen_ = 0;
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, maps = cx_.open.maps_dir;
  const auto texts = std::make_shared<std::vector<std::string>>(cx_.corpus.texts);
  CoreSession* core = &cx_.core;
  projection_.start(cx_.jobs, "project", res, [=](runtime::JobContext& ctx) {
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
  cx_.log(fmt::format("project: encoding the corpus and laying it out ({})", method));
}

void MapController::open_layout(const std::string& npy) {
  auto path = npy;
  auto res = std::make_shared<ProjectResults>();
  res->method = "layout";
  projection_.start(cx_.jobs, "project", res, [res, path](runtime::JobContext& ctx) {
    ctx.set_stage("read " + fs::path(path).filename().string());
    res->input_layout = load_points(path);
    if (res->input_layout.cols != 2 && res->input_layout.cols != 3)
      fail("{}: a layout has 2 columns (x, y) or 3 (x, y, label), found {}", path, res->input_layout.cols);
    res->gen_layout = res->input_layout;
    res->has_generative = true;
    res->source = path;
  });
  map_.generative.status = map_.input.status = {Status::Running, "reading the layout…"};
  cx_.log("layout: " + npy);
}

void MapController::poll() {
  poll_projection();
  poll_place();
  poll_region_labels();
}

void MapController::poll_projection() {
  if (!projection_.result()) return;
  auto polled = projection_.poll(cx_.jobs);
  if (!polled) return;
  auto snap = *polled;
  auto fill = [&](views::MapPanel& panel, const analysis::Points& layout) {
    panel.data.x.resize(size_t(layout.rows));
    panel.data.y.resize(size_t(layout.rows));
    for (int64_t i = 0; i < layout.rows; ++i) {
      panel.data.x[size_t(i)] = layout.at(i, 0);
      panel.data.y[size_t(i)] = layout.at(i, 1);
    }
    panel.data.label = cx_.corpus.labels;
    panel.data.label.resize(size_t(layout.rows), -1);
    panel.data.label_names = cx_.corpus.label_names;
    ++panel.data.version;
    panel.status = Status::ready();
  };
  auto& r = *projection_.result();
  // UMAP frames: the layout animates while the SGD runs.
  analysis::UmapFrame f;
  if (r.gen_feed.latest(gen_frame_seen_, f)) {
    fill(map_.generative, f.coords);
    map_.generative.title = fmt::format("generative · UMAP epoch {}/{}", f.epoch, f.n_epochs);
    map_state_.gen_view.fit = true;
  }
  if (r.input_feed.latest(input_frame_seen_, f)) {
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
  if (snap.state != runtime::JobState::Done) {
    map_.generative.status = map_.input.status = {Status::Failed, job_error(snap)};
    cx_.log("project: " + job_error(snap));
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
  emb_.input = r.input_emb.data;
  emb_.dim_input = r.input_emb.cols;
  normalise_rows(emb_.input, emb_.dim_input);
  emb_.generative = r.gen_emb.data;
  emb_.dim_generative = r.gen_emb.cols;
  normalise_rows(emb_.generative, emb_.dim_generative);
  ++emb_.version;
  if (r.method != "layout") fits_ = r.fits;
  map_state_.gen_view.fit = map_state_.input_view.fit = true;
  // A query inspected before these layouts existed: place it on them now.
  if (fits_ && query_ && query_fits_ != fits_) {
    map_.generative.data.has_marker = map_.input.data.has_marker = false;
    start_place_query();
  }
  cx_.log(fmt::format("project: {} points laid out ({}, embeddings {})", r.input_layout.rows, method, r.source));
  if (r.has_generative && r.method != "layout" && !cx_.open.adapter.empty() && r.gen_layout.rows >= 3)
    start_region_labels(r.gen_layout, r.fits->instruction);
}

// ------------------------------------------------------------------ the inspected query

std::shared_ptr<const MapFits> MapController::query_inspected(const std::string& query) {
  query_ = query;
  query_fits_ = fits_;  // the layouts the query job places it on (none yet: placed when they are in)
  map_.generative.data.has_marker = map_.input.data.has_marker = false;
  return fits_;
}

// The inspected query on the maps (a white triangle; its text cut short, whole on hover).
void MapController::mark_query(const QueryResults& r) {
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
void MapController::start_place_query() {
  if (!query_ || !fits_ || query_fits_ == fits_ || cx_.open.model.empty()) return;
  query_fits_ = fits_;
  auto res = std::make_shared<QueryResults>();
  res->query = *query_;
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, query = *query_;
  auto fits = fits_;
  CoreSession* core = &cx_.core;
  place_.start(cx_.jobs, "place", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    place_on_maps(ctx, *core, *m, *fits, query, "place the query on the ", *res);
  });
}

void MapController::poll_place() {
  auto snap = place_.poll(cx_.jobs);
  if (!snap || !snap->finished()) return;
  auto* res = place_.result();
  if (!res || !query_ || res->query != *query_) return;  // another query since
  std::lock_guard<std::mutex> lk(res->mu);
  if (snap->state == runtime::JobState::Done) mark_query(*res);
  else cx_.log("place the query on the maps: " + job_error(*snap));
}

// ------------------------------------------------------------------ selection

void MapController::select_box(float x0, float y0, float x1, float y1, bool fractions) {
  const auto& d = map_.generative.data.x.empty() ? map_.input.data : map_.generative.data;
  if (fractions && !d.x.empty()) {  // corners as fractions of the layout's extent (0,0 = bottom left)
    auto [xa, xb] = std::minmax_element(d.x.begin(), d.x.end());
    auto [ya, yb] = std::minmax_element(d.y.begin(), d.y.end());
    auto lx = [&](float f) { return *xa + f * (*xb - *xa); };
    auto ly = [&](float f) { return *ya + f * (*yb - *ya); };
    x0 = lx(x0), x1 = lx(x1), y0 = ly(y0), y1 = ly(y1);
  }
  auto idx = views::points_in_box(d, x0, y0, x1, y1);
  map_state_.selected.assign(map_.texts.size(), 0);
  for (int i : idx) map_state_.selected[size_t(i)] = 1;
  cx_.log(fmt::format("selected {} points", idx.size()));
}

bool MapController::select_region(int k) {
  const auto* labels = regions_.result();
  if (!labels || regions_.waiting() || k < 0 || size_t(k) >= labels->size()) return false;
  map_state_.selected.assign(map_.texts.size(), 0);
  const auto& r = (*labels)[size_t(k)];
  for (auto i : r.members)
    if (size_t(i) < map_state_.selected.size()) map_state_.selected[size_t(i)] = 1;
  std::string words;
  for (auto& w : r.words) words += (words.empty() ? "" : " · ") + w.word;
  cx_.log(fmt::format("selected region {} ({} points: {})", k, r.members.size(), words));
  return true;
}

void MapController::export_selection() {
  auto path = fs::path(cx_.open.corpus).replace_extension("").string() + "-selection.jsonl";
  std::string rows;
  for (int i : views::selected_indices(map_state_))
    rows += nlohmann::json{{"index", i}, {"text", map_.texts[size_t(i)]}}.dump() + "\n";
  try {
    io::write_file_atomic(path, rows);
    cx_.log("selection written to " + path);
  } catch (const std::exception& e) {
    cx_.log(fmt::format("could not write the selection: {}", e.what()));
  }
}

void MapController::nudge(int k) {
  for (auto* v : {&map_state_.gen_view, &map_state_.input_view}) {
    v->fit = false;
    v->scale *= (k / 40) % 2 ? 0.985f : 1.015f;  // in for 40 frames, out for 40 (within 1.8x)
    v->cx += float((k % 80) < 40 ? 1 : -1) * 2.0f / v->scale;  // and 2 pixels sideways a frame
  }
}

std::optional<std::string> MapController::script_value(const std::string& key) const {
  if (key == "markers") return std::to_string(int(map_.generative.data.has_marker) + int(map_.input.data.has_marker));
  if (key == "regions") return std::to_string(map_.generative.data.notes.size());
  if (key == "selected") return std::to_string(views::selected_indices(map_state_).size());
  if (key == "map-status") return map_.generative.status.text + " | " + map_.input.status.text;
  return std::nullopt;
}

}  // namespace genlens::studio
