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
  // The selection's cosines: per point (rows and columns ordered by label; empty above
  // kMaxPointMatrix points) and label x label means. Values already mapped to [0, 1] on
  // one scale for both spaces (the colour bar says which cosines 0 and 1 are).
  HeatmapData sim_generative, sim_input;
  HeatmapData sim_generative_labels, sim_input_labels;
  int sim_points = 0;                     // points selected
  std::string sim_scale;                  // what the colours mean
  Status sim_status;
};

struct CompareState {
  int sort_column = -1;  // -1 = as given; 0 task, 1 kind, 2.. modes, then gain
  bool ascending = true;
  HeatmapState heat_gen, heat_input;
  int by_label = -1;     // the label x label means: -1 = when over kAggregateAbove points, 0 no, 1 yes
};

// Past this many selected points the matrix is shown as label x label means by default;
// past kMaxPointMatrix there is no per-point matrix at all.
constexpr int kAggregateAbove = 150;
constexpr int kMaxPointMatrix = 400;

struct CompareIntents {
  bool run_eval = false;
  bool export_csv = false, export_markdown = false;
};

// The selection in matrix order: by label (in label order; unlabelled last), then index.
std::vector<int> order_by_label(const std::vector<int>& selection, const std::vector<int>& labels);
// Cosines of the `ordered` points (rows of `emb`, [N, dim], already unit length): raw
// cosines as values, groups per label, tooltips with both texts and their labels.
HeatmapData cosine_matrix(const std::vector<float>& emb, int64_t dim, const std::vector<int>& ordered,
                          const std::vector<int>& labels, const std::vector<std::string>& label_names,
                          const std::vector<std::string>& texts);
// Label x label mean cosine over the selection (a != b pairs on the diagonal), from the
// labels' mean vectors: O(N * dim), so any selection size.
HeatmapData label_mean_cosine(const std::vector<float>& emb, int64_t dim, const std::vector<int>& selection,
                              const std::vector<int>& labels, const std::vector<std::string>& label_names);
// Maps the raw cosines of every matrix onto one colour scale, from the lowest finite
// value (at most 0.999) to 1, and sets each one's colour bar; returns the low end.
float share_colour_scale(const std::vector<HeatmapData*>& matrices);

CompareIntents draw_compare_view(const CompareSnapshot& snap, CompareState& state);

// The row's gain in percent: the producer's when given, else the last mode over the first
// (sign flipped for lower-is-better metrics); NaN when undefined.
double gain_percent(const EvalRow& row);
// Row order for the state's sort (stable; NaN last).
std::vector<size_t> sorted_rows(const CompareSnapshot& snap, const CompareState& state);
std::string table_csv(const CompareSnapshot& snap);
std::string table_markdown(const CompareSnapshot& snap);

}  // namespace genlens::views
