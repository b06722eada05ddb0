#include "views/compare_view.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace genlens::views {

double gain_percent(const EvalRow& r) {
  if (std::isfinite(r.gain)) return r.gain;
  if (r.scores.size() < 2) return NAN;
  double a = r.scores.front(), b = r.scores.back();
  if (!std::isfinite(a) || !std::isfinite(b) || a == 0) return NAN;
  return (r.lower_is_better ? a - b : b - a) / std::fabs(a) * 100.0;
}

std::vector<size_t> sorted_rows(const CompareSnapshot& s, const CompareState& st) {
  std::vector<size_t> idx(s.rows.size());
  std::iota(idx.begin(), idx.end(), size_t(0));
  const int c = st.sort_column;
  const int nm = int(s.modes.size());
  if (c < 0) return idx;
  auto num = [&](const EvalRow& r) {
    if (c >= 2 && c < 2 + nm) return size_t(c - 2) < r.scores.size() ? r.scores[size_t(c - 2)] : NAN;
    return gain_percent(r);
  };
  std::stable_sort(idx.begin(), idx.end(), [&](size_t i, size_t j) {
    const auto &a = s.rows[i], &b = s.rows[j];
    if (c == 0) return st.ascending ? a.task < b.task : a.task > b.task;
    if (c == 1) return st.ascending ? a.kind < b.kind : a.kind > b.kind;
    double x = num(a), y = num(b);
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);  // NaN last either way
    return st.ascending ? x < y : x > y;
  });
  return idx;
}

namespace {
std::string cell(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : ""; }
std::string gain_cell(double g) { return std::isfinite(g) ? fmt::format("{:+.1f}%", g) : ""; }
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::string table_csv(const CompareSnapshot& s) {
  std::string out = "task,kind,metric";
  for (auto& m : s.modes) out += "," + csv_field(m);
  out += ",gain_percent\n";
  for (auto& r : s.rows) {
    out += csv_field(r.task) + "," + csv_field(r.kind) + "," + csv_field(r.metric);
    for (size_t m = 0; m < s.modes.size(); ++m) out += "," + cell(m < r.scores.size() ? r.scores[m] : NAN);
    double g = gain_percent(r);
    out += "," + (std::isfinite(g) ? fmt::format("{:.2f}", g) : std::string()) + "\n";
  }
  return out;
}

std::string table_markdown(const CompareSnapshot& s) {
  std::string out = "| task | kind | metric |";
  for (auto& m : s.modes) out += " " + m + " |";
  out += " gain |\n|---|---|---|";
  for (size_t m = 0; m < s.modes.size(); ++m) out += "---:|";
  out += "---:|\n";
  for (auto& r : s.rows) {
    out += "| " + r.task + " | " + r.kind + " | " + r.metric + " |";
    for (size_t m = 0; m < s.modes.size(); ++m) out += " " + cell(m < r.scores.size() ? r.scores[m] : NAN) + " |";
    out += " " + gain_cell(gain_percent(r)) + " |\n";
  }
  return out;
}

CompareIntents draw_compare_view(const CompareSnapshot& s, CompareState& st) {
  CompareIntents out;
  section("Evaluation");
  if (ImGui::Button("Run evaluation")) out.run_eval = true;
  ImGui::SameLine();
  if (ImGui::Button("Copy CSV")) out.export_csv = true;
  ImGui::SameLine();
  if (ImGui::Button("Copy Markdown")) out.export_markdown = true;
  if (!s.eval_source.empty()) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", s.eval_source.c_str());
  }
  if (draw_status(s.eval_status)) {
    ImGui::TextDisabled("main metric per task; best mode in green; gain = generative vs the best input-centric mode "
                        "(lower is better for harmful@k)");
    for (auto& n : s.notes) ImGui::TextDisabled("%s", n.c_str());
    const int ncol = 3 + int(s.modes.size()) + 1;
    ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_Sortable |
                            ImGuiTableFlags_SizingStretchProp;
    if (ImGui::BeginTable("eval", ncol, flags)) {
      ImGui::TableSetupColumn("task", ImGuiTableColumnFlags_WidthStretch, 2.0f, 0);
      ImGui::TableSetupColumn("kind", ImGuiTableColumnFlags_WidthStretch, 1.0f, 1);
      ImGui::TableSetupColumn("metric", ImGuiTableColumnFlags_NoSort | ImGuiTableColumnFlags_WidthStretch, 1.0f, 99);
      for (size_t m = 0; m < s.modes.size(); ++m)
        ImGui::TableSetupColumn(s.modes[m].c_str(), ImGuiTableColumnFlags_WidthStretch, 1.0f, ImGuiID(2 + m));
      ImGui::TableSetupColumn("gain", ImGuiTableColumnFlags_WidthStretch, 1.0f, ImGuiID(2 + s.modes.size()));
      ImGui::TableHeadersRow();
      if (ImGuiTableSortSpecs* spec = ImGui::TableGetSortSpecs(); spec && spec->SpecsDirty) {
        if (spec->SpecsCount > 0) {
          st.sort_column = int(spec->Specs[0].ColumnUserID);
          st.ascending = spec->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
        }
        spec->SpecsDirty = false;
      }
      for (size_t i : sorted_rows(s, st)) {
        const auto& r = s.rows[i];
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(r.task.c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(r.kind.c_str());
        ImGui::TableNextColumn();
        ImGui::TextDisabled("%s", r.metric.c_str());
        double best = r.lower_is_better ? INFINITY : -INFINITY;
        for (double v : r.scores)
          if (std::isfinite(v)) best = r.lower_is_better ? std::min(best, v) : std::max(best, v);
        for (size_t m = 0; m < s.modes.size(); ++m) {
          ImGui::TableNextColumn();
          double v = m < r.scores.size() ? r.scores[m] : NAN;
          if (std::isfinite(v) && v == best) ImGui::TextColored(ImVec4(0.6f, 0.9f, 0.6f, 1), "%.4f", v);
          else ImGui::TextUnformatted(cell(v).c_str());
        }
        ImGui::TableNextColumn();
        double g = gain_percent(r);
        ImVec4 col = !std::isfinite(g) ? ImVec4(0.6f, 0.6f, 0.6f, 1) : g >= 0 ? ImVec4(0.5f, 0.9f, 0.5f, 1) : ImVec4(1, 0.5f, 0.45f, 1);
        ImGui::TextColored(col, "%s", gain_cell(g).c_str());
      }
      ImGui::EndTable();
    }
  }
  section("Cosine similarity of the selection (select points on the map)");
  if (draw_status(s.sim_status)) {
    if (!s.sim_scale.empty()) ImGui::TextDisabled("%s; hover a cell for the texts", s.sim_scale.c_str());
    const float half = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
    ImGui::BeginGroup();
    ImGui::TextDisabled("generative");
    draw_heatmap("simgen", s.sim_generative, st.heat_gen, half);
    ImGui::EndGroup();
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextDisabled("input-centric");
    draw_heatmap("siminput", s.sim_input, st.heat_input, half);
    ImGui::EndGroup();
  }
  return out;
}

}  // namespace genlens::views
