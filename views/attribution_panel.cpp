#include "views/attribution_panel.h"

#include <imgui.h>

#include <algorithm>

namespace genlens::views {

AttributionIntents draw_attribution_panel(const AttributionSnapshot& s, AttributionState& st, float width) {
  AttributionIntents out;
  const float font = ImGui::GetFontSize();
  if (ImGui::Button("Attribute", ImVec2(font * 5.5f, 0))) out.attribute = true;
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Integrated gradients of cosine(embedding, the query's own embedding) over the input tokens");
  ImGui::SameLine();
  if (!s.status.is_ready()) {
    draw_status(s.status);
    return out;
  }
  st.space = std::clamp(st.space, 0, int(s.spaces.size()) - 1);
  for (int i = 0; i < int(s.spaces.size()); ++i) {
    if (i) ImGui::SameLine();
    ImGui::RadioButton(s.spaces[size_t(i)].name.c_str(), &st.space, i);
  }
  ImGui::SameLine();
  ImGui::TextDisabled("baseline: %s", s.baseline.c_str());
  if (s.spaces.empty()) return out;
  const auto& sp = s.spaces[size_t(st.space)];
  draw_token_strip("attributed", sp.chips, width, sp.scale);
  draw_score_legend(sp.scale, "red: the embedding leans on the token; blue: it pulls the other way");
  ImGui::TextDisabled("%s", sp.summary.c_str());
  out.drew_tokens = true;
  return out;
}

}  // namespace genlens::views
