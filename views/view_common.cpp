#include "views/view_common.h"

#include <imgui.h>

namespace genlens::views {

bool draw_status(const Status& s) {
  switch (s.kind) {
    case Status::Ready: return true;
    case Status::Idle: ImGui::TextDisabled("%s", s.text.c_str()); break;
    case Status::Running: {
      static const char* kSpin = "|/-\\";
      int k = int(ImGui::GetTime() * 8) & 3;
      ImGui::TextColored(ImVec4(0.55f, 0.75f, 1.0f, 1), "%c %s", kSpin[k], s.text.c_str());
      break;
    }
    case Status::Failed:
      ImGui::PushTextWrapPos(0);
      ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1), "%s", s.text.c_str());
      ImGui::PopTextWrapPos();
      break;
    case Status::Unavailable:
      ImGui::PushTextWrapPos(0);
      ImGui::TextColored(ImVec4(0.85f, 0.75f, 0.45f, 1), "%s", s.text.c_str());
      ImGui::PopTextWrapPos();
      break;
  }
  return false;
}

void section(const char* title) {
  ImGui::Spacing();
  ImGui::TextUnformatted(title);
  ImVec2 p = ImGui::GetCursorScreenPos();
  ImGui::GetWindowDrawList()->AddLine(ImVec2(p.x, p.y - 1), ImVec2(p.x + ImGui::GetContentRegionAvail().x, p.y - 1),
                                      IM_COL32(255, 255, 255, 40));
  ImGui::Spacing();
}

void wrapped_block(const std::string& text) {
  ImGui::PushTextWrapPos(0);
  ImGui::TextUnformatted(text.c_str());
  ImGui::PopTextWrapPos();
}

bool png_button(const char* name, std::string& pending) {
  ImGui::PushID(name);
  bool clicked = ImGui::SmallButton("PNG");
  ImGui::PopID();
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("Save this %s as a PNG image, exactly as drawn", name);
  if (!pending.empty() && pending == name) {
    pending.clear();
    clicked = true;
  }
  return clicked;
}

PngRequest png_of_last_item(const char* name) {
  PngRequest r;
  r.name = name;
  ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
  r.x0 = a.x, r.y0 = a.y, r.x1 = b.x, r.y1 = b.y;
  return r;
}

}  // namespace genlens::views
