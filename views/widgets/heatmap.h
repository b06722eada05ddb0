// Heatmap on ImDrawList: a rows x cols grid, cell colour from a value in [0, 1] (viridis),
// optional text per cell, row and column labels, groups of rows and columns (a line
// between groups and the group's name), an optional colour bar with its range, a hover
// tooltip (caller-provided lines per cell) and click to pin a cell (click again to unpin).
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

struct HeatmapGroup {
  int start = 0, count = 0;  // rows (or columns) start .. start + count - 1
  std::string name;
};

struct HeatmapData {
  int rows = 0, cols = 0;
  std::vector<float> value;               // rows*cols, row-major, in [0, 1] (NaN = empty)
  std::vector<std::string> cell_text;     // rows*cols or empty
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<std::string>> tooltip;  // rows*cols lines, or empty (then the value)
  std::string value_name = "value";
  // Runs of rows / columns that belong together (e.g. one label): separated by a line,
  // named beside the rows and above the columns. Empty: none.
  std::vector<HeatmapGroup> row_groups, col_groups;
  bool square = false;  // cells as tall as they are wide (a similarity matrix)
  // A colour bar under the grid: what 0 and 1 stand for ("0.62", "1.00") and what it is.
  bool colour_bar = false;
  std::string bar_lo, bar_hi, bar_title;
};

struct HeatmapState {
  int pinned_row = -1, pinned_col = -1;
};

struct HeatmapResult {
  int hovered_row = -1, hovered_col = -1;
  bool pin_changed = false;
};

// Cells share `width` (minus the row labels); `cell_h` 0 = one line of text plus padding
// (or the cell width for `square`). Cells are never narrower than `min_cell` pixels: a
// grid that does not fit is drawn wider than `width` (put it in a scrolling child).
HeatmapResult draw_heatmap(const char* id, const HeatmapData& data, HeatmapState& state, float width,
                           float cell_h = 0, float min_cell = 8);

// The size draw_heatmap will take for `width` (labels, groups and the colour bar included).
float heatmap_width(const HeatmapData& data, float width, float min_cell = 8);
float heatmap_height(const HeatmapData& data, float width, float cell_h = 0, float min_cell = 8);
// The `width` to draw a square-celled heatmap with so that it fits max_w x max_h (cells
// of at least min_cell: then it is larger, and scrolls).
float heatmap_fit_width(const HeatmapData& data, float max_w, float max_h, float min_cell = 8);

}  // namespace genlens::views
