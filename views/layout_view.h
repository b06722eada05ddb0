// The studio's layout frame: main menu bar, workspace sidebar, central panel area,
// and a log strip at the bottom. Panels draw inside the rectangles it hands out.
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

// One line of the sidebar: what it is ("model"), which one ("demo-lm · 4 layers"), and
// on hover the whole path.
struct SidebarItem {
  std::string kind, value, tooltip;
};

struct LayoutSnapshot {
  std::string workspace_name;             // "(no workspace)" when none
  std::vector<SidebarItem> workspace_items;  // model, adapter, run, corpus
  std::vector<std::string> log_lines;
};

struct LayoutState {
  bool show_about = false;
  bool request_quit = false;
  int selected_item = -1;
  float sidebar_width = 260.0f;
  float log_height = 140.0f;
};

// Draws the frame for a display of the given size; returns the central rectangle
// (x, y, w, h) where the main panels go.
struct Rect {
  float x = 0, y = 0, w = 0, h = 0;
};
Rect draw_layout(const LayoutSnapshot& snap, LayoutState& state, float display_w, float display_h);

}  // namespace genlens::views
