#include "views/widgets/heatmap.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "views/view_common.h"
#include "views/widgets/palette.h"

namespace genlens::views {

namespace {

struct Geometry {
  float group_w = 0, label_w = 0, left = 0;  // row group names, row labels, both
  float group_h = 0, head_h = 0, top = 0;    // column group names, column labels, both
  float cw = 0, ch = 0;
  float grid_w = 0, grid_h = 0, bar_h = 0;
};

Geometry geometry(const HeatmapData& d, float width, float cell_h, float min_cell) {
  Geometry g;
  const float font = ImGui::GetFontSize();
  for (auto& l : d.row_labels) g.label_w = std::max(g.label_w, ImGui::CalcTextSize(l.c_str()).x);
  if (g.label_w > 0) g.label_w += 8;
  for (auto& r : d.row_groups) g.group_w = std::max(g.group_w, ImGui::CalcTextSize(r.name.c_str()).x);
  if (g.group_w > 0) g.group_w = std::min(g.group_w, font * 9) + 10;
  g.left = g.group_w + g.label_w;
  g.cw = d.cols > 0 ? std::max(min_cell, std::floor((width - g.left) / float(d.cols))) : 0;
  if (d.square) g.cw = std::min(g.cw, font * 4);  // a few points: cells of a readable size, not the panel's
  // Column labels only when they fit their columns (else the groups name them).
  float col_w = 0;
  for (auto& l : d.col_labels) col_w = std::max(col_w, ImGui::CalcTextSize(l.c_str()).x);
  g.head_h = d.col_labels.empty() || (!d.col_groups.empty() && col_w > g.cw - 2) ? 0 : font + 6;
  g.group_h = d.col_groups.empty() ? 0 : font + 6;
  g.top = g.group_h + g.head_h;
  g.ch = cell_h > 0 ? cell_h : d.square ? g.cw : font + 8;
  g.grid_w = g.cw * float(d.cols);
  g.grid_h = g.ch * float(d.rows);
  g.bar_h = d.colour_bar ? font * 2.2f : 0;
  return g;
}

}  // namespace

float heatmap_width(const HeatmapData& d, float width, float min_cell) {
  auto g = geometry(d, width, 0, min_cell);
  return g.left + g.grid_w;
}

float heatmap_height(const HeatmapData& d, float width, float cell_h, float min_cell) {
  auto g = geometry(d, width, cell_h, min_cell);
  return g.top + g.grid_h + g.bar_h;
}

float heatmap_fit_width(const HeatmapData& d, float max_w, float max_h, float min_cell) {
  if (d.rows == 0 || d.cols == 0) return max_w;
  const auto g = geometry(d, max_w, 0, min_cell);  // labels, groups and the bar do not depend on the width
  float cw = std::floor((max_w - g.left) / float(d.cols));
  if (d.square) cw = std::min(cw, std::floor((max_h - g.top - g.bar_h) / float(d.rows)));
  cw = std::max(cw, min_cell);
  return g.left + cw * float(d.cols) + 0.5f;
}

HeatmapResult draw_heatmap(const char* id, const HeatmapData& d, HeatmapState& st, float width, float cell_h,
                           float min_cell) {
  HeatmapResult res;
  ImGui::PushID(id);
  if (d.rows == 0 || d.cols == 0) {
    ImGui::TextDisabled("(empty)");
    ImGui::PopID();
    return res;
  }
  const float font = ImGui::GetFontSize();
  const Geometry g = geometry(d, width, cell_h, min_cell);
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const ImVec2 size(g.left + g.grid_w, g.top + g.grid_h + g.bar_h);
  ImGui::InvisibleButton("heat", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImU32 label_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const ImU32 group_col = ImGui::GetColorU32(ImGuiCol_Text);
  const ImVec2 grid0(p0.x + g.left, p0.y + g.top);
  ImGuiIO& io = ImGui::GetIO();
  std::string header_tip;  // a cut header under the mouse: its whole text

  // Only the cells inside the visible part of the window are drawn (a big matrix scrolls).
  const ImVec2 clip0 = dl->GetClipRectMin(), clip1 = dl->GetClipRectMax();
  const int c_lo = std::clamp(int(std::floor((clip0.x - grid0.x) / g.cw)), 0, d.cols);
  const int c_hi = std::clamp(int(std::ceil((clip1.x - grid0.x) / g.cw)), 0, d.cols);
  const int r_lo = std::clamp(int(std::floor((clip0.y - grid0.y) / g.ch)), 0, d.rows);
  const int r_hi = std::clamp(int(std::ceil((clip1.y - grid0.y) / g.ch)), 0, d.rows);

  // Column group names, then column labels.
  for (auto& grp : d.col_groups) {
    const float x0 = grid0.x + g.cw * float(grp.start), w = g.cw * float(grp.count);
    auto s = fit_text(grp.name, w - 4);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(x0 + (w - tw) * 0.5f, p0.y), group_col, s.c_str());
    if (s != grp.name && hovered && io.MousePos.x >= x0 && io.MousePos.x < x0 + w && io.MousePos.y >= p0.y &&
        io.MousePos.y < p0.y + g.group_h)
      header_tip = grp.name;
  }
  for (int c = std::max(0, c_lo); g.head_h > 0 && c < c_hi && c < int(d.col_labels.size()); ++c) {
    auto s = fit_text(d.col_labels[size_t(c)], g.cw - 2);
    if (s.empty() || s == "…") continue;  // no room: the groups (and the hover) say it
    const float tw = ImGui::CalcTextSize(s.c_str()).x, x0 = grid0.x + g.cw * float(c);
    dl->AddText(ImVec2(x0 + (g.cw - tw) * 0.5f, p0.y + g.group_h), label_col, s.c_str());
    if (s != d.col_labels[size_t(c)] && hovered && io.MousePos.x >= x0 && io.MousePos.x < x0 + g.cw &&
        io.MousePos.y >= p0.y + g.group_h && io.MousePos.y < grid0.y)
      header_tip = d.col_labels[size_t(c)];
  }
  // Row group names (centred on their rows, when there is room), then row labels.
  for (auto& grp : d.row_groups) {
    const float y0 = grid0.y + g.ch * float(grp.start), h = g.ch * float(grp.count);
    if (h < font * 0.8f) continue;
    auto s = fit_text(grp.name, g.group_w - 10);
    const float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(p0.x + g.group_w - 8 - tw, y0 + (h - font) * 0.5f), group_col, s.c_str());
    if (s != grp.name && hovered && io.MousePos.x >= p0.x && io.MousePos.x < p0.x + g.group_w && io.MousePos.y >= y0 &&
        io.MousePos.y < y0 + h)
      header_tip = grp.name;
  }
  for (int r = r_lo; r < r_hi && r < int(d.row_labels.size()); ++r) {
    const auto& l = d.row_labels[size_t(r)];
    const float y = grid0.y + g.ch * float(r);
    dl->AddText(ImVec2(grid0.x - 6 - ImGui::CalcTextSize(l.c_str()).x, y + (g.ch - font) * 0.5f), label_col, l.c_str());
  }

