// Line plot on ImDrawList: several series, wheel zoom and drag pan (double-click fits),
// log-scale y, exponential-moving-average smoothing, a hover readout of every series at
// the x under the mouse, and a legend whose entries toggle series.
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;  // same length; x ascending
  int color = -1;            // category colour index (-1: by position)
};

struct LinePlotState {
  bool log_y = false;
  float smoothing = 0.0f;        // EMA weight of the past, 0 = raw, 0.99 = very smooth
  bool follow = true;            // refit to the data every frame (until the user zooms/pans)
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // the visible range when not following
  std::vector<bool> hidden;      // per series, toggled from the legend
  bool integer_x = false;        // x is a count (layers): ticks only at whole numbers
};

struct LinePlotResult {
  bool hovered = false;
  double hover_x = 0;  // data x under the mouse
};

// The EMA smoothing the plot applies (same as TensorBoard's, debiased), exposed for tests.
std::vector<double> smooth_ema(const std::vector<double>& y, float weight);

// The axes' ticks: round values (multiples of 1, 2 or 5 x 10^k) across [lo, hi], about
// `n` of them, and a tick's label (log_y: v is log10 of the value). Zero reads "0", never "-0".
std::vector<double> nice_ticks(double lo, double hi, int n);
std::string tick_label(double v, bool log_y);
// The labels of a linear axis' ticks in one format (decimals from the step between them).
std::vector<std::string> tick_labels(const std::vector<double>& ticks);
// A log axis' ticks (lo, hi and the result in log10): 1, 2, 5 x 10^k, or powers of ten.
std::vector<double> log_ticks(double lo, double hi, int n);

LinePlotResult draw_line_plot(const char* id, const std::vector<PlotSeries>& series, LinePlotState& state,
                              float width, float height, const char* x_label = "step");

}  // namespace genlens::views
