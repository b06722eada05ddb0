// The attribution feature of the inspector: one job computing integrated gradients of the
// inspected query's embedding (generative and mean pooling) over its input tokens, and
// the coloured-chips snapshot it fills in (views/attribution_panel.h).
#pragma once
#include <string>
#include <vector>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "app/studio/studio_results.h"
#include "views/attribution_panel.h"

namespace genlens::studio {

class AttributionController {
 public:
  explicit AttributionController(StudioContext& cx) : cx_(cx) {}

  // `chips`: the inspector's token chips of the same query (their byte spans and typed
  // text are kept when their ids are the attributed ones).
  void start(const std::string& query, const std::string& instruction, const std::vector<views::TokenChip>& chips);
  void poll();
  void query_changed();

  int job() const { return job_.id(); }
  const views::AttributionSnapshot& snapshot() const { return snap_; }
  views::AttributionState& ui() { return state_; }
  // "generative: top ·livid +0.31; mean: top ·rent +0.12", else the status line.
  std::string script_value() const;

 private:
  void fill(const AttributionResults& r);

  StudioContext& cx_;
  views::AttributionSnapshot snap_;
  views::AttributionState state_;
  std::vector<views::TokenChip> chips_;  // of the query being attributed
  Pending<QueryResults> job_;
};

}  // namespace genlens::studio
