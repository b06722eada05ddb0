#include "views/arithmetic_panel.h"

#include <imgui.h>

#include <algorithm>

namespace genlens::views {

ArithmeticIntents draw_arithmetic_panel(const ArithmeticSnapshot& s, ArithmeticState& st, float width) {
  ArithmeticIntents out;
  const float font = ImGui::GetFontSize();
  const float buttons = font * 12 + ImGui::GetStyle().ItemSpacing.x * 2;
  ImGui::SetNextItemWidth(width - buttons);
  const bool enter = ImGui::InputTextWithHint("##expr", "\"query A\" - \"query B\" + \"query C\"   or   row:3 - row:5",
                                              st.expression, sizeof st.expression, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Decode", ImVec2(font * 5, 0)) || enter) && st.expression[0]) out.decode = true;
  ImGui::SameLine();
  if (ImGui::Button("+ the query", ImVec2(font * 7, 0))) out.use_inspected = true;
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Add the inspected query to the expression, quoted");
  if (!draw_status(s.status)) return out;
  ImGui::TextDisabled("decoded from");
  ImGui::SameLine();
  text_ellipsis(s.expression, ImGui::GetContentRegionAvail().x, true);
  wrapped_block(s.decoded);
  if (!s.neighbours.empty())
    draw_neighbour_list("nearest corpus texts of that point (generative)", s.neighbours, width,
                        std::min<size_t>(5, s.neighbours.size()));
  return out;
}

}  // namespace genlens::views
