#include "views/view_common.h"

#include <imgui.h>

#include <cstdlib>

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

std::string fit_text(const std::string& s, float w) {
  if (ImGui::CalcTextSize(s.c_str()).x <= w) return s;
  std::string t = s;
  while (!t.empty()) {
    do t.pop_back();
    while (!t.empty() && (static_cast<unsigned char>(t.back()) & 0xC0) == 0x80);  // whole UTF-8 characters
    while (!t.empty() && t.back() == ' ') t.pop_back();
    if (ImGui::CalcTextSize((t + "…").c_str()).x <= w) return t + "…";
  }
  return ImGui::CalcTextSize("…").x <= w ? "…" : "";
}

std::string cut_chars(const std::string& s, size_t max_chars) {
  size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max_chars) break;
    ++chars;
  }
  if (i >= s.size()) return s;
  std::string t = s.substr(0, i);
  // Cut at the last space when it is not far back (whole words read better).
  auto sp = t.find_last_of(' ');
  if (sp != std::string::npos && sp + 12 > t.size() && sp > 0) t.resize(sp);
  while (!t.empty() && (t.back() == ' ' || t.back() == ',')) t.pop_back();
  return t + "…";
}

void text_ellipsis(const std::string& text, float width, bool disabled) {
  const std::string shown = fit_text(text, width);
  if (disabled) ImGui::TextDisabled("%s", shown.c_str());
  else ImGui::TextUnformatted(shown.c_str());
  if (shown != text && ImGui::IsItemHovered()) {
    ImGui::BeginTooltip();
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 32);
    ImGui::TextUnformatted(text.c_str());
    ImGui::PopTextWrapPos();
    ImGui::EndTooltip();
  }
}

std::string display_path(const std::string& text) {
  const char* home = std::getenv("HOME");
  if (!home || !*home || text.empty()) return text;
  std::string h = home;
  while (h.size() > 1 && h.back() == '/') h.pop_back();
  if (h == "/") return text;
  if (text == h) return "~";
  // Every "$HOME/..." in the text (a path, or a message naming paths), at a word start.
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find(h, i);
    if (at == std::string::npos) break;
    const bool start = at == 0 || text[at - 1] == ' ' || text[at - 1] == '\'' || text[at - 1] == '"' ||
                       text[at - 1] == '(' || text[at - 1] == '=';
    const size_t end = at + h.size();
    const bool whole = end == text.size() || text[end] == '/' || text[end] == ' ' || text[end] == ':' ||
                       text[end] == '\'' || text[end] == '"' || text[end] == ')';
    out += text.substr(i, at - i);
    out += start && whole ? std::string("~") : h;
    i = end;
  }
  out += text.substr(i);
  return out;
}

std::string expand_user(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (!home || !*home || path.empty() || path[0] != '~') return path;
  if (path.size() == 1) return home;
  if (path[1] == '/') return std::string(home) + path.substr(1);
  return path;  // ~user: left as typed
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
