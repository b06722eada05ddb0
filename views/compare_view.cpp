#include "views/compare_view.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <limits>
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

std::vector<int> order_by_label(const std::vector<int>& sel, const std::vector<int>& labels) {
  std::vector<int> out = sel;
  auto key = [&](int i) {
    const int l = size_t(i) < labels.size() ? labels[size_t(i)] : -1;
    return l < 0 ? std::numeric_limits<int>::max() : l;  // unlabelled last
  };
  std::stable_sort(out.begin(), out.end(), [&](int a, int b) { return key(a) != key(b) ? key(a) < key(b) : a < b; });
  return out;
}

namespace {

std::string label_name(int i, const std::vector<int>& labels, const std::vector<std::string>& names) {
  const int l = size_t(i) < labels.size() ? labels[size_t(i)] : -1;
  return l >= 0 && size_t(l) < names.size() ? names[size_t(l)] : std::string("unlabelled");
}

// Runs of equal labels along `ordered`.
std::vector<HeatmapGroup> label_groups(const std::vector<int>& ordered, const std::vector<int>& labels,
                                       const std::vector<std::string>& names) {
  std::vector<HeatmapGroup> g;
  for (int k = 0; k < int(ordered.size()); ++k) {
    auto name = label_name(ordered[size_t(k)], labels, names);
    if (g.empty() || g.back().name != name) g.push_back({k, 0, name});
    ++g.back().count;
  }
  return g;
}

double dot(const std::vector<float>& emb, int64_t dim, int a, int b) {
  double c = 0;
  const float* x = emb.data() + size_t(a) * size_t(dim);
  const float* y = emb.data() + size_t(b) * size_t(dim);
  for (int64_t k = 0; k < dim; ++k) c += double(x[k]) * y[k];
  return c;
}

}  // namespace

HeatmapData cosine_matrix(const std::vector<float>& emb, int64_t dim, const std::vector<int>& ordered,
                          const std::vector<int>& labels, const std::vector<std::string>& names,
                          const std::vector<std::string>& texts) {
  HeatmapData h;
  const int n = int(ordered.size());
  h.rows = h.cols = n;
  h.square = true;
  h.value_name = "cosine";
  h.row_groups = h.col_groups = label_groups(ordered, labels, names);
  if (n <= 40)  // point numbers while they are readable; past that the groups say enough
    for (int i : ordered) {
      h.row_labels.push_back(fmt::format("#{}", i));
      h.col_labels.push_back(fmt::format("#{}", i));
    }
  auto line = [&](int i) {
    const std::string t = size_t(i) < texts.size() ? texts[size_t(i)] : "";
    return fmt::format("#{} [{}] {}", i, label_name(i, labels, names), t);
  };
  h.value.reserve(size_t(n) * size_t(n));
  for (int a : ordered)
    for (int b : ordered) {
      const double c = dot(emb, dim, a, b);
      h.value.push_back(float(c));
      h.cell_text.push_back(n <= 12 ? fmt::format("{:.2f}", c) : "");
      h.tooltip.push_back({fmt::format("cosine {:.4f}", c), line(a), line(b)});
    }
  return h;
}

HeatmapData label_mean_cosine(const std::vector<float>& emb, int64_t dim, const std::vector<int>& sel,
                              const std::vector<int>& labels, const std::vector<std::string>& names) {
  // Per label in the selection: the sum of its unit vectors and its count.
  const auto ordered = order_by_label(sel, labels);
  const auto groups = label_groups(ordered, labels, names);
  const int g = int(groups.size());
  std::vector<std::vector<double>> sum(size_t(g), std::vector<double>(size_t(dim), 0.0));
  for (int k = 0; k < g; ++k)
    for (int j = 0; j < groups[size_t(k)].count; ++j) {
      const float* x = emb.data() + size_t(ordered[size_t(groups[size_t(k)].start + j)]) * size_t(dim);
      for (int64_t c = 0; c < dim; ++c) sum[size_t(k)][size_t(c)] += x[c];
    }
  HeatmapData h;
  h.rows = h.cols = g;
  h.square = true;
  h.value_name = "mean cosine";
  for (auto& grp : groups) {
    h.row_labels.push_back(fmt::format("{} ({})", grp.name, grp.count));
    h.col_labels.push_back(grp.name);
  }
  for (int a = 0; a < g; ++a)
    for (int b = 0; b < g; ++b) {
      double s = 0;
      for (int64_t c = 0; c < dim; ++c) s += sum[size_t(a)][size_t(c)] * sum[size_t(b)][size_t(c)];
      const double na = groups[size_t(a)].count, nb = groups[size_t(b)].count;
      double mean = NAN, pairs = 0;
      if (a != b) pairs = na * nb, mean = s / pairs;
      else if (na > 1) pairs = na * (na - 1), mean = (s - na) / pairs;  // without each point with itself
      h.value.push_back(float(mean));
      h.cell_text.push_back(g <= 12 && std::isfinite(mean) ? fmt::format("{:.2f}", mean) : "");
      h.tooltip.push_back({std::isfinite(mean) ? fmt::format("mean cosine {:.4f} over {:.0f} pairs", mean, pairs)
                                               : std::string("one point: no pair within the label"),
                           fmt::format("{} ({} points)", groups[size_t(a)].name, groups[size_t(a)].count),
                           fmt::format("{} ({} points)", groups[size_t(b)].name, groups[size_t(b)].count)});
    }
  return h;
}

