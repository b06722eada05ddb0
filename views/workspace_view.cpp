#include "views/workspace_view.h"

#include <fmt/format.h>
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
void indented_line(const std::string& text, const ImVec4* colour = nullptr) {
  ImGui::Indent(ImGui::GetFontSize() * 6);
  ImGui::PushTextWrapPos(0);
  if (colour) ImGui::TextColored(*colour, "%s", text.c_str());
  else ImGui::TextDisabled("%s", text.c_str());
  ImGui::PopTextWrapPos();
  ImGui::Unindent(ImGui::GetFontSize() * 6);
}

void open_row(const char* label, const char* hint, const std::string& current, const std::string& error, char* buf,
              size_t n, OpenKind kind, WorkspaceIntents& out) {
  ImGui::PushID(label);
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted(label);
  ImGui::SameLine(ImGui::GetFontSize() * 6);
  ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - ImGui::GetFontSize() * 4);
  bool enter = ImGui::InputTextWithHint("##path", hint, buf, n, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Open") || enter) && buf[0]) out.open.push_back({kind, buf});
  if (!current.empty()) indented_line("open: " + display_path(current));
  if (!error.empty()) {
    static const ImVec4 red(1.0f, 0.45f, 0.4f, 1);
    indented_line(display_path(error), &red);
  }
  ImGui::PopID();
}
}  // namespace

WorkspaceIntents draw_workspace_view(const WorkspaceSnapshot& s, WorkspaceState& st) {
  WorkspaceIntents out;
  const float font = ImGui::GetFontSize();
  if (!s.offer_adapter.empty()) {
    // A run trained here finished: its adapter is not the one the other tabs use yet.
    ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0.16f, 0.24f, 0.16f, 1));
    ImGui::BeginChild("offer", ImVec2(0, font * 2.6f), true);
    ImGui::AlignTextToFramePadding();
    ImGui::Text("Training wrote a new adapter: %s", display_path(s.offer_adapter).c_str());
    ImGui::SameLine();
    if (ImGui::Button("Use it")) out.use_offered_adapter = true;
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Open it as the adapter: the inspector, the maps and evaluation use it.");
    ImGui::SameLine();
    if (ImGui::Button("Keep the current one")) out.dismiss_offer = true;
    ImGui::EndChild();
    ImGui::PopStyleColor();
  }
  section("Open");
  open_row("Workspace", "a demo or project workspace directory", s.workspace_dir, s.workspace_error, st.workspace,
           sizeof st.workspace, OpenKind::Workspace, out);
  open_row("Model", "a Hugging Face model directory", s.model_dir, s.model_error, st.model, sizeof st.model,
           OpenKind::Model, out);
  if (!s.model_summary.empty()) indented_line(s.model_summary);
  open_row("Adapter", "a checkpoint-<step> directory, or a run (its newest checkpoint)", s.adapter_dir, s.adapter_error,
           st.adapter, sizeof st.adapter, OpenKind::Adapter, out);
  if (!s.adapter_note.empty()) indented_line(s.adapter_note);
  open_row("Run", "a run directory with metrics.jsonl", s.run_dir, s.run_error, st.run, sizeof st.run, OpenKind::Run,
           out);
  open_row("Corpus", "texts JSONL ({\"text\", \"label\"} per line)", s.corpus_path, s.corpus_error, st.corpus,
           sizeof st.corpus, OpenKind::Corpus, out);
  if (!s.corpus_path.empty() && s.corpus_error.empty()) {
    if (s.corpus_loading) indented_line("reading…");
    else if (s.corpus_rows == 0) {
      static const ImVec4 amber(0.85f, 0.75f, 0.45f, 1);
      indented_line("no rows: the file has no non-blank lines (one JSON object per line: {\"text\": ..., \"label\": ...})",
                    &amber);
    } else {
      indented_line(fmt::format("{} {}, {} {}", s.corpus_rows, s.corpus_rows == 1 ? "row" : "rows",
                                s.corpus_labels.size(), s.corpus_labels.size() == 1 ? "label" : "labels"));
    }
  }

  if (!s.extras.empty()) {
    section("Also in this workspace");
    for (auto& e : s.extras) ImGui::TextDisabled("%s", display_path(e).c_str());
  }

  section("Recent");
  if (s.recent.empty()) ImGui::TextDisabled("Nothing opened yet.");
  for (size_t i = 0; i < s.recent.size(); ++i) {
    ImGui::PushID(int(i));
    if (ImGui::Selectable(display_path(s.recent[i]).c_str())) {
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
  ImGui::Text("device %s · dtype %s · %d %s%s%s", s.device.c_str(), s.dtype.c_str(), s.threads,
              s.threads == 1 ? "thread" : "threads",
              s.blas_threads > 0 ? fmt::format(" (BLAS {})", s.blas_threads).c_str() : "",
              s.memory_mb > 0 ? fmt::format(" · {:.0f} MB in use", s.memory_mb).c_str() : "");
  if (s.model_weights_mib > 0)
    ImGui::TextDisabled("the model's weights: %.0f MiB of the memory in use, in %s", s.model_weights_mib,
                        s.model_weights_dtype.c_str());
  else if (!s.model_dir.empty())
    ImGui::TextDisabled("the model loads with its first job (Inspect, a map, evaluation)");

  section("Jobs");
  if (s.jobs.empty()) ImGui::TextDisabled("No jobs yet.");
  else if (ImGui::BeginTable("jobs", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_PadOuterX)) {
    // Columns that line up: the job, its state, its stage, its progress, Cancel.
    ImGui::TableSetupColumn("job", ImGuiTableColumnFlags_WidthFixed, font * 6);
    ImGui::TableSetupColumn("state", ImGuiTableColumnFlags_WidthFixed, font * 5.5f);
    ImGui::TableSetupColumn("stage", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("progress", ImGuiTableColumnFlags_WidthFixed, font * 12);
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed, font * 4);
    ImGui::TableHeadersRow();
    for (size_t i = 0; i < s.jobs.size(); ++i) {
      const auto& j = s.jobs[i];
      ImGui::PushID(int(i));
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(j.name.c_str());
      ImGui::TableNextColumn();
      const ImVec4 col = j.state == "failed"    ? ImVec4(1, 0.45f, 0.4f, 1)
                         : j.state == "running" ? ImVec4(0.55f, 0.8f, 1, 1)
                                                : ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled);
      ImGui::TextColored(col, "%s", j.state.c_str());
      ImGui::TableNextColumn();
      text_ellipsis(j.stage, ImGui::GetContentRegionAvail().x);
      ImGui::TableNextColumn();
      if (j.fraction >= 0) ImGui::ProgressBar(j.fraction, ImVec2(-1, 0), j.detail.c_str());
      else if (!j.detail.empty()) ImGui::TextDisabled("%s", j.detail.c_str());
      ImGui::TableNextColumn();
      if (j.can_cancel && ImGui::SmallButton("Cancel")) out.cancel_jobs.push_back(j.id);
      if (!j.error.empty()) {
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(2);
        ImGui::PushTextWrapPos(0);
        ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", display_path(j.error).c_str());
        ImGui::PopTextWrapPos();
      }
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
  return out;
}

}  // namespace genlens::views
