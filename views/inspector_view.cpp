#include "views/inspector_view.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "views/widgets/palette.h"

namespace genlens::views {

HeatmapData lens_heatmap(const InspectorSnapshot& s, const std::vector<LensCell>* cells) {
  const auto& lens = cells ? *cells : s.lens;
  HeatmapData h;
  h.rows = int(s.lens_layers.size());
  h.cols = int(s.lens_positions.size());
  h.row_labels = s.lens_layers;
  h.col_labels = s.lens_positions;
  h.value_name = "p(top-1)";
  const size_t n = size_t(h.rows) * size_t(h.cols);
  h.value.assign(n, NAN);
  h.cell_text.assign(n, "");
  h.tooltip.assign(n, {});
  for (size_t k = 0; k < n && k < lens.size(); ++k) {
    const auto& c = lens[k];
    if (c.topk.empty()) continue;
    h.value[k] = c.topk[0].second;
    bool tracked = false;
    for (auto& [piece, p] : c.topk) {
      bool t = std::find(s.tracked_words.begin(), s.tracked_words.end(), piece) != s.tracked_words.end();
      tracked |= t;
      h.tooltip[k].push_back(fmt::format("{}{:>7.3f}  {}", t ? "★ " : "  ", p, visible_piece(piece)));
    }
    h.cell_text[k] = (tracked ? "★" : "") + visible_piece(c.topk[0].first);
  }
  return h;
}

std::vector<float> ablation_bar_heights(const std::vector<AblationBar>& bars) {
  float top = 0;
  for (const auto& b : bars)
    if (std::isfinite(b.value)) top = std::max(top, b.value);
  std::vector<float> out;
  for (const auto& b : bars) out.push_back(top > 0 && std::isfinite(b.value) ? std::max(0.0f, b.value) / top : 0.0f);
  return out;
}

namespace {

// One column per special position, its height the importance; the pinned one in the
// accent colour, its value on top; labels under the columns.
void draw_ablation_bars(const std::vector<AblationBar>& bars, float width) {
  if (bars.empty()) return;
  const float font = ImGui::GetFontSize(), h = font * 3.5f;
  const float col = width / float(bars.size()), gap = std::min(4.0f, col * 0.2f);
  const ImVec2 o = ImGui::GetCursorScreenPos();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const auto heights = ablation_bar_heights(bars);
  dl->AddLine(ImVec2(o.x, o.y + h), ImVec2(o.x + width, o.y + h), ImGui::GetColorU32(ImGuiCol_Separator));
  for (size_t i = 0; i < bars.size(); ++i) {
    const float x0 = o.x + col * float(i) + gap * 0.5f, x1 = x0 + col - gap;
    const ImU32 c = bars[i].pinned ? category_color(1) : category_color(0, 0.85f);
    dl->AddRectFilled(ImVec2(x0, o.y + h * (1 - heights[i])), ImVec2(x1, o.y + h), c);
    const ImVec2 ls = ImGui::CalcTextSize(bars[i].label.c_str());
    dl->AddText(ImVec2((x0 + x1 - ls.x) * 0.5f, o.y + h + 2), ImGui::GetColorU32(bars[i].pinned ? ImGuiCol_Text
                                                                                                   : ImGuiCol_TextDisabled),
                bars[i].label.c_str());
    if (ImGui::IsMouseHoveringRect(ImVec2(x0, o.y), ImVec2(x1, o.y + h + font)))
      ImGui::SetTooltip("%s ablated alone: 1 - cosine = %.4f", bars[i].label.c_str(), double(bars[i].value));
  }
  ImGui::Dummy(ImVec2(width, h + font + 4));
}

}  // namespace

InspectorIntents draw_inspector_view(const InspectorSnapshot& s, InspectorState& st, const InspectorPanels& panels) {
  InspectorIntents out;
  const float font = ImGui::GetFontSize();
  // Query line: preset, text, Inspect.
  if (!s.presets.empty()) {
    st.preset = std::clamp(st.preset, 0, int(s.presets.size()) - 1);
    ImGui::SetNextItemWidth(font * 11);
    if (ImGui::BeginCombo("##preset", s.presets[size_t(st.preset)].name.c_str())) {
      for (int i = 0; i < int(s.presets.size()); ++i)
        if (ImGui::Selectable(s.presets[size_t(i)].name.c_str(), i == st.preset)) st.preset = i;
      ImGui::EndCombo();
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.presets[size_t(st.preset)].instruction.c_str());
    ImGui::SameLine();
  }
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - font * 6);
  bool enter = ImGui::InputTextWithHint("##query", "type a query and press Enter", st.query, sizeof st.query,
                                        ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Inspect", ImVec2(font * 5, 0)) || enter) && st.query[0]) out.run = true;
  if (!s.query_shown.empty()) ImGui::TextDisabled("showing: %s", s.query_shown.c_str());

  const float avail = ImGui::GetContentRegionAvail().x;
  section("Tokens");
  if (draw_status(s.tokens_status)) {
    const bool coloured = panels.tokens && !s.tokens.empty() && panels.tokens(avail);
    if (!coloured) draw_token_strip("tokens", s.tokens, avail);
  }

  // Answer and decoded text side by side.
  const float half = (avail - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  ImGui::BeginChild("answer", ImVec2(half, font * 5.2f), true);
  ImGui::TextDisabled("The LLM's answer");
  if (draw_status(s.answer_status) || !s.answer.empty()) wrapped_block(s.answer);  // streams in while running
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("decoded", ImVec2(half, font * 5.2f), true);
  ImGui::TextDisabled("Decoded from the soft prompts");
  if (draw_status(s.decoded_status) || !s.decoded.empty()) wrapped_block(s.decoded);  // streams in while running
  ImGui::EndChild();

  section("Lens of the special tokens (rows: layers, 0 = embeddings; colour = p(top-1); hover: top-k; click: pin)");
  const std::vector<LensCell>* other_cells = nullptr;
  if (panels.lens_kind) {
    other_cells = panels.lens_kind();
    ImGui::SameLine();
  }
  if (!s.lens_title.empty()) ImGui::TextDisabled("columns: %s", s.lens_title.c_str());
  else ImGui::TextUnformatted("");
  if (draw_status(s.lens_status)) {
    auto heat = lens_heatmap(s, other_cells);
    float top = 0;
    for (float v : heat.value)
      if (std::isfinite(v)) top = std::max(top, v);
    // An untrained model spreads its probability thin: say so rather than leave a dark grid unexplained.
    ImGui::SameLine();
    ImGui::TextDisabled("· colour 0 → 1 (viridis); highest p(top-1) here %.3g", double(top));
    auto r = draw_heatmap("lens", heat, st.heat, avail);
    out.pin_changed = r.pin_changed;
    if (panels.under_lens) panels.under_lens(avail);
  }
  if (st.heat.pinned_row >= 0) {
    section("Latent lens for the pinned cell");
    if (draw_status(s.latent_status)) {
      for (auto& h : s.latent)
        ImGui::Text("%-12s layer %-3d %.3f  %s", visible_piece(h.token).c_str(), h.layer, double(h.similarity),
                    h.context.c_str());
    }
    section("Ablate or patch the pinned cell (replace it in the residual stream, run the layers above)");
    static const char* kKinds[] = {"zero it", "the corpus mean", "patch from B (the walk's query)"};
    ImGui::SetNextItemWidth(ImGui::CalcTextSize(kKinds[2]).x + font * 2);
    ImGui::Combo("##ablation-kind", &st.ablation_kind, kKinds, 3);
    ImGui::SameLine();
    if (ImGui::Button(st.ablation_kind == 2 ? "Patch" : "Ablate", ImVec2(font * 5, 0))) out.ablate = true;
    if (draw_status(s.ablation_status)) {
      ImGui::Text("%s: the embedding's cosine to the original %.4f", s.ablation_title.c_str(),
                  double(s.ablation_cosine));
      ImGui::TextDisabled("decoded after it");
      wrapped_block(s.ablation_decoded);
      ImGui::TextDisabled("every special position replaced alone at this layer, the same way: 1 - cosine (hover for the value)");
      draw_ablation_bars(s.ablation_bars, avail);
      if (!s.ablation_note.empty()) ImGui::TextDisabled("%s", s.ablation_note.c_str());
      if (!s.ablation_neighbours.empty())
        draw_neighbour_list("nearest corpus texts after it", s.ablation_neighbours, avail,
                       std::min<size_t>(5, s.ablation_neighbours.size()));
    }
  }

  if (panels.after_lens) {
    section("Causal trace (patch one residual-stream cell at a time; colour = how far the embedding moves)");
    panels.after_lens(avail);
  }

  section("Nearest neighbours in the open corpus");
  if (draw_status(s.neighbours_status)) {
    const size_t rows = std::min<size_t>(12, std::max(s.neighbours_generative.size(), s.neighbours_input.size()));
    draw_neighbour_list("generative", s.neighbours_generative, half, rows);
    ImGui::SameLine();
    draw_neighbour_list("input-centric (mean pool)", s.neighbours_input, half, rows);
  }

  section("Interpolation walk");
  ImGui::SetNextItemWidth(avail - font * 6);
  ImGui::InputTextWithHint("##walkto", "a second query to walk to", st.walk_to, sizeof st.walk_to);
  ImGui::SameLine();
  if (ImGui::Button("Walk", ImVec2(font * 5, 0)) && st.query[0] && st.walk_to[0]) out.walk = true;
  if (draw_status(s.walk_status)) {
    // One line per step: newlines shown as ↵, wrapped under the text column; the ends say
    // which query they are (A: the inspected one, B: the one walked to).
    const float col = ImGui::CalcTextSize("t=0.00 (B)").x + ImGui::GetStyle().ItemSpacing.x;
    if (!s.walk_from.empty() || !s.walk_to.empty()) {
      ImGui::TextDisabled("A");
      ImGui::SameLine(col);
      text_ellipsis(s.walk_from, ImGui::GetContentRegionAvail().x, true);
      ImGui::TextDisabled("B");
      ImGui::SameLine(col);
      text_ellipsis(s.walk_to, ImGui::GetContentRegionAvail().x, true);
    }
    for (size_t k = 0; k < s.walk.size(); ++k) {
      const auto& [t, text] = s.walk[k];
      const char* end = k == 0 && t <= 0.0f ? " (A)" : k + 1 == s.walk.size() && t >= 1.0f ? " (B)" : "";
      ImGui::TextDisabled("t=%.2f%s", double(t), end);
      ImGui::SameLine(col);
      std::string one;
      for (char c : text) one += c == '\n' ? std::string(" ↵ ") : std::string(1, c);
      ImGui::PushTextWrapPos(0);
      ImGui::TextUnformatted(one.c_str());
      ImGui::PopTextWrapPos();
    }
  }
  if (panels.last) {
    section("Embedding arithmetic (a sum of queries' compression states, decoded)");
    panels.last(avail);
  }
  return out;
}

}  // namespace genlens::views
