#include "app/studio/inspector_controller.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "app/studio/lens_snapshot.h"
#include "genlens_paths.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

namespace {

std::vector<views::Preset> load_presets() {
  std::vector<views::Preset> out;
  std::ifstream f(fs::path(GENLENS_ASSETS_DIR) / "presets" / "instructions.json");
  auto j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_object() && j.contains("presets"))
    for (auto& p : j["presets"]) out.push_back({p.value("name", ""), p.value("instruction", "")});
  if (out.empty()) out.push_back({"none", ""});
  return out;
}

const Status kAblationIdle = {Status::Idle, "Press Ablate to remove the pinned cell and see what the embedding loses."};

}  // namespace

InspectorController::InspectorController(StudioContext& cx) : cx_(cx) {
  insp_.presets = load_presets();
  insp_.tokens_status = {Status::Idle, "Open a model (Workspace tab), then type a query."};
  insp_.answer_status = {Status::Idle, "—"};
  insp_.decoded_status = insp_.lens_status = insp_.neighbours_status = {Status::Idle, "—"};
  insp_.latent_status = {Status::Idle, "Click a lens cell to pin it."};
  insp_.walk_status = {Status::Idle, "Type a second query and press Walk."};
  insp_.ablation_status = kAblationIdle;
}

std::string InspectorController::instruction() const {
  if (insp_.presets.empty()) return "";
  return insp_.presets[size_t(std::clamp(insp_state_.preset, 0, int(insp_.presets.size()) - 1))].instruction;
}

namespace {
// The query's nearest corpus texts in both spaces (the generative one needs an adapter),
// as the query job and a corpus read after it both find them.
analysis::NeighborsResult query_neighbours(runtime::JobContext& ctx, CoreSession& core, const LoadedModel& m,
                                           const std::vector<std::string>& texts, const std::string& corpus,
                                           const std::string& query, const std::string& instruction) {
  ctx.set_stage("neighbours");
  auto lk = core.compute();
  std::vector<std::string> modes = {"mean"};
  if (has_adapter(m)) modes.insert(modes.begin(), "generative");
  return run_neighbors(ctx, m, texts, corpus, query, instruction, modes, 8);
}
}  // namespace

