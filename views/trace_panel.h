// Causal trace panel (in the inspector, under the logit lens): a layers x positions
// heatmap of how far patching one residual-stream cell moves the inspected query's
// generative embedding toward a source's (core/analysis/trace.h): the walk's second
// query, or the query itself with its words noised (ROME). Hover a cell for its effect;
// the strongest cell's decoded text and where the answer is decided are written below.
#pragma once
#include <string>
#include <vector>

#include "views/view_common.h"
#include "views/widgets/heatmap.h"

namespace genlens::views {

struct TraceSnapshot {
  std::string title;                        // what was patched from what, in words
  std::vector<std::string> layers;          // rows: "L0" (embeddings) .. "L<n>"
  std::vector<std::string> positions;       // columns: input pieces, T0.., C0..
  std::vector<HeatmapGroup> position_groups;  // input / thought / compression runs
  std::vector<float> effect;                // rows*cols (NaN = not traced)
  std::string strongest;                    // "C3 at layer 2: effect 0.81"
  std::string decoded_base, decoded_source, decoded_strongest;
  std::string base_name = "the query (A)", source_name = "B";  // what the two runs are
  std::string decided;                      // "compression tokens pass 0.5 at layer 1; thought tokens: never"
  std::vector<std::string> notes;           // what was skipped or noised
  std::string cost;                         // "12 batched forwards, 3.1 s"
  Status status{Status::Idle, "Press Trace to patch every cell of the inspected query from the source on the left."};
};

struct TraceState {
  int source = 0;  // 0: the walk's second query (B); 1: the query with its words noised
  HeatmapState heat;
};

struct TraceIntents {
  bool trace = false;  // run the trace with state.source
};

// The trace as heatmap input: value = effect clipped to [0, 1] (the tooltip has the
// exact value, which can fall outside), text = the effect to two places.
HeatmapData trace_heatmap(const TraceSnapshot& snap);

// `walk_to`: the second query typed in the walk box ("" = none yet; the B source then
// says how to get one).
TraceIntents draw_trace_panel(const TraceSnapshot& snap, TraceState& state, const std::string& walk_to, float width);

}  // namespace genlens::views
