// The causal trace feature of the inspector: one job that patches every (layer, position)
// cell of the inspected query from a source (the walk's second query, or the query with
// its words noised) and the heatmap snapshot it fills in (views/trace_panel.h).
#pragma once
#include <string>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "app/studio/studio_results.h"
#include "views/trace_panel.h"

namespace genlens::studio {

class TraceController {
 public:
  explicit TraceController(StudioContext& cx) : cx_(cx) {}

  // Traces `query` (as inspected, with its instruction) from `contrast`, or with `noise`
  // from the query itself with its words noised (contrast ignored).
  void start(const std::string& query, const std::string& instruction, const std::string& contrast, bool noise);
  void poll();
  // A new query was inspected: the old trace no longer belongs to what is shown.
  void query_changed();

  int job() const { return trace_.id(); }
  const views::TraceSnapshot& snapshot() const { return snap_; }
  views::TraceState& ui() { return state_; }
  // "C3 at layer 2: effect 0.81; compression passes 0.5 at layer 1", else the status line.
  std::string script_value() const;

 private:
  void fill(const TraceResults& r);

  StudioContext& cx_;
  views::TraceSnapshot snap_;
  views::TraceState state_;
  Pending<QueryResults> trace_;
};

}  // namespace genlens::studio