float share_colour_scale(const std::vector<HeatmapData*>& ms) {
  // Cosines of real embeddings crowd near 1: from the lowest one, not from -1.
  float lo = 1;
  for (auto* h : ms)
    for (float v : h->value)
      if (std::isfinite(v)) lo = std::min(lo, v);
  lo = std::min(lo, 0.999f);
  for (auto* h : ms) {
    for (float& v : h->value)
      if (std::isfinite(v)) v = std::clamp((v - lo) / (1 - lo), 0.0f, 1.0f);
    h->colour_bar = true;
    h->bar_lo = fmt::format("{:.2f}", lo);
    h->bar_hi = "1.00";
    h->bar_title = h->value_name;
  }
  return lo;
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
    ImGui::TextDisabled("%s", display_path(s.eval_source).c_str());
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
    const bool can_points = !s.sim_input.value.empty();
    bool by_label = st.by_label < 0 ? (s.sim_points > kAggregateAbove || !can_points) : st.by_label == 1;
    if (!can_points) by_label = true;
    ImGui::BeginDisabled(!can_points);
    if (ImGui::Checkbox("label × label means", &by_label)) st.by_label = by_label ? 1 : 0;
    ImGui::EndDisabled();
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
      ImGui::SetTooltip(can_points ? "The mean cosine between the points of two labels (within a label: distinct pairs)."
                                   : "Over %d points only the label means are shown.", kMaxPointMatrix);
    ImGui::SameLine();
    ImGui::TextDisabled("%d points; %s; hover a cell for the texts and their labels", s.sim_points,
                        by_label ? "rows and columns are labels" : "rows and columns ordered by label");
    const auto& gen = by_label ? s.sim_generative_labels : s.sim_generative;
    const auto& inp = by_label ? s.sim_input_labels : s.sim_input;
    const float half = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
    // Each matrix fits its half of the panel, or scrolls inside it (cells of at least 3 px).
    const float min_cell = 3;
    auto matrix = [&](const char* id, const char* title, const HeatmapData& h, HeatmapState& hs) {
      const float avail_h = std::max(ImGui::GetFontSize() * 10, ImGui::GetContentRegionAvail().y - ImGui::GetFontSize() * 1.5f);
      // Cells as large as both the half's width and the panel's height allow (at least
      // min_cell: then the matrix scrolls inside its half).
      const float w = heatmap_fit_width(h, half - 8, avail_h - 8, min_cell);
      const float need_w = heatmap_width(h, w, min_cell) + 4, need_h = heatmap_height(h, w, 0, min_cell) + 4;
      const bool scroll_x = need_w > half, scroll_y = need_h > avail_h;
      ImGui::BeginGroup();
      ImGui::TextDisabled("%s", title);
      ImGui::BeginChild(id, ImVec2(half, std::min(avail_h, need_h + (scroll_x ? ImGui::GetStyle().ScrollbarSize : 0))), false,
                        (scroll_x ? ImGuiWindowFlags_HorizontalScrollbar : 0) | (scroll_y ? 0 : ImGuiWindowFlags_NoScrollbar));
      draw_heatmap(id, h, hs, w, 0, min_cell);
      ImGui::EndChild();
      ImGui::EndGroup();
    };
    matrix("simgen", "generative", gen, st.heat_gen);
    ImGui::SameLine();
    matrix("siminput", "input-centric (mean pool)", inp, st.heat_input);
  }
  return out;
}

}  // namespace genlens::views
