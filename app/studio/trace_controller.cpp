#include "app/studio/trace_controller.h"

#include <fmt/format.h>

#include <cmath>

#include "views/widgets/token_strip.h"

namespace genlens::studio {

using views::Status;

void TraceController::start(const std::string& query, const std::string& instruction, const std::string& b,
                            bool noise) {
  if (query.empty()) {
    snap_.status = {Status::Unavailable, "Inspect a query first: the trace patches its cells."};
    return;
  }
  if (!noise && b.empty()) {
    snap_.status = {Status::Unavailable, "Type a second query in the walk box first: the cells are patched from it."};
    return;
  }
  const std::string contrast = noise ? "" : b;
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter;
  CoreSession* core = &cx_.core;
  trace_.start(cx_.jobs, "trace", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    res->publish(res->trace, run_trace(ctx, *m, query, instruction, contrast));
  });
  snap_.status = {Status::Running, contrast.empty() ? "tracing: noising the query's words, restoring one cell at a time…"
                                                    : "tracing: patching one cell at a time from B…"};
  cx_.log(contrast.empty() ? fmt::format("trace: {} (noised words restored)", query)
                           : fmt::format("trace: {} <- {}", query, contrast));
}

void TraceController::query_changed() {
  trace_.forget();
  snap_ = views::TraceSnapshot{};
  state_.heat = {};
}

void TraceController::poll() {
  auto snap = trace_.finished(cx_.jobs, [&](const std::string& p) { snap_.status = {Status::Running, "tracing: " + p}; });
  if (!snap) return;
  const auto* q = trace_.result();
  if (q && q->trace.value) {
    fill(*q->trace.value);
  } else {
    snap_.status = {Status::Failed, job_error(*snap)};
  }
}

void TraceController::fill(const TraceResults& r) {
  views::TraceSnapshot s;
  s.title = r.mode == "contrast"
                ? fmt::format("each cell of the query (A) given B's state there; effect = how far A's embedding moves "
                              "toward B's (cosine A·B {:.3f})",
                              r.cos_base_source)
                : "the query with its words noised, one clean cell restored at a time; effect = how much of the "
                  "clean embedding comes back";
  for (int64_t l : r.layers) s.layers.push_back(fmt::format("L{}", l));
  // Columns in runs of one kind, each run a heatmap group (input / thought / compression).
  for (size_t p = 0; p < r.positions.size(); ++p) {
    const auto& pos = r.positions[p];
    s.positions.push_back(pos.kind == analysis::PositionKind::Ordinary ? views::visible_piece(pos.label) : pos.label);
    const char* group = pos.kind == analysis::PositionKind::Thought       ? "thought"
                        : pos.kind == analysis::PositionKind::Compression ? "compression"
                                                                          : "query";
    if (s.position_groups.empty() || s.position_groups.back().name != group)
      s.position_groups.push_back({int(p), 0, group});
    ++s.position_groups.back().count;
  }
  s.effect.assign(s.layers.size() * s.positions.size(), NAN);
  for (size_t l = 0; l < r.effect.size(); ++l)
    for (size_t p = 0; p < r.effect[l].size() && p < s.positions.size(); ++p)
      s.effect[l * s.positions.size() + p] = float(r.effect[l][p]);
  if (r.strongest_layer >= 0)
    s.strongest = fmt::format("{} at layer {}: effect {:.3f}", r.strongest_position, r.strongest_layer,
                              r.strongest_effect);
  // Where the answer is decided: the first layer at which one cell alone carries half the move.
  auto first = [](int64_t l) { return l < 0 ? std::string("none") : fmt::format("layer {}", l); };
  s.decided = fmt::format("first layer where one cell alone has effect 0.5 or more: compression tokens {}, thought "
                          "tokens {}",
                          first(r.first_compression), first(r.first_thought));
  if (r.mode != "contrast") {
    s.base_name = "the noised query";
    s.source_name = "the clean query";
  }
  s.decoded_base = r.decoded_base;
  s.decoded_source = r.decoded_source;
  s.decoded_strongest = r.decoded_strongest;
  s.notes = r.notes;
  s.cost = fmt::format("{} batched forwards, {:.1f} s", r.forwards, r.seconds);
  s.status = Status::ready();
  snap_ = std::move(s);
}

std::string TraceController::script_value() const {
  if (!snap_.status.is_ready()) return snap_.status.text;
  return fmt::format("{}x{} cells; strongest {}", snap_.layers.size(), snap_.positions.size(), snap_.strongest);
}

}  // namespace genlens::studio
