// The tuned-lens feature of the inspector: with the tuned lens chosen, one job reads the
// inspected query's lens through the open checkpoint's tuned lens (training one on the
// workspace's questions first when asked and none exists) and fills the snapshot the
// lens toggle and the KL plot draw (views/tuned_lens_panel.h).
#pragma once
#include <string>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "app/studio/studio_results.h"
#include "views/tuned_lens_panel.h"

namespace genlens::studio {

class TunedLensController {
 public:
  explicit TunedLensController(StudioContext& cx) : cx_(cx) {}

  // The tuned lens of `query` (when the tuned lens is chosen); `train`: make one first
  // when the checkpoint has none.
  void start(const std::string& query, const std::string& instruction, bool train);
  // A new query (or checkpoint): the cells no longer belong to what is shown.
  void query_changed();
  void poll();

  int job() const { return job_.id(); }
  const views::TunedLensSnapshot& snapshot() const { return snap_; }
  views::TunedLensState& ui() { return state_; }
  // "L0 logit 4.431 tuned 1.407; L1 ..." once ready, else the status line.
  std::string script_value() const;

 private:
  StudioContext& cx_;
  views::TunedLensSnapshot snap_;
  views::TunedLensState state_;
  Pending<QueryResults> job_;
};

}  // namespace genlens::studio
