#include "app/studio/arithmetic_controller.h"

#include <fmt/format.h>

#include <cstdio>

namespace genlens::studio {

using views::Status;

void ArithmeticController::start(const std::string& expression, const std::string& instruction) {
  std::snprintf(state_.expression, sizeof state_.expression, "%s", expression.c_str());
  if (cx_.open.model.empty()) {
    snap_.status = {Status::Failed, "No model is open: open one in the Workspace tab first."};
    return;
  }
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter, corpus = cx_.open.corpus;
  const auto texts = std::make_shared<std::vector<std::string>>(cx_.corpus.texts);
  CoreSession* core = &cx_.core;
  job_.start(cx_.jobs, "arithmetic", res, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    res->publish(res->arithmetic, run_arithmetic(ctx, *m, *texts, corpus, expression, instruction));
  });
  snap_.status = {Status::Running, "decoding the point the expression names…"};
  cx_.log(fmt::format("arithmetic: {}", expression));
}

void ArithmeticController::add_term(const std::string& query) {
  if (query.empty()) return;
  std::string quoted = "\"";
  for (char c : query) quoted += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  quoted += "\"";
  const std::string now = state_.expression;
  const std::string next = now.empty() ? quoted : now + " + " + quoted;
  std::snprintf(state_.expression, sizeof state_.expression, "%s", next.c_str());
}

void ArithmeticController::poll() {
  auto snap = job_.finished(cx_.jobs, [&](const std::string& p) { snap_.status = {Status::Running, p}; });
  if (!snap) return;
  const auto* q = job_.result();
  if (!q || !q->arithmetic.value) {
    snap_.status = {Status::Failed, job_error(*snap)};
    return;
  }
  const auto& r = *q->arithmetic.value;
  views::ArithmeticSnapshot s;
  s.expression = r.expression;
  s.decoded = r.decoded;
  for (const auto& h : r.neighbours) {
    s.neighbours.push_back({h.text, cx_.corpus.label_of(h.index), float(h.similarity)});
  }
  s.status = Status::ready();
  snap_ = std::move(s);
}

}  // namespace genlens::studio
