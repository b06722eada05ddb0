#include "views/widgets/heatmap.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "views/widgets/palette.h"

namespace genlens::views {

namespace {
// Shortens `s` with an ellipsis until it fits `w` pixels.
std::string fit_text(const std::string& s, float w) {
  if (ImGui::CalcTextSize(s.c_str()).x <= w) return s;
  std::string t = s;
  while (!t.empty()) {
    do t.pop_back();
    while (!t.empty() && (static_cast<unsigned char>(t.back()) & 0xC0) == 0x80);  // whole UTF-8 chars
    if (!t.empty()) t.pop_back();
    if (ImGui::CalcTextSize((t + "…").c_str()).x <= w) return t + "…";
  }
  return "";
}
}  // namespace

HeatmapResult draw_heatmap(const char* id, const HeatmapData& d, HeatmapState& st, float width, float cell_h) {
  HeatmapResult res;
  ImGui::PushID(id);
  const float font = ImGui::GetFontSize();
  float label_w = 0;
  for (auto& l : d.row_labels) label_w = std::max(label_w, ImGui::CalcTextSize(l.c_str()).x);
  label_w += 8;
  const float head_h = d.col_labels.empty() ? 0 : font + 6;
  const float cw = d.cols > 0 ? std::max(8.0f, (width - label_w) / float(d.cols)) : 0;
  const float ch = cell_h > 0 ? cell_h : font + 8;
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImVec2 size(label_w + cw * float(d.cols), head_h + ch * float(d.rows));
  if (d.rows == 0 || d.cols == 0) {
    ImGui::TextDisabled("(empty)");
    ImGui::PopID();
    return res;
  }
  ImGui::InvisibleButton("heat", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImU32 label_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  for (int c = 0; c < d.cols && c < int(d.col_labels.size()); ++c) {
    auto s = fit_text(d.col_labels[size_t(c)], cw - 2);
    float tw = ImGui::CalcTextSize(s.c_str()).x;
    dl->AddText(ImVec2(p0.x + label_w + cw * c + (cw - tw) * 0.5f, p0.y), label_col, s.c_str());
  }
  ImGuiIO& io = ImGui::GetIO();
  for (int r = 0; r < d.rows; ++r) {
    float y = p0.y + head_h + ch * r;
    if (r < int(d.row_labels.size())) {
      const auto& l = d.row_labels[size_t(r)];
      dl->AddText(ImVec2(p0.x + label_w - 6 - ImGui::CalcTextSize(l.c_str()).x, y + (ch - font) * 0.5f), label_col,
                  l.c_str());
    }
    for (int c = 0; c < d.cols; ++c) {
      size_t k = size_t(r) * size_t(d.cols) + size_t(c);
      float v = k < d.value.size() ? d.value[k] : NAN;
      ImVec2 a(p0.x + label_w + cw * c, y), b(a.x + cw - 1, y + ch - 1);
      ImU32 bg = std::isfinite(v) ? value_color(v) : IM_COL32(40, 40, 46, 255);
      dl->AddRectFilled(a, b, bg);
      if (k < d.cell_text.size() && cw > font) {
        auto s = fit_text(d.cell_text[k], cw - 6);
        ImVec2 ts = ImGui::CalcTextSize(s.c_str());
        dl->AddText(ImVec2(a.x + (cw - 1 - ts.x) * 0.5f, a.y + (ch - 1 - ts.y) * 0.5f), text_on(bg), s.c_str());
      }
      bool in = hovered && io.MousePos.x >= a.x && io.MousePos.x < b.x + 1 && io.MousePos.y >= a.y &&
                io.MousePos.y < b.y + 1;
      if (in) {
        res.hovered_row = r, res.hovered_col = c;
        dl->AddRect(a, b, IM_COL32(255, 255, 255, 200), 0, 0, 1.5f);
      }
      if (r == st.pinned_row && c == st.pinned_col) dl->AddRect(a, b, IM_COL32(255, 80, 80, 255), 0, 0, 2.5f);
    }
  }
  if (res.hovered_row >= 0) {
    size_t k = size_t(res.hovered_row) * size_t(d.cols) + size_t(res.hovered_col);
    ImGui::BeginTooltip();
    if (res.hovered_row < int(d.row_labels.size()) && res.hovered_col < int(d.col_labels.size()))
      ImGui::TextDisabled("%s · %s", d.row_labels[size_t(res.hovered_row)].c_str(),
                          d.col_labels[size_t(res.hovered_col)].c_str());
    if (k < d.tooltip.size() && !d.tooltip[k].empty())
      for (auto& line : d.tooltip[k]) ImGui::TextUnformatted(line.c_str());
    else if (k < d.value.size())
      ImGui::Text("%s %.4f", d.value_name.c_str(), double(d.value[k]));
    ImGui::TextDisabled("click to %s", res.hovered_row == st.pinned_row && res.hovered_col == st.pinned_col ? "unpin" : "pin");
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
