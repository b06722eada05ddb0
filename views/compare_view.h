// Compare: the evaluation table (tasks x embedding modes, with the gain of the last mode
// over the first, sortable by any column, exportable as CSV or Markdown) and the cosine
// similarity matrix of a selection as heatmaps, generative next to input-centric.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "views/view_common.h"
#include "views/widgets/heatmap.h"

namespace genlens::views {

struct EvalRow {
  std::string task, kind, metric;  // "sts-demo", "STS", "spearman"
  std::vector<double> scores;      // one per mode (NaN = not run)
  double gain = NAN;               // percent, given by the producer (core: generative vs best
                                   // input-centric); NaN = last mode vs first
  bool lower_is_better = false;    // e.g. harmful@5
};

struct CompareSnapshot {
  std::vector<std::string> modes;  // e.g. {"mean", "generative"}: gain = last vs first
  std::vector<EvalRow> rows;
  Status eval_status;
  std::string eval_source;         // results.json shown
  std::vector<std::string> notes;  // e.g. modes the evaluation skipped, with why
  HeatmapData sim_generative, sim_input;  // values already mapped to [0, 1]
  std::string sim_scale;                  // what the colours mean
  Status sim_status;
};

struct CompareState {
  int sort_column = -1;  // -1 = as given; 0 task, 1 kind, 2.. modes, then gain
  bool ascending = true;
  HeatmapState heat_gen, heat_input;
};

struct CompareIntents {
  bool run_eval = false;
  bool export_csv = false, export_markdown = false;
};

CompareIntents draw_compare_view(const CompareSnapshot& snap, CompareState& state);

// The row's gain in percent: the producer's when given, else the last mode over the first
// (sign flipped for lower-is-better metrics); NaN when undefined.
double gain_percent(const EvalRow& row);
// Row order for the state's sort (stable; NaN last).
std::vector<size_t> sorted_rows(const CompareSnapshot& snap, const CompareState& state);
std::string table_csv(const CompareSnapshot& snap);
std::string table_markdown(const CompareSnapshot& snap);

}  // namespace genlens::views
