#include "views/widgets/token_strip.h"

#include <imgui.h>

#include "views/widgets/palette.h"

namespace genlens::views {

std::string visible_piece(const std::string& p) {
  std::string out;
  for (char c : p) {
    if (c == ' ') out += "·";
    else if (c == '\n') out += "↵";
    else if (c == '\t') out += "→";
    else out += c;
  }
  return out.empty() ? "∅" : out;
}

int draw_token_strip(const char* id, const std::vector<TokenChip>& toks, float width) {
  int hovered = -1;
  ImGui::PushID(id);
  if (toks.empty()) ImGui::TextDisabled("(no tokens)");
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float pad = 4, gap = 3, h = ImGui::GetFontSize() + 2 * pad - 2;
  float x = 0, y = 0;
  ImDrawList* dl = ImGui::GetWindowDrawList();
  for (size_t i = 0; i < toks.size(); ++i) {
    std::string s = visible_piece(toks[i].piece);
    float w = ImGui::CalcTextSize(s.c_str()).x + 2 * pad;
    if (x > 0 && x + w > width) x = 0, y += h + gap;
    ImVec2 a(origin.x + x, origin.y + y), b(a.x + w, a.y + h);
    ImGui::SetCursorScreenPos(a);
    ImGui::PushID(int(i));
    ImGui::InvisibleButton("tok", ImVec2(w, h));
    bool hov = ImGui::IsItemHovered();
    ImGui::PopID();
    ImU32 bg = toks[i].special ? IM_COL32(110, 60, 130, 255) : category_color(int(i % 2 ? 0 : 9), hov ? 0.9f : 0.45f);
    dl->AddRectFilled(a, b, bg, 3.0f);
    dl->AddText(ImVec2(a.x + pad, a.y + pad - 1), IM_COL32(240, 240, 240, 255), s.c_str());
    if (hov) {
      hovered = int(i);
      ImGui::BeginTooltip();
      ImGui::Text("token %zu  id %lld", i, static_cast<long long>(toks[i].id));
      ImGui::Text("piece \"%s\"", toks[i].piece.c_str());
      ImGui::Text("bytes [%lld, %lld)", static_cast<long long>(toks[i].begin), static_cast<long long>(toks[i].end));
      if (toks[i].special) ImGui::TextDisabled("special token");
      ImGui::EndTooltip();
    }
    x += w + gap;
  }
  ImGui::SetCursorScreenPos(ImVec2(origin.x, origin.y + y + (toks.empty() ? 0 : h + gap)));
  ImGui::Dummy(ImVec2(0, 0));
  ImGui::PopID();
  return hovered;
}

}  // namespace genlens::views
