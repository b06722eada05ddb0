#include "views/neighbour_list.h"

#include <imgui.h>

#include <algorithm>

#include "views/view_common.h"

namespace genlens::views {

void draw_neighbour_list(const char* title, const std::vector<Neighbour>& ns, float width, size_t rows) {
  // Tall enough for every row (no half-cut last line); the two lists share a height.
  const float line = ImGui::GetTextLineHeightWithSpacing();
  const float h = line * float(std::max<size_t>(rows, 3) + 1) + ImGui::GetStyle().WindowPadding.y * 2;
  ImGui::BeginChild(title, ImVec2(width, h), true);
  ImGui::TextDisabled("%s", title);
  // One line per neighbour, cut with "…" before the scrollbar; hover for the whole text.
  for (auto& n : ns) {
    ImGui::Text("%.3f", double(n.score));
    ImGui::SameLine();
    if (!n.label.empty()) {
      ImGui::TextDisabled("[%s]", n.label.c_str());
      ImGui::SameLine();
    }
    text_ellipsis(n.text, ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x);
  }
  ImGui::EndChild();
}


}  // namespace genlens::views
