#include "views/map_view.h"

#include <imgui.h>

#include <algorithm>

namespace genlens::views {

std::vector<int> selected_indices(const MapState& st) {
  std::vector<int> out;
  for (size_t i = 0; i < st.selected.size(); ++i)
    if (st.selected[i]) out.push_back(int(i));
  return out;
}

namespace {

void hover_tooltip(const MapSnapshot& s, int i) {
  if (i < 0 || size_t(i) >= s.texts.size()) return;
  ImGui::BeginTooltip();
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
  const auto& lab = s.generative.data.label;
  if (size_t(i) < lab.size() && lab[size_t(i)] >= 0 && size_t(lab[size_t(i)]) < s.label_names.size())
    ImGui::TextDisabled("#%d · %s", i, s.label_names[size_t(lab[size_t(i)])].c_str());
  else
    ImGui::TextDisabled("#%d", i);
  ImGui::TextUnformatted(s.texts[size_t(i)].c_str());
  ImGui::TextDisabled("click: open in the inspector");
  ImGui::PopTextWrapPos();
  ImGui::EndTooltip();
}

void panel(const char* id, const MapPanel& p, const MapSnapshot& s, ScatterView& view, MapState& st, float w,
           float h, MapIntents& out, const Status* regions = nullptr) {
  ImGui::BeginGroup();
  ImGui::TextUnformatted(p.title.c_str());
  if (regions && regions->kind != Status::Idle) {
    // Within the panel's width (a longer line would push the other panel aside).
    ImGui::SameLine();
    const float room = w - ImGui::CalcTextSize(p.title.c_str()).x - ImGui::GetStyle().ItemSpacing.x;
    if (regions->is_ready()) {
      if (!p.data.notes.empty())
        text_ellipsis("· region labels: the words over-represented in each region's compression-token logit lens "
                      "(c-TF-IDF; hover a label for its weights)",
                      room, true);
    } else if (regions->kind == Status::Failed || regions->kind == Status::Unavailable) {
      ImGui::PushStyleColor(ImGuiCol_Text, regions->kind == Status::Failed ? ImVec4(1.0f, 0.45f, 0.4f, 1)
                                                                           : ImVec4(0.85f, 0.75f, 0.45f, 1));
      text_ellipsis(regions->text, room);
      ImGui::PopStyleColor();
    } else {
      draw_status(*regions);
    }
  }
  if (!draw_status(p.status)) {
    ImGui::Dummy(ImVec2(w, h - ImGui::GetFontSize() * 1.5f));
    ImGui::EndGroup();
    return;
  }
  auto r = draw_scatter(id, p.data, view, st.selected, st.hidden_labels, w, h - ImGui::GetFontSize() * 1.5f);
  hover_tooltip(s, r.hovered);
  if (r.clicked >= 0) out.send_to_inspector = r.clicked;
  ImGui::EndGroup();
}

}  // namespace

MapIntents draw_map_view(const MapSnapshot& s, MapState& st) {
  MapIntents out;
  const float font = ImGui::GetFontSize();
  static const char* kMethods[] = {"PCA", "UMAP"};
  ImGui::SetNextItemWidth(font * 6);
  ImGui::Combo("##method", &st.method, kMethods, 2);
  ImGui::SameLine();
  if (ImGui::Button("Project")) {
    out.project = true;
    out.method = kMethods[st.method];
  }
  ImGui::SameLine();
  ImGui::Checkbox("side by side", &st.side_by_side);
  ImGui::SameLine();
  const bool png = png_button("map", st.png_pending);
  ImGui::SameLine();
  auto sel = selected_indices(st);
  ImGui::TextDisabled("%zu points · %zu selected · drag: select, right-drag: pan, wheel: zoom, double-click: fit",
                      s.texts.size(), sel.size());
  // The export holds the legend and the panels: what a figure needs.
  ImGui::BeginGroup();
  draw_label_legend(s.label_names, st.hidden_labels);

  const float list_h = sel.empty() ? 0 : font * 8;
  const float avail_w = ImGui::GetContentRegionAvail().x;
  const float h = std::max(font * 10, ImGui::GetContentRegionAvail().y - list_h);
  if (st.side_by_side) {
    float w = (avail_w - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
    panel("gen", s.generative, s, st.gen_view, st, w, h, out, &s.region_status);
    ImGui::SameLine();
    panel("input", s.input, s, st.input_view, st, w, h, out);
  } else {
    panel("gen", s.generative, s, st.gen_view, st, avail_w, h, out, &s.region_status);
  }
  ImGui::EndGroup();
  if (png) out.png = png_of_last_item("map");

  if (!sel.empty()) {
    ImGui::BeginChild("selection", ImVec2(0, 0), true);
    ImGui::Text("Selection (%zu)", sel.size());
    ImGui::SameLine();
    if (ImGui::SmallButton("Clear")) std::fill(st.selected.begin(), st.selected.end(), 0);
    ImGui::SameLine();
    if (ImGui::SmallButton("Export JSONL")) out.export_selection = true;
    for (int i : sel) {
      if (size_t(i) >= s.texts.size()) continue;
      ImGui::PushID(i);
      if (ImGui::Selectable(s.texts[size_t(i)].c_str())) out.send_to_inspector = i;
      ImGui::PopID();
    }
    ImGui::EndChild();
  }
  return out;
}

}  // namespace genlens::views
