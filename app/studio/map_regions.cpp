// ★ Cluster labels written by the embedding itself: each region of the generative map
// gets the words the logit lens of its members' compression tokens is dominated by.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "app/studio/map_controller.h"

namespace genlens::studio {

using views::Status;

void MapController::start_region_labels(const analysis::Points& layout, const std::string& instruction) {
  auto out = std::make_shared<std::vector<RegionLabel>>();
  const std::string model = cx_.open.model, adapter = cx_.open.adapter;
  const auto texts = std::make_shared<std::vector<std::string>>(cx_.corpus.texts);
  CoreSession* core = &cx_.core;
  map_.region_status = {Status::Running, "labelling regions…"};
  regions_.start(cx_.jobs, "regions", out, [=](runtime::JobContext& ctx) {
    auto m = core->get(model, adapter, ctx);
    auto lk = core->compute();
    *out = run_region_labels(ctx, *m, layout, *texts, instruction, 10, 3);
  });
}

void MapController::poll_region_labels() {
  auto snap = regions_.poll(cx_.jobs);
  if (!snap) return;
  if (!snap->finished()) {
    map_.region_status.text = snap->total > 0 ? fmt::format("labelling regions {}/{}…", snap->done, snap->total)
                                              : std::string("labelling regions…");
    return;
  }
  if (snap->state != runtime::JobState::Done) {
    map_.region_status = {Status::Failed, "region labels: " + job_error(*snap)};
    return;
  }
  const auto& labels = cx_.corpus.labels;
  auto& notes = map_.generative.data.notes;
  notes.clear();
  for (auto& l : *regions_.result()) {
    std::string text, weights;
    for (auto& w : l.words) {
      text += (text.empty() ? "" : " · ") + w.word;
      weights += fmt::format("\n  {}  {:.3f}", w.word, w.weight);
    }
    if (text.empty()) continue;
    // Which label the region's points mostly carry, for the tooltip.
    std::map<int, int> by_label;
    for (auto i : l.members)
      if (size_t(i) < labels.size() && labels[size_t(i)] >= 0) ++by_label[labels[size_t(i)]];
    std::string most;
    if (!by_label.empty()) {
      auto top = std::max_element(by_label.begin(), by_label.end(), [](auto& a, auto& b) { return a.second < b.second; });
      most = fmt::format("\nmost points: {} ({} of {})", cx_.corpus.label_names[size_t(top->first)], top->second, l.size);
    }
    notes.push_back({l.x, l.y, text,
                     fmt::format("a region of {} points; the words most over-represented in its compression tokens' "
                                 "logit lens compared with the other regions (c-TF-IDF weight):{}{}",
                                 l.size, weights, most)});
  }
  map_.region_status = Status::ready();
  cx_.log(fmt::format("map: {} regions labelled by the words over-represented in their compression tokens' logit lens",
                      notes.size()));
}

}  // namespace genlens::studio
