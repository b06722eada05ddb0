// Scatter plot on ImDrawList: points coloured by label (legend entries toggle labels),
// wheel zoom / right-drag pan / double-click fit, hover picks the nearest point, click
// picks one, left-drag draws a selection box. Selection lives in the caller's state so
// two scatters can share it (linked selection). Past `density_above` visible points the
// plot draws a density grid (cells tinted by their most common label) instead of points.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace genlens::views {

struct ScatterData {
  std::vector<float> x, y;             // layout, one entry per point
  std::vector<int> label;              // per point; empty or -1 = unlabelled
  std::vector<std::string> label_names;
  bool has_marker = false;             // an extra point drawn on top (the typed query)
  float marker_x = 0, marker_y = 0;
  std::string marker_text;             // shown beside it (keep it short)
  std::string marker_tooltip;          // on hover of the marker or its text (the whole query)
  struct Note {
    float x = 0, y = 0;                // the anchor: a point of the thing labelled
    std::string text;
    std::string tooltip;               // on hover ("" = none)
  };
  // On-map labels (e.g. the words over-represented in a region), most important first:
  // placed so that none overlaps another or the marker's text; one that finds no free
  // place near its anchor is left out (hover its anchor's points to see them anyway).
  std::vector<Note> notes;
  uint64_t version = 0;                // bumped by the owner whenever x/y/label change (GL buffers key on it)
};

struct ScatterView {
  bool fit = true;
  float cx = 0, cy = 0, scale = 1;  // data centre and pixels per data unit
  size_t on_screen = 0;             // visible points last frame: picks points or density
  // Hover cache: the nearest-point search (O(N)) reruns only when the mouse, the view or
  // the data moved.
  float hover_mx = -1, hover_my = -1, hover_cx = 0, hover_cy = 0, hover_scale = 0;
  uint64_t hover_version = ~uint64_t(0);
  int hover_point = -1;
  // Data bounds for `fit`, recomputed when the data's version or size changes.
  uint64_t bounds_version = ~uint64_t(0);
  size_t bounds_n = 0;
  float bx0 = 0, bx1 = 0, by0 = 0, by1 = 0;
};

// Draws many points outside ImDrawList: the studio installs an OpenGL point-sprite
// renderer (app/studio/gl_points.h) that keeps the layout in a vertex buffer, so pan and
// zoom only change a transform. The scatter hands it the points and the transform; it
// adds a draw callback to the draw list. Headless (tests) there is none: ImDrawList draws.
class PointRenderer {
 public:
  struct Transform {
    float clip_x0, clip_y0, clip_x1, clip_y1;  // screen rectangle of the plot
    float cx, cy, scale, mid_x, mid_y;         // screen = mid + (data - c) * scale, y up
    float point_px;                            // point diameter in pixels
  };
  virtual ~PointRenderer() = default;
  virtual void draw(void* im_draw_list, const char* id, const ScatterData& data, const std::vector<uint8_t>& selected,
                    const std::vector<bool>& hidden_labels, const Transform& t) = 0;
};
// nullptr: ImDrawList only. `min_points`: from how many points the renderer is used.
void set_point_renderer(PointRenderer* r, size_t min_points = 20000);

struct ScatterResult {
  int hovered = -1;            // point under the mouse
  int clicked = -1;            // point clicked (no drag)
  bool selection_changed = false;
};

// `selected`: one flag per point (resized by the widget), shared between linked plots.
// `hidden_labels`: one flag per label name (resized by the widget).
ScatterResult draw_scatter(const char* id, const ScatterData& data, ScatterView& view,
                           std::vector<uint8_t>& selected, std::vector<bool>& hidden_labels, float width,
                           float height, int density_above = 60000);

// Points whose layout lies inside the data-space box (any corner order); for scripts and tests.
std::vector<int> points_in_box(const ScatterData& data, float x0, float y0, float x1, float y1);

// Where on-map labels go: for each request (its anchor and its text's size, in screen
// pixels, most important first) the top-left corner of its box -- above the anchor, else
// below, right, left or diagonal, then twice as far -- inside `bounds` and overlapping
// neither a `reserved` box nor an earlier label's; `placed` false when no place was free.
struct LabelBox {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool overlaps(const LabelBox& o, float pad = 0) const {
    return x0 < o.x1 + pad && o.x0 < x1 + pad && y0 < o.y1 + pad && o.y0 < y1 + pad;
  }
};
struct LabelRequest {
  float ax = 0, ay = 0, w = 0, h = 0;
};
struct LabelPlacement {
  bool placed = false;
  LabelBox box;
};
// `covered` (optional): how many points a box would hide; among the free places the one
// hiding the fewest is taken (the nearer one on a tie).
std::vector<LabelPlacement> place_labels(const std::vector<LabelRequest>& requests, const LabelBox& bounds,
                                         const std::vector<LabelBox>& reserved, float gap,
                                         const std::function<int(const LabelBox&)>& covered = nullptr);

// Draws a legend with one toggle per label; returns true when a toggle changed.
bool draw_label_legend(const std::vector<std::string>& names, std::vector<bool>& hidden_labels);

}  // namespace genlens::views
