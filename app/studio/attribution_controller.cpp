#include "app/studio/attribution_controller.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace genlens::studio {

using views::Status;

void AttributionController::start(const std::string& query, const std::string& instruction,
                                  const std::vector<views::TokenChip>& chips) {
  if (query.empty()) {
    snap_.status = {Status::Unavailable, "Inspect a query first: its tokens are what is attributed."};
    return;
  }
  chips_ = chips;
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter;
  CoreSession* core = &cx_.core;
  job_.start(cx_.jobs, "attribute", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    res->publish(res->attribution, run_attribution(ctx, *m, query, instruction));
  });
  snap_.status = {Status::Running, "integrated gradients over the query's tokens…"};
  cx_.log(fmt::format("attribute: {}", query));
}

void AttributionController::query_changed() {
  job_.forget();
  snap_ = views::AttributionSnapshot{};
}

void AttributionController::poll() {
  auto snap = job_.finished(cx_.jobs, [&](const std::string& p) { snap_.status = {Status::Running, p}; });
  if (!snap) return;
  const auto* q = job_.result();
  if (q && q->attribution.value) fill(*q->attribution.value);
  else snap_.status = {Status::Failed, job_error(*snap)};
}

void AttributionController::fill(const AttributionResults& r) {
  views::AttributionSnapshot s;
  s.baseline = fmt::format("every token replaced by {} (id {}), {} steps", r.baseline_piece, r.baseline_id, r.steps);
  for (const auto& sp : r.spaces) {
    views::AttributionSnapshot::Space v;
    v.name = sp.mode == "mean" ? "mean pool" : sp.mode;
    // The inspector's chips (typed text, byte spans) when they are these tokens; else the pieces.
    const bool same = chips_.size() == sp.ids.size() &&
                      std::equal(sp.ids.begin(), sp.ids.end(), chips_.begin(),
                                 [](int32_t id, const views::TokenChip& c) { return c.id == id; });
    for (size_t i = 0; i < sp.ids.size(); ++i) {
      views::TokenChip c;
      if (same) c = chips_[i];
      else c.id = sp.ids[i], c.piece = sp.pieces[i];
      c.score = float(sp.scores[i]);
      v.scale = std::max(v.scale, std::fabs(c.score));
      v.chips.push_back(std::move(c));
    }
    double sum = 0;
    for (double x : sp.scores) sum += x;
    v.summary = fmt::format("f = cosine to the query's own embedding: f(input) {:.3f}, f(baseline) {:.3f}; the scores "
                            "sum to {:.4f} ({:.2f}% off f(input) - f(baseline))",
                            sp.f_input, sp.f_baseline, sum, 100.0 * sp.completeness_rel);
    s.spaces.push_back(std::move(v));
  }
  s.status = Status::ready();
  snap_ = std::move(s);
}

std::string AttributionController::script_value() const {
  if (!snap_.status.is_ready()) return snap_.status.text;
  std::string out;
  for (const auto& sp : snap_.spaces) {
    const auto top = std::max_element(sp.chips.begin(), sp.chips.end(),
                                      [](const auto& a, const auto& b) { return a.score < b.score; });
    if (top == sp.chips.end()) continue;
    out += fmt::format("{}{}: top {} {:+.4f}", out.empty() ? "" : "; ", sp.name, views::visible_piece(top->piece),
                       double(top->score));
  }
  return out;
}

}  // namespace genlens::studio