  // Cells.
  const float gap = g.cw >= 6 ? 1.0f : 0.0f;  // tiny cells: no gap, or the grid turns grey
  for (int r = r_lo; r < r_hi; ++r) {
    const float y = grid0.y + g.ch * float(r);
    for (int c = c_lo; c < c_hi; ++c) {
      const size_t k = size_t(r) * size_t(d.cols) + size_t(c);
      const float v = k < d.value.size() ? d.value[k] : NAN;
      const ImVec2 a(grid0.x + g.cw * float(c), y), b(a.x + g.cw - gap, y + g.ch - gap);
      const ImU32 bg = std::isfinite(v) ? value_color(std::clamp(v, 0.0f, 1.0f)) : IM_COL32(40, 40, 46, 255);
      dl->AddRectFilled(a, b, bg);
      if (k < d.cell_text.size() && !d.cell_text[k].empty() && g.cw > font) {
        auto s = fit_text(d.cell_text[k], g.cw - 6);
        const ImVec2 ts = ImGui::CalcTextSize(s.c_str());
        dl->AddText(ImVec2(a.x + (g.cw - gap - ts.x) * 0.5f, a.y + (g.ch - gap - ts.y) * 0.5f), text_on(bg), s.c_str());
      }
      if (r == st.pinned_row && c == st.pinned_col) dl->AddRect(a, b, IM_COL32(255, 80, 80, 255), 0, 0, 2.5f);
    }
  }
  // Group separators across the grid.
  const ImU32 sep = IM_COL32(255, 255, 255, 150);
  for (size_t i = 1; i < d.col_groups.size(); ++i) {
    const float x = grid0.x + g.cw * float(d.col_groups[i].start) - gap * 0.5f;
    dl->AddLine(ImVec2(x, p0.y), ImVec2(x, grid0.y + g.grid_h), sep, 1.5f);
  }
  for (size_t i = 1; i < d.row_groups.size(); ++i) {
    const float y = grid0.y + g.ch * float(d.row_groups[i].start) - gap * 0.5f;
    dl->AddLine(ImVec2(p0.x, y), ImVec2(grid0.x + g.grid_w, y), sep, 1.5f);
  }
  // The hovered cell.
  if (hovered && io.MousePos.x >= grid0.x && io.MousePos.y >= grid0.y) {
    const int c = int((io.MousePos.x - grid0.x) / g.cw), r = int((io.MousePos.y - grid0.y) / g.ch);
    if (c >= 0 && c < d.cols && r >= 0 && r < d.rows) {
      res.hovered_row = r, res.hovered_col = c;
      const ImVec2 a(grid0.x + g.cw * float(c), grid0.y + g.ch * float(r));
      dl->AddRect(a, ImVec2(a.x + g.cw - gap, a.y + g.ch - gap), IM_COL32(255, 255, 255, 220), 0, 0, 1.5f);
    }
  }
  // Colour bar: what the colours stand for.
  if (d.colour_bar) {
    const float by = grid0.y + g.grid_h + font * 0.5f, bh = font * 0.8f;
    const float bw = std::max(font * 8, std::min(g.grid_w, font * 14));
    const float bx = grid0.x;
    const ImU32 text = ImGui::GetColorU32(ImGuiCol_Text);
    const float lo_w = ImGui::CalcTextSize(d.bar_lo.c_str()).x;
    dl->AddText(ImVec2(bx, by - 1), text, d.bar_lo.c_str());
    const float x0 = bx + lo_w + 6;
    const int steps = 48;
    for (int i = 0; i < steps; ++i) {
      const float t0 = float(i) / steps;
      dl->AddRectFilled(ImVec2(x0 + bw * t0, by), ImVec2(x0 + bw * (float(i + 1) / steps) + 0.5f, by + bh),
                        value_color(t0));
    }
    dl->AddText(ImVec2(x0 + bw + 6, by - 1), text, d.bar_hi.c_str());
    const float hi_w = ImGui::CalcTextSize(d.bar_hi.c_str()).x;
    dl->AddText(ImVec2(x0 + bw + 6 + hi_w + font, by - 1), label_col, d.bar_title.c_str());
  }

