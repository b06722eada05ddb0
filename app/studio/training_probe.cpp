// ★ The training probe: at each checkpoint of the open run, the probe query's logit
// lens and decoded text (core_bridge run_probe), kept as a timeline by step.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "app/studio/training_controller.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

void TrainingController::set_probe(const std::string& query) {
  std::snprintf(train_state_.probe, sizeof train_state_.probe, "%s", query.c_str());
  probe_entered();
}

void TrainingController::poll_probe(const std::string& shown, const std::string& typed_query) {
  // The probe is the inspected query until the person types one of their own.
  if (!probe_typed_ && !shown.empty() && shown != train_state_.probe) {
    std::snprintf(train_state_.probe, sizeof train_state_.probe, "%s", shown.c_str());
    probe_submit_ = true;
  }
  const auto& texts = cx_.corpus.texts;
  if (train_state_.probe[0] == 0 && !train_.run_dir.empty()) {
    // A sensible first probe: the inspected query, else the corpus's first text.
    const std::string first = !typed_query.empty() ? typed_query : texts.empty() ? std::string() : texts.front();
    std::snprintf(train_state_.probe, sizeof train_state_.probe, "%s", first.c_str());
  }
  // A new probe (Enter in its field, or the first one): a new timeline.
  if ((probe_submit_ || probe_query_.empty()) && probe_query_ != train_state_.probe) {
    probe_query_ = train_state_.probe;
    probed_.clear();
    train_.probes.clear();
    train_state_.probe_index = -1;
    probe_.forget();  // a running one's result is dropped
    probe_.drop_result();
  }
  probe_submit_ = false;
  if (probe_.waiting()) {
    auto snap = probe_.poll(cx_.jobs);
    if (!snap || !snap->finished()) return;
    const auto* frame = probe_.result();
    if (snap->state == runtime::JobState::Done && frame) {
      auto& v = train_.probes;
      auto at = std::upper_bound(v.begin(), v.end(), frame->step,
                                 [](int64_t s, const views::ProbeFrame& f) { return s < f.step; });
      v.insert(at, *frame);
      train_.probe_status = Status::ready();
    } else if (snap->state == runtime::JobState::Failed) {
      train_.probe_status = {Status::Failed, "probe: " + (snap->error.empty() ? std::string("failed") : snap->error)};
    }
    probe_.drop_result();
  }
  const std::string model = !cx_.open.model.empty() ? cx_.open.model : std::string(train_state_.form.model);
  if (probe_query_.empty() || train_.run_dir.empty() || train_.checkpoints.empty()) return;
  if (model.empty()) {
    train_.probe_status = {Status::Unavailable, "Open the run's model (Workspace tab) to probe its checkpoints."};
    return;
  }
  for (auto& c : train_.checkpoints) {
    const std::string dir = (fs::path(train_.run_dir) / c).string();
    if (std::find(probed_.begin(), probed_.end(), dir) != probed_.end()) continue;
    probed_.push_back(dir);
    int64_t step = 0;
    if (auto dash = c.rfind('-'); dash != std::string::npos) step = std::atoll(c.c_str() + dash + 1);
    auto frame = std::make_shared<views::ProbeFrame>();
    frame->step = step;
    const std::string query = probe_query_;
    CoreSession* core = &cx_.core;
    probe_.start(cx_.jobs, "probe", frame, [=](runtime::JobContext& ctx) {
      auto m = core->get(model, dir, ctx);
      auto lk = core->compute();
      ctx.set_stage(fmt::format("probe at step {}", step));
      auto r = run_probe(*m, query, "", 6, 32);
      frame->lens_words = r.words;
      frame->decoded = r.decoded;
    });
    train_.probe_status = {Status::Running, fmt::format("probing checkpoint {}…", c)};
    return;
  }
}

}  // namespace genlens::studio
