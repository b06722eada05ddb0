#include "views/workspace_view.h"

#include <imgui.h>

#include "views/view_common.h"

namespace genlens::views {

const char* to_string(OpenKind k) {
  switch (k) {
    case OpenKind::Workspace: return "workspace";
    case OpenKind::Model: return "model";
    case OpenKind::Adapter: return "adapter";
    case OpenKind::Run: return "run";
    case OpenKind::Corpus: return "corpus";
  }
  return "?";
}

namespace {
void open_row(const char* label, const char* hint, const std::string& current, char* buf, size_t n, OpenKind kind,
              WorkspaceIntents& out) {
  ImGui::PushID(label);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(label);
  ImGui::SameLine(ImGui::GetFontSize() * 6);
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - ImGui::GetFontSize() * 4);
  bool enter = ImGui::InputTextWithHint("##path", hint, buf, n, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Open") || enter) && buf[0]) out.open.push_back({kind, buf});
  if (!current.empty()) {
    ImGui::SameLine(0, 0);
    ImGui::Dummy(ImVec2(0, 0));
    ImGui::Indent(ImGui::GetFontSize() * 6);
    ImGui::TextDisabled("open: %s", current.c_str());
    ImGui::Unindent(ImGui::GetFontSize() * 6);
  }
  ImGui::PopID();
}
}  // namespace

WorkspaceIntents draw_workspace_view(const WorkspaceSnapshot& s, WorkspaceState& st) {
  WorkspaceIntents out;
  section("Open");
  open_row("Workspace", "a demo or project workspace directory", s.workspace_dir, st.workspace, sizeof st.workspace,
           OpenKind::Workspace, out);
  open_row("Model", "a Hugging Face model directory", s.model_dir, st.model, sizeof st.model, OpenKind::Model, out);
  if (!s.model_summary.empty()) {
    ImGui::Indent(ImGui::GetFontSize() * 6);
    ImGui::TextDisabled("%s", s.model_summary.c_str());
    ImGui::Unindent(ImGui::GetFontSize() * 6);
  }
  open_row("Adapter", "a checkpoint-<step> directory", s.adapter_dir, st.adapter, sizeof st.adapter, OpenKind::Adapter,
           out);
  open_row("Run", "a run directory with metrics.jsonl", s.run_dir, st.run, sizeof st.run, OpenKind::Run, out);
  open_row("Corpus", "texts JSONL ({\"text\", \"label\"} per line)", s.corpus_path, st.corpus, sizeof st.corpus,
           OpenKind::Corpus, out);
  if (!s.corpus_path.empty()) {
    ImGui::Indent(ImGui::GetFontSize() * 6);
    ImGui::TextDisabled("%lld rows, %zu labels", static_cast<long long>(s.corpus_rows), s.corpus_labels.size());
    ImGui::Unindent(ImGui::GetFontSize() * 6);
  }

  if (!s.extras.empty()) {
    section("Also in this workspace");
    for (auto& e : s.extras) ImGui::TextDisabled("%s", e.c_str());
  }

  section("Recent");
  if (s.recent.empty()) ImGui::TextDisabled("Nothing opened yet.");
  for (size_t i = 0; i < s.recent.size(); ++i) {
    ImGui::PushID(int(i));
    if (ImGui::Selectable(s.recent[i].c_str())) {
      // Recent items remember their kind as a "kind: path" prefix.
      auto colon = s.recent[i].find(": ");
      std::string kind = colon == std::string::npos ? "" : s.recent[i].substr(0, colon);
      std::string path = colon == std::string::npos ? s.recent[i] : s.recent[i].substr(colon + 2);
      OpenKind k = OpenKind::Model;
      for (OpenKind c : {OpenKind::Workspace, OpenKind::Model, OpenKind::Adapter, OpenKind::Run, OpenKind::Corpus})
        if (kind == to_string(c)) k = c;
      out.open.push_back({k, path});
    }
    ImGui::PopID();
  }

  section("Machine");
  ImGui::Text("device %s · dtype %s · %d threads · %.0f MB in use", s.device.c_str(), s.dtype.c_str(), s.threads,
              s.memory_mb);

  section("Jobs");
  if (s.jobs.empty()) ImGui::TextDisabled("No jobs yet.");
  for (size_t i = 0; i < s.jobs.size(); ++i) {
    const auto& j = s.jobs[i];
    ImGui::PushID(int(i));
    ImGui::Text("%-10s %-9s %s", j.name.c_str(), j.state.c_str(), j.stage.c_str());
    if (j.fraction >= 0) {
      ImGui::SameLine();
      ImGui::ProgressBar(j.fraction, ImVec2(ImGui::GetFontSize() * 10, 0), j.detail.c_str());
    } else if (!j.detail.empty()) {
      ImGui::SameLine();
      ImGui::TextDisabled("%s", j.detail.c_str());
    }
    if (j.can_cancel) {
      ImGui::SameLine();
      if (ImGui::SmallButton("Cancel")) out.cancel_jobs.push_back(int(i));
    }
    if (!j.error.empty()) {
      ImGui::PushTextWrapPos(0);
      ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", j.error.c_str());
      ImGui::PopTextWrapPos();
    }
    ImGui::PopID();
  }
  return out;
}

}  // namespace genlens::views
