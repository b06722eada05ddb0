// The lens kind in the inspector: the logit lens, or the tuned lens (per-layer affine
// translators fitted to the model's own output, core/analysis/tuned_lens.h) of the open
// checkpoint, trained here when it has none; with the tuned lens, the KL-to-the-last-
// layer per layer of both lenses on held-out texts as a plot under the heatmap.
#pragma once
#include <string>
#include <vector>

#include "views/inspector_view.h"
#include "views/view_common.h"
#include "views/widgets/line_plot.h"

namespace genlens::views {

struct TunedLensSnapshot {
  std::vector<LensCell> cells;  // the inspected query's lens read through it (the logit lens's grid)
  std::vector<double> layers, kl_logit, kl_tuned;
  std::string about;  // "trained on 952 texts, KL measured on 238 held out; ~/…/tuned-lens"
  bool can_train = false;  // no lens for this checkpoint yet
  Status status{Status::Idle, ""};
};

struct TunedLensState {
  int kind = 0;  // 0: logit lens, 1: tuned lens
  LinePlotState plot = [] {
    LinePlotState p;
    p.integer_x = true;
    return p;
  }();
};

struct TunedLensIntents {
  bool kind_changed = false;
  bool train = false;
};

// The toggle (and, with the tuned lens chosen, its status or the Train button), on the
// lens header line.
TunedLensIntents draw_lens_kind(const TunedLensSnapshot& snap, TunedLensState& state);
// The cells to draw in place of the logit lens's (null: the logit lens's).
const std::vector<LensCell>* tuned_cells(const TunedLensSnapshot& snap, const TunedLensState& state);
// Under the heatmap with the tuned lens chosen: KL per layer, logit vs tuned.
void draw_kl_plot(const TunedLensSnapshot& snap, TunedLensState& state, float width);

}  // namespace genlens::views
