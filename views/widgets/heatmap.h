// Heatmap on ImDrawList: a rows x cols grid, cell colour from a value in [0, 1] (viridis),
// optional text per cell, row and column labels, a hover tooltip (caller-provided lines
// per cell), click to pin a cell (click again to unpin).
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

struct HeatmapData {
  int rows = 0, cols = 0;
  std::vector<float> value;               // rows*cols, row-major, in [0, 1] (NaN = empty)
  std::vector<std::string> cell_text;     // rows*cols or empty
  std::vector<std::string> row_labels, col_labels;
  std::vector<std::vector<std::string>> tooltip;  // rows*cols lines, or empty (then the value)
  std::string value_name = "value";
};

struct HeatmapState {
  int pinned_row = -1, pinned_col = -1;
};

struct HeatmapResult {
  int hovered_row = -1, hovered_col = -1;
  bool pin_changed = false;
};

// Cells share `width` (minus the row labels); `cell_h` 0 = one line of text plus padding.
HeatmapResult draw_heatmap(const char* id, const HeatmapData& data, HeatmapState& state, float width,
                           float cell_h = 0);

}  // namespace genlens::views
