#include "views/widgets/token_strip.h"

#include <imgui.h>

#include <cmath>

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

int draw_token_strip(const char* id, const std::vector<TokenChip>& toks, float width, float score_scale) {
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
    const bool scored = score_scale > 0 && std::isfinite(toks[i].score);
    ImU32 bg = scored              ? diverging_color(toks[i].score / score_scale, hov ? 1.0f : 0.9f)
               : toks[i].special ? IM_COL32(110, 60, 130, 255)
                                 : category_color(int(i % 2 ? 0 : 9), hov ? 0.9f : 0.45f);
    if (scored && hov) dl->AddRect(ImVec2(a.x - 1, a.y - 1), ImVec2(b.x + 1, b.y + 1), IM_COL32(240, 240, 240, 255), 3.0f);
    dl->AddRectFilled(a, b, bg, 3.0f);
    dl->AddText(ImVec2(a.x + pad, a.y + pad - 1), IM_COL32(240, 240, 240, 255), s.c_str());
    if (hov) {
      hovered = int(i);
      ImGui::BeginTooltip();
      ImGui::Text("token %zu  id %lld", i, static_cast<long long>(toks[i].id));
      ImGui::Text("piece \"%s\"", toks[i].piece.c_str());
      ImGui::Text("bytes [%lld, %lld)", static_cast<long long>(toks[i].begin), static_cast<long long>(toks[i].end));
      if (scored) ImGui::Text("attribution %+.4f", double(toks[i].score));
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

void draw_score_legend(float scale, const char* what) {
  ImGui::TextDisabled("%+.3g", -double(scale));
  ImGui::SameLine();
  const float w = ImGui::GetFontSize() * 8, h = ImGui::GetTextLineHeight();
  const ImVec2 a = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const int steps = 32;
  for (int k = 0; k < steps; ++k) {
    const float t = -1.0f + 2.0f * (float(k) + 0.5f) / float(steps);
    dl->AddRectFilled(ImVec2(a.x + w * float(k) / steps, a.y + 2), ImVec2(a.x + w * float(k + 1) / steps, a.y + h - 2),
                      diverging_color(t));
  }
  ImGui::Dummy(ImVec2(w, h));
  ImGui::SameLine();
  ImGui::TextDisabled("%+.3g  %s", double(scale), what);
}

}  // namespace genlens::views
