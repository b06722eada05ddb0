#include "views/demo_build_view.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>

#include "views/view_common.h"

namespace genlens::views {

namespace {
std::string duration(double s) {
  char b[32];
  if (s < 60) std::snprintf(b, sizeof b, "%.0f s", s);
  else std::snprintf(b, sizeof b, "%dm%02ds", int(s) / 60, int(s) % 60);
  return b;
}
}  // namespace

DemoBuildIntents draw_demo_build_view(const DemoBuildSnapshot& s) {
  DemoBuildIntents out;
  const float em = ImGui::GetFontSize();
  // A centred column: the build is the only thing on screen until the workspace opens.
  const float width = std::min(ImGui::GetContentRegionAvail().x, em * 40);
  ImGui::SetCursorPosX(ImGui::GetCursorPosX() + (ImGui::GetContentRegionAvail().x - width) * 0.5f);
  ImGui::BeginGroup();
  ImGui::PushTextWrapPos(ImGui::GetCursorPosX() + width);
  ImGui::Dummy(ImVec2(0, em));
  ImGui::TextUnformatted("Building the demo workspace");
  ImGui::TextDisabled("%s variant, in %s", s.variant.c_str(), display_path(s.workspace).c_str());
  ImGui::TextDisabled(
      "A tiny chat model is trained on a small world of requests and answers, then the method runs on it: "
      "responses, the adapter, evaluation, maps, the lens. The same as `genlens demo`; it is done once and "
      "reused.");
  ImGui::Spacing();
  char overlay[64];
  std::snprintf(overlay, sizeof overlay, "%.0f%%   %s", s.overall * 100, duration(s.elapsed_s).c_str());
  ImGui::ProgressBar(s.overall, ImVec2(width, 0), overlay);
  ImGui::Spacing();

  if (ImGui::BeginTable("stages", 3, ImGuiTableFlags_SizingFixedFit, ImVec2(width, 0))) {
    ImGui::TableSetupColumn("mark", ImGuiTableColumnFlags_WidthFixed, em * 1.5f);
    ImGui::TableSetupColumn("stage", ImGuiTableColumnFlags_WidthFixed, em * 7);
    ImGui::TableSetupColumn("what", ImGuiTableColumnFlags_WidthStretch);
    for (auto& r : s.stages) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      const bool failed_here = r.state == DemoStageRow::Running && (!s.error.empty() || s.cancelled);
      if (r.state == DemoStageRow::Done) ImGui::TextColored(ImVec4(0.45f, 0.85f, 0.5f, 1), "+");
      else if (failed_here) ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1), "x");
      else if (r.state == DemoStageRow::Running) ImGui::TextColored(ImVec4(0.55f, 0.75f, 1.0f, 1), ">");
      else ImGui::TextDisabled("-");
      ImGui::TableSetColumnIndex(1);
      if (r.state == DemoStageRow::Pending) ImGui::TextDisabled("%s", r.name.c_str());
      else ImGui::TextUnformatted(r.name.c_str());
      ImGui::TableSetColumnIndex(2);
      if (r.state == DemoStageRow::Done) {
        // Under half a second: reused from an earlier build, or simply quick.
        if (r.seconds > 0) ImGui::TextDisabled("done in %s", duration(r.seconds).c_str());
        else ImGui::TextDisabled("done");
      } else if (r.state == DemoStageRow::Running && !failed_here) {
        if (s.stage_fraction >= 0) {
          ImGui::ProgressBar(s.stage_fraction, ImVec2(-1, 0), s.detail.c_str());
        } else {
          ImGui::TextUnformatted(s.detail.c_str());
        }
      }
    }
    ImGui::EndTable();
  }
  ImGui::Spacing();
  if (!s.error.empty() || s.cancelled) {
    ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1), "%s",
                       s.cancelled ? "Cancelled. Finished stages are kept; Continue picks up where it stopped."
                                   : s.error.c_str());
    if (ImGui::Button("Continue")) out.retry = true;
  } else {
    if (ImGui::Button("Cancel")) out.cancel = true;
    ImGui::SameLine();
    ImGui::TextDisabled("finished stages are kept");
  }
  ImGui::PopTextWrapPos();
  ImGui::EndGroup();
  return out;
}

}  // namespace genlens::views