  if (!header_tip.empty()) {
    ImGui::BeginTooltip();
    ImGui::TextUnformatted(header_tip.c_str());
    ImGui::EndTooltip();
  } else if (res.hovered_row >= 0) {
    const size_t k = size_t(res.hovered_row) * size_t(d.cols) + size_t(res.hovered_col);
    ImGui::BeginTooltip();
    ImGui::PushTextWrapPos(font * 34);
    if (res.hovered_row < int(d.row_labels.size()) && res.hovered_col < int(d.col_labels.size()))
      ImGui::TextDisabled("%s · %s", d.row_labels[size_t(res.hovered_row)].c_str(),
                          d.col_labels[size_t(res.hovered_col)].c_str());
    // A cell whose text was cut ("·inst…"): its whole text first.
    if (k < d.cell_text.size() && !d.cell_text[k].empty() && fit_text(d.cell_text[k], g.cw - 6) != d.cell_text[k])
      ImGui::TextUnformatted(d.cell_text[k].c_str());
    if (k < d.tooltip.size() && !d.tooltip[k].empty())
      for (auto& line : d.tooltip[k]) ImGui::TextUnformatted(line.c_str());
    else if (k < d.value.size())
      ImGui::Text("%s %.4f", d.value_name.c_str(), double(d.value[k]));
    ImGui::TextDisabled("click to %s",
                        res.hovered_row == st.pinned_row && res.hovered_col == st.pinned_col ? "unpin" : "pin");
    ImGui::PopTextWrapPos();
    ImGui::EndTooltip();
    if (ImGui::IsItemClicked()) {
      if (st.pinned_row == res.hovered_row && st.pinned_col == res.hovered_col) st.pinned_row = st.pinned_col = -1;
      else st.pinned_row = res.hovered_row, st.pinned_col = res.hovered_col;
      res.pin_changed = true;
    }
  }
  ImGui::PopID();
  return res;
}

}  // namespace genlens::views
