#include "app/studio/tuned_lens_controller.h"

#include <fmt/format.h>

#include <filesystem>

#include "app/studio/lens_snapshot.h"
#include "core/data/corpus.h"
#include "core/util/error.h"
#include "views/view_common.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

void TunedLensController::start(const std::string& query, const std::string& instruction, bool train) {
  if (query.empty()) {
    snap_.status = {Status::Unavailable, "Inspect a query first."};
    return;
  }
  if (cx_.open.adapter.empty()) {
    snap_.status = {Status::Unavailable, "The tuned lens reads the special tokens: open a checkpoint or a run."};
    return;
  }
  // Training texts: the workspace's questions (the run's own data), else the open
  // corpus; the file is read by the job, off the UI thread.
  const fs::path responses =
      train && !cx_.open.workspace.empty() ? fs::path(cx_.open.workspace) / "responses.jsonl" : fs::path();
  auto corpus_texts = std::make_shared<std::vector<std::string>>(train ? cx_.corpus.texts : std::vector<std::string>());
  auto res = std::make_shared<QueryResults>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter;
  CoreSession* core = &cx_.core;
  job_.start(cx_.jobs, "tuned-lens", res, [=](runtime::JobContext& ctx) {
    std::vector<std::string> texts;
    if (train) {
      ctx.set_stage("read the training texts");
      texts = !responses.empty() && fs::exists(responses) ? data::read_texts(responses, "question") : *corpus_texts;
      if (texts.empty()) fail("training needs texts: open a workspace with responses.jsonl, or a corpus");
    }
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    res->publish(res->tuned_lens, run_tuned_lens(ctx, *m, query, instruction, texts));
  });
  snap_.status = {Status::Running, train ? "training the tuned lens…" : "reading the lens through the tuned lens…"};
  if (train) cx_.log("tuned lens: training on the workspace's questions (or the open corpus)");
}

void TunedLensController::query_changed() {
  job_.forget();
  const int kind = state_.kind;
  snap_ = views::TunedLensSnapshot{};
  state_.kind = kind;
}

void TunedLensController::poll() {
  auto snap = job_.finished(cx_.jobs, [&](const std::string& p) { snap_.status = {Status::Running, p}; });
  if (!snap) return;
  const auto* q = job_.result();
  if (!q || !q->tuned_lens.value) {
    const std::string why = job_error(*snap);
    // No lens yet is not a failure: say so beside the Train button.
    snap_.can_train = why.find("no tuned lens for this checkpoint") != std::string::npos;
    snap_.status = {snap_.can_train ? Status::Unavailable : Status::Failed,
                    snap_.can_train ? "none for this checkpoint yet: Train fits one on the workspace's questions" : why};
    return;
  }
  const auto& r = *q->tuned_lens.value;
  views::TunedLensSnapshot s;
  views::InspectorSnapshot grid;  // the lens's cells on the logit lens's grid
  fill_lens(r.lens, grid);
  s.cells = std::move(grid.lens);
  for (size_t i = 0; i < r.layers.size(); ++i) {
    s.layers.push_back(double(r.layers[i]));
    s.kl_logit.push_back(r.kl_logit[i]);
    s.kl_tuned.push_back(r.kl_tuned[i]);
  }
  s.about = fmt::format("trained on {} texts, {} held out; {}{}", r.train_texts, r.held_texts,
                        views::display_path(r.dir), r.trained_now ? " (trained just now)" : "");
  s.status = Status::ready();
  snap_ = std::move(s);
}

std::string TunedLensController::script_value() const {
  if (!snap_.status.is_ready()) return snap_.status.text;
  std::string out;
  for (size_t i = 0; i < snap_.layers.size(); ++i)
    out += fmt::format("{}L{} logit {:.3f} tuned {:.3f}", i ? "; " : "", int(snap_.layers[i]), snap_.kl_logit[i],
                       snap_.kl_tuned[i]);
  return out;
}

}  // namespace genlens::studio
