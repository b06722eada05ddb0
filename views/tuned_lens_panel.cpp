#include "views/tuned_lens_panel.h"

#include <imgui.h>

namespace genlens::views {

TunedLensIntents draw_lens_kind(const TunedLensSnapshot& s, TunedLensState& st) {
  TunedLensIntents out;
  const int before = st.kind;
  ImGui::RadioButton("logit lens", &st.kind, 0);
  ImGui::SameLine();
  ImGui::RadioButton("tuned lens", &st.kind, 1);
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip("Each layer read through a translator fitted to the model's own output (Belrose et al. 2023)");
  out.kind_changed = st.kind != before;
  if (st.kind == 1 && !s.status.is_ready()) {
    ImGui::SameLine();
    if (s.can_train) {
      if (ImGui::SmallButton("Train")) out.train = true;
      ImGui::SameLine();
    }
    draw_status(s.status);
  }
  return out;
}

const std::vector<LensCell>* tuned_cells(const TunedLensSnapshot& s, const TunedLensState& st) {
  return st.kind == 1 && s.status.is_ready() && !s.cells.empty() ? &s.cells : nullptr;
}

void draw_kl_plot(const TunedLensSnapshot& s, TunedLensState& st, float width) {
  if (st.kind != 1 || !s.status.is_ready() || s.layers.empty()) return;
  ImGui::TextDisabled("KL(last layer || layer) in nats at the special positions, on held-out texts; %s",
                      s.about.c_str());
  std::vector<PlotSeries> series{{"logit lens", s.layers, s.kl_logit, 7}, {"tuned lens", s.layers, s.kl_tuned, 0}};
  draw_line_plot("kl", series, st.plot, width, ImGui::GetFontSize() * 9, "layer");
}

}  // namespace genlens::views
