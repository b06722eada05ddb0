#include "views/trace_panel.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>

namespace genlens::views {

HeatmapData trace_heatmap(const TraceSnapshot& s) {
  HeatmapData h;
  h.rows = int(s.layers.size());
  h.cols = int(s.positions.size());
  h.row_labels = s.layers;
  h.col_labels = s.positions;
  h.col_groups = s.position_groups;
  h.value_name = "effect";
  h.colour_bar = true;
  h.bar_lo = "0: no move";
  h.bar_hi = "1: all the way to the source";
  h.bar_title = "effect of patching one cell";
  const size_t n = size_t(h.rows) * size_t(h.cols);
  h.value.assign(n, NAN);
  h.cell_text.assign(n, "");
  h.tooltip.assign(n, {});
  for (size_t k = 0; k < n && k < s.effect.size(); ++k) {
    const float e = s.effect[k];
    if (!std::isfinite(e)) continue;
    h.value[k] = std::clamp(e, 0.0f, 1.0f);
    h.cell_text[k] = std::fabs(e) < 0.005f ? "0.00" : fmt::format("{:.2f}", e);  // no "-0.00"
    const size_t r = k / size_t(h.cols), c = k % size_t(h.cols);
    h.tooltip[k] = {fmt::format("{} patched at layer {}", s.positions[c], s.layers[r].substr(1)),
                    fmt::format("effect {:.4f}", e)};
  }
  return h;
}

TraceIntents draw_trace_panel(const TraceSnapshot& s, TraceState& st, const std::string& walk_to, float width) {
  TraceIntents out;
  const float font = ImGui::GetFontSize();
  static const char* kSources[] = {"from the walk's second query (B)", "from the query with its words noised"};
  ImGui::SetNextItemWidth(ImGui::CalcTextSize(kSources[1]).x + font * 2);
  ImGui::Combo("##trace-source", &st.source, kSources, 2);
  ImGui::SameLine();
  const bool needs_b = st.source == 0 && walk_to.empty();
  ImGui::BeginDisabled(needs_b);
  if (ImGui::Button("Trace", ImVec2(font * 5, 0))) out.trace = true;
  ImGui::EndDisabled();
  if (needs_b) {
    ImGui::SameLine();
    ImGui::TextDisabled("type a second query in the walk box below first");
  }
  if (!draw_status(s.status)) return out;
  ImGui::TextDisabled("%s", s.title.c_str());
  auto heat = trace_heatmap(s);
  // Values in the cells only where "-0.00" fits; the tooltip always has them.
  const float label_w = ImGui::CalcTextSize("L00").x + ImGui::GetStyle().ItemSpacing.x * 2;
  if (heat.cols > 0 && ImGui::CalcTextSize("-0.00").x + 4 > (width - label_w) / float(heat.cols)) heat.cell_text.clear();
  draw_heatmap("trace", heat, st.heat, width);
  if (!s.decided.empty()) ImGui::Text("%s", s.decided.c_str());
  if (!s.strongest.empty()) ImGui::Text("strongest single patch: %s", s.strongest.c_str());
  ImGui::TextDisabled("decoded from the soft prompts of");
  const float col = ImGui::CalcTextSize("after the strongest patch").x + ImGui::GetStyle().ItemSpacing.x * 2;
  for (auto [who, text] : {std::pair{s.base_name.c_str(), &s.decoded_base},
                           std::pair{s.source_name.c_str(), &s.decoded_source},
                           std::pair{"after the strongest patch", &s.decoded_strongest}}) {
    if (text->empty()) continue;
    ImGui::TextDisabled("  %s", who);
    ImGui::SameLine(col);
    text_ellipsis(*text, ImGui::GetContentRegionAvail().x);
  }
  for (const auto& n : s.notes) ImGui::TextDisabled("%s", n.c_str());
  if (!s.cost.empty()) ImGui::TextDisabled("%s", s.cost.c_str());
  return out;
}

}  // namespace genlens::views
