// Attribution in the inspector: which input tokens the query's embedding leans on, by
// integrated gradients of the cosine to its own embedding (core/analysis/attribution.h),
// the token chips coloured on a diverging scale (red: moves the embedding toward itself
// from the baseline, blue: away), for the generative embedding or, side by side as a
// toggle, for mean pooling; each with its completeness (sum of scores against
// f(input) - f(baseline)).
#pragma once
#include <string>
#include <vector>

#include "views/view_common.h"
#include "views/widgets/token_strip.h"

namespace genlens::views {

struct AttributionSnapshot {
  struct Space {
    std::string name;              // "generative", "mean pool"
    std::vector<TokenChip> chips;  // the query's tokens, each with its score
    float scale = 0;               // the largest |score| (the legend's ends)
    std::string summary;           // "f(input) 1.000, f(baseline) 0.412, scores sum 0.588 (0.02% off)"
  };
  std::vector<Space> spaces;
  std::string baseline;  // "every token replaced by <pad> (id 0), 64 steps"
  Status status{Status::Idle, "Press Attribute to colour the tokens by how much the embedding leans on each."};
};

struct AttributionState {
  int space = 0;  // index into spaces
};

struct AttributionIntents {
  bool attribute = false;
  bool drew_tokens = false;  // the coloured chips stand in for the plain ones
};

AttributionIntents draw_attribution_panel(const AttributionSnapshot& snap, AttributionState& state, float width);

}  // namespace genlens::views