void InspectorController::inspect(const std::string& query, MapController& map) {
  std::snprintf(insp_state_.query, sizeof insp_state_.query, "%s", query.c_str());
  if (cx_.open.model.empty()) {
    insp_.tokens_status = {Status::Failed, "No model is open: open one in the Workspace tab first."};
    return;
  }
  const std::string instruction = this->instruction();
  auto res = std::make_shared<QueryResults>();
  res->query = query;
  res->instruction = instruction;
  query_seen_ = 0;
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, corpus = cx_.open.corpus;
  const auto texts = std::make_shared<std::vector<std::string>>(cx_.corpus.texts);
  // A corpus still being read: its neighbours come when it is in (corpus_read).
  const bool corpus_pending = texts->empty() && cx_.corpus.loading;
  neighbours_after_corpus_ = corpus_pending;
  neighbours_.forget();
  // The layouts the query job places it on (none yet: the map places it when they are in).
  const auto fits = map.query_inspected(query);
  CoreSession* core = &cx_.core;
  query_.start(cx_.jobs, "query", res, [=](runtime::JobContext& ctx) {
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
      res->publish(res->decode, run_decode(*m, query, instruction, 48, [&](const analysis::DecodeResult& so_far) {
        ctx.check_cancel();  // a newer query stops this one between tokens
        res->publish(res->decode, so_far, /*partial=*/true);
      }));
    } else {
      res->problem(res->decode, "Open an adapter (a checkpoint or a run) to decode from the soft prompts.");
    }
    // The query on the maps, in the spaces they were fitted on.
    if (fits) place_on_maps(ctx, *core, *m, *fits, query, "place on the ", *res);
    if (!texts->empty()) {
      res->publish(res->neighbors, query_neighbours(ctx, *core, *m, *texts, corpus, query, instruction));
    } else {
      res->problem(res->neighbors, corpus_pending ? "The corpus is still being read: its nearest texts follow."
                                                  : "Open a corpus (Workspace tab) to see the nearest texts.");
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
  insp_.ablation_status = kAblationIdle;
  insp_state_.heat.pinned_row = insp_state_.heat.pinned_col = -1;
  latent_pin_.clear();
  insp_.tokens_status = {Status::Running, "loading the model…"};
  insp_.lens_status = insp_.answer_status = insp_.decoded_status = insp_.neighbours_status = {Status::Running, "waiting…"};
  cx_.log("inspect: " + query);
}

void InspectorController::walk(const std::string& to) {
  std::snprintf(insp_state_.walk_to, sizeof insp_state_.walk_to, "%s", to.c_str());
  const std::string from = insp_state_.query;
  if (cx_.open.model.empty() || from.empty() || to.empty()) {
    insp_.walk_status = {Status::Failed, "Type a query above and a second query to walk to."};
    return;
  }
  const std::string instruction = query_.result() ? query_.result()->instruction : "";
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter;
  CoreSession* core = &cx_.core;
  walk_.start(cx_.jobs, "walk", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    ctx.set_stage("interpolate", 5, "steps");
    auto lk = core->compute();
    res->publish(res->walk, run_walk(*m, from, to, instruction, 5, 32));
    ctx.set_done(5);
  });
  insp_.walk.clear();
  insp_.walk_status = {Status::Running, "decoding 5 points between the two queries…"};
  cx_.log(fmt::format("walk: {} -> {}", from, to));
}

void InspectorController::pin_lens_cell(int row, int col) {
  insp_state_.heat.pinned_row = row;
  insp_state_.heat.pinned_col = col;
  start_latent();
}

bool InspectorController::pinned_cell(int64_t& layer, std::string& label) const {
  const auto& h = insp_state_.heat;
  if (h.pinned_row < 0 || h.pinned_col < 0 || size_t(h.pinned_row) >= insp_.lens_layers.size() ||
      size_t(h.pinned_col) >= insp_.lens_positions.size())
    return false;
  layer = std::stoll(insp_.lens_layers[size_t(h.pinned_row)].substr(1));  // rows read "L3"
  label = insp_.lens_positions[size_t(h.pinned_col)];
  return true;
}

void InspectorController::ablate() {
  const auto* q = query_.result();
  int64_t layer = 0;
  std::string label;
  if (!q || !pinned_cell(layer, label)) return;
  if (label.empty() || (label[0] != 'T' && label[0] != 'C')) {
    insp_.ablation_status = {Status::Unavailable, "Pin a thought (T) or compression (C) cell: those are what is ablated."};
    return;
  }
  const int k = insp_state_.ablation_kind;
  const std::string kind = k == 2 ? "patch" : k == 1 ? "mean" : "zero";
  if (kind == "mean" && cx_.corpus.texts.empty()) {
    insp_.ablation_status = {Status::Unavailable, "The corpus mean needs an open corpus (Workspace tab)."};
    return;
  }
  const std::string contrast = kind == "patch" ? std::string(insp_state_.walk_to) : "";
  if (kind == "patch" && contrast.empty()) {
    insp_.ablation_status = {Status::Unavailable, "A patch takes B's state: type a second query in the walk box first."};
    return;
  }
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, corpus = cx_.open.corpus,
                    query = q->query, instruction = q->instruction;
  const auto texts = std::make_shared<std::vector<std::string>>(cx_.corpus.texts);
  CoreSession* core = &cx_.core;
  ablation_.start(cx_.jobs, "ablate", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    res->publish(res->ablation,
                 run_ablation(ctx, *m, *texts, corpus, query, instruction, layer, label, kind, contrast));
  });
  insp_.ablation_status = {Status::Running, fmt::format("{} {} at layer {}…", kind == "patch" ? "patching" : "ablating",
                                                       label, layer)};
  cx_.log(fmt::format("{}: {} at layer {} ({})", kind == "patch" ? "patch" : "ablate", label, layer,
                      kind == "patch" ? "from " + contrast : kind));
}

