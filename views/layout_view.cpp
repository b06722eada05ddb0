#include "views/layout_view.h"

#include <imgui.h>

#include "views/view_common.h"

namespace genlens::views {

namespace {
constexpr ImGuiWindowFlags kPanelFlags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                         ImGuiWindowFlags_NoCollapse |
                                         ImGuiWindowFlags_NoBringToFrontOnFocus;
}

Rect draw_layout(const LayoutSnapshot& snap, LayoutState& state, float display_w, float display_h) {
  float menu_h = 0.0f;
  if (ImGui::BeginMainMenuBar()) {
    if (ImGui::BeginMenu("File")) {
      if (ImGui::MenuItem("Quit", "Ctrl+Q")) state.request_quit = true;
      ImGui::EndMenu();
    }
    if (ImGui::BeginMenu("Help")) {
      if (ImGui::MenuItem("About genlens")) state.show_about = true;
      ImGui::EndMenu();
    }
    menu_h = ImGui::GetWindowSize().y;
    ImGui::EndMainMenuBar();
  }

  const float body_h = display_h - menu_h - state.log_height;
  ImGui::SetNextWindowPos(ImVec2(0, menu_h));
  ImGui::SetNextWindowSize(ImVec2(state.sidebar_width, body_h));
  if (ImGui::Begin("Workspace", nullptr, kPanelFlags)) {
    ImGui::TextUnformatted(snap.workspace_name.c_str());
    ImGui::Separator();
    if (snap.workspace_items.empty()) ImGui::TextDisabled("Nothing open yet.");
    // Two columns: the kind (faint) and which one; the whole path on hover.
    const float kind_w = ImGui::GetFontSize() * 4.2f;
    for (int i = 0; i < static_cast<int>(snap.workspace_items.size()); ++i) {
      const auto& it = snap.workspace_items[size_t(i)];
      ImGui::PushID(i);
      const ImVec2 p = ImGui::GetCursorPos();
      if (ImGui::Selectable("##item", state.selected_item == i)) state.selected_item = i;
      if (!it.tooltip.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", it.tooltip.c_str());
      ImGui::SetCursorPos(p);
      ImGui::TextDisabled("%s", it.kind.c_str());
      ImGui::SameLine(p.x + kind_w);
      ImGui::TextUnformatted(fit_text(it.value, ImGui::GetContentRegionAvail().x).c_str());
      ImGui::PopID();
    }
  }
  ImGui::End();

  ImGui::SetNextWindowPos(ImVec2(0, menu_h + body_h));
  ImGui::SetNextWindowSize(ImVec2(display_w, state.log_height));
  if (ImGui::Begin("Log", nullptr, kPanelFlags)) {
    for (auto& l : snap.log_lines) ImGui::TextUnformatted(l.c_str());
    if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY()) ImGui::SetScrollHereY(1.0f);
  }
  ImGui::End();

  return Rect{state.sidebar_width, menu_h, display_w - state.sidebar_width, body_h};
}

}  // namespace genlens::views