void InspectorController::start_latent() {
  const auto& h = insp_state_.heat;
  const auto* q = query_.result();
  if (h.pinned_row < 0 || h.pinned_col < 0 || !q) return;
  const std::string key = fmt::format("{}/{}", h.pinned_row, h.pinned_col);
  if (key == latent_pin_) return;
  latent_pin_ = key;
  insp_.latent.clear();
  insp_.ablation_status = kAblationIdle;
  if (cx_.open.latent_index.empty()) {
    insp_.latent_status = {Status::Unavailable,
                           "No latent index in this workspace (build one: genlens latent-index --model M --corpus "
                           "responses.jsonl --out WORKSPACE/latent)."};
    return;
  }
  int64_t layer = 0;
  std::string label;
  if (!pinned_cell(layer, label)) return;
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, index = cx_.open.latent_index,
                    query = q->query, instruction = q->instruction;
  CoreSession* core = &cx_.core;
  latent_.start(cx_.jobs, "latent", res, [=](runtime::JobContext& ctx) {
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

void InspectorController::poll(MapController& map) {
  poll_query(map);
  if (auto* a = ablation_.result(); a && ablation_.waiting()) {
    auto snap = ablation_.poll(cx_.jobs);
    if (snap && snap->finished()) {
      std::lock_guard<std::mutex> lk(a->mu);
      if (a->ablation.value) {
        const auto& r = *a->ablation.value;
        insp_.ablation_title = fmt::format("{} at layer {}, {}", r.position, r.layer,
                                           r.kind == "zero"    ? "zeroed"
                                           : r.kind == "patch" ? "patched from B"
                                                               : "replaced by the corpus mean");
        insp_.ablation_cosine = float(r.cosine);
        insp_.ablation_decoded = r.decoded;
        insp_.ablation_bars.clear();
        for (size_t i = 0; i < r.labels.size() && i < r.importance.size(); ++i)
          insp_.ablation_bars.push_back({r.labels[i], float(r.importance[i]), r.labels[i] == r.position});
        // The lens rows are layers 0..L: past the last layer only the compression positions are read.
        insp_.ablation_note = r.layer + 1 == int64_t(insp_.lens_layers.size())
                                  ? "After the last layer only the compression tokens are read: the thought tokens "
                                    "cannot matter there."
                                  : "";
        insp_.ablation_neighbours.clear();
        for (const auto& h : r.neighbours)
          insp_.ablation_neighbours.push_back({h.text, cx_.corpus.label_of(h.index), float(h.similarity)});
        insp_.ablation_status = Status::ready();
      } else {
        insp_.ablation_status = {Status::Failed, job_error(*snap)};
      }
    }
  }
  if (auto* n = neighbours_.result(); n && neighbours_.waiting()) {
    auto snap = neighbours_.poll(cx_.jobs);
    if (snap && snap->finished()) {
      std::lock_guard<std::mutex> lk(n->mu);
      if (n->neighbors.value) show_neighbours(*n->neighbors.value);
      else if (snap->state != runtime::JobState::Cancelled) insp_.neighbours_status = {Status::Failed, job_error(*snap)};
    }
  }
  if (auto* w = walk_.result(); w && walk_.waiting()) {
    auto snap = walk_.poll(cx_.jobs);
    if (snap && snap->finished()) {
      std::lock_guard<std::mutex> lk(w->mu);
      if (w->walk.value) fill_walk(*w->walk.value, insp_);
      else insp_.walk_status = {Status::Failed, job_error(*snap)};
    }
  }
  if (auto* l = latent_.result(); l && latent_.waiting()) {
    auto snap = latent_.poll(cx_.jobs);
    if (snap && snap->finished()) {
      std::lock_guard<std::mutex> lk(l->mu);
      if (l->latent.value) fill_latent(*l->latent.value, insp_);
      else insp_.latent_status = {Status::Failed, l->latent.problem.empty() ? job_error(*snap) : l->latent.problem};
    }
  }
}

void InspectorController::show_neighbours(const analysis::NeighborsResult& n) {
  insp_.neighbours_generative.clear();
  insp_.neighbours_input.clear();
  for (auto& list : n.per_mode) {
    auto& dst = list.mode == "generative" ? insp_.neighbours_generative : insp_.neighbours_input;
    for (auto& h : list.hits) dst.push_back({h.text, cx_.corpus.label_of(h.index), float(h.similarity)});
  }
  insp_.neighbours_status = Status::ready();
}

void InspectorController::corpus_read() {
  // A query inspected while the corpus was still being read: its nearest texts now.
  if (!neighbours_after_corpus_ || insp_.query_shown.empty() || cx_.corpus.texts.empty() || cx_.open.model.empty())
    return;
  neighbours_after_corpus_ = false;
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, corpus = cx_.open.corpus,
                    query = insp_.query_shown, instruction = this->instruction();
  const auto texts = std::make_shared<std::vector<std::string>>(cx_.corpus.texts);
  CoreSession* core = &cx_.core;
  insp_.neighbours_status = {Status::Running, "neighbours…"};
  neighbours_.start(cx_.jobs, "neighbours", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    res->publish(res->neighbors, query_neighbours(ctx, *core, *m, *texts, corpus, query, instruction));
  });
}

void InspectorController::poll_query(MapController& map) {
  auto* q = query_.result();
  if (!q) return;
  auto polled = query_.poll(cx_.jobs);
  if (!polled) return;
  const auto& snap = *polled;
  {
    std::lock_guard<std::mutex> lk(q->mu);
    auto& r = *q;
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
      if (r.decode.value && r.decode.partial) {
        // Streaming: the text so far under a running status that counts the tokens.
        const auto& d = *r.decode.value;
        insp_.decoded = d.from_embedding.text;
        if (!d.has_model_answer) {
          insp_.decoded_status = {Status::Running, fmt::format("decoding from the embedding… {} tokens", d.from_embedding.ids.size())};
        } else {
          fill_decode(d, insp_);
          insp_.answer_status = {Status::Running, fmt::format("answering… {} tokens", d.model_answer.ids.size())};
        }
      } else if (r.decode.value) {
        fill_decode(*r.decode.value, insp_);
        if (!r.decode.value->has_model_answer) insp_.answer_status = {Status::Unavailable, "the model has no chat template"};
      } else if (!r.decode.problem.empty()) {
        insp_.decoded_status = insp_.answer_status = {Status::Unavailable, r.decode.problem};
      }
      if (r.neighbors.value) {
        show_neighbours(*r.neighbors.value);
      } else if (!r.neighbors.problem.empty() && !neighbours_.waiting() && !insp_.neighbours_status.is_ready()) {
        // (Unless the corpus came in meanwhile and its own job has them or is on it.)
        insp_.neighbours_status = {Status::Unavailable, r.neighbors.problem};
      }
      map.mark_query(r);
    }
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
    if (!why.empty() && why != "cancelled") cx_.log("query: " + why);
  } else {
    // Show the stage the job is in on the parts still waiting (a streaming text keeps
    // its token count).
    for (auto* s : {&insp_.tokens_status, &insp_.lens_status, &insp_.neighbours_status})
      if (s->kind == Status::Running) s->text = snap.stage + "…";
    if (insp_.answer_status.kind == Status::Running && insp_.answer.empty()) insp_.answer_status.text = snap.stage + "…";
    if (insp_.decoded_status.kind == Status::Running && insp_.decoded.empty()) insp_.decoded_status.text = snap.stage + "…";
  }
}

}  // namespace genlens::studio
