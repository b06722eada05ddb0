#include "views/study_view.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <numeric>

#include "views/widgets/line_plot.h"
#include "views/widgets/palette.h"

namespace genlens::views {

namespace {
const ImVec4 kBest(0.55f, 0.9f, 0.55f, 1);
const ImVec4 kNear(0.95f, 0.8f, 0.45f, 1);
const ImVec4 kFaint(0.6f, 0.6f, 0.6f, 1);
const ImVec4 kMiss(1.0f, 0.5f, 0.45f, 1);

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && std::isfinite(out);
}

const std::string* setting_value(const StudyVariantRow& v, const std::string& key) {
  for (const auto& [k, val] : v.setting)
    if (k == key) return &val;
  return nullptr;
}

std::string variant_label(const StudySnapshot& s, int v) {
  if (v < 0 || size_t(v) >= s.variants.size()) return "(none)";
  return s.variants[size_t(v)].name;
}
}  // namespace

const StudySample* StudyProbe::sample(const std::string& id) const {
  for (const auto& r : samples)
    if (r.id == id) return &r;
  return nullptr;
}

int StudyProbe::index_of(const std::string& id) const {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] == id) return int(i);
  return -1;
}

std::string study_cell_text(const StudyCell& c) {
  if (!std::isfinite(c.mean)) return "-";
  if (c.runs > 1 && std::isfinite(c.spread)) return fmt::format("{:.3f} ± {:.3f}", c.mean, c.spread);
  return fmt::format("{:.3f}", c.mean);
}

std::vector<size_t> sorted_study_rows(const StudySnapshot& s, const StudyState& st) {
  std::vector<size_t> idx(s.variants.size());
  std::iota(idx.begin(), idx.end(), size_t(0));
  const int c = st.sort_column;
  if (c < 0) return idx;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t i, size_t j) {
    const auto &a = s.variants[i], &b = s.variants[j];
    if (c == 0) return st.ascending ? a.name < b.name : a.name > b.name;
    if (c == 1) return st.ascending ? a.runs_done < b.runs_done : a.runs_done > b.runs_done;
    const size_t k = size_t(c - 2);
    const double x = k < a.cells.size() ? a.cells[k].mean : NAN, y = k < b.cells.size() ? b.cells[k].mean : NAN;
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);  // missing last either way
    return st.ascending ? x < y : x > y;
  });
  return idx;
}

std::string shared_task_prefix(const std::vector<StudyColumnInfo>& columns) {
  std::vector<const std::string*> labels;
  for (const auto& c : columns)
    if (c.kind == "eval") labels.push_back(&c.label);
  if (labels.size() < 2) return "";
  std::string common = *labels[0];
  for (const auto* l : labels) {
    size_t n = 0;
    while (n < common.size() && n < l->size() && common[n] == (*l)[n]) ++n;
    common.resize(n);
  }
  // Cut at a '-' so the rest is a whole word, and leave every label a non-empty rest.
  for (size_t pos = common.rfind('-'); pos != std::string::npos; pos = pos ? common.rfind('-', pos - 1) : std::string::npos) {
    const size_t len = pos + 1;
    if (std::all_of(labels.begin(), labels.end(), [&](const std::string* l) { return l->size() > len; }))
      return common.substr(0, len);
  }
  return "";
}

void shorten_task_headers(StudySnapshot& s) {
  s.task_prefix = shared_task_prefix(s.columns);
  for (auto& c : s.columns)
    c.header = c.kind == "eval" && !s.task_prefix.empty() ? c.label.substr(s.task_prefix.size()) : c.label;
}

float StudyTableWidths::total() const {
  float t = 2 * pick + variant + seeds;
  for (float w : columns) t += w;
  return t;
}

StudyTableWidths study_table_widths(const StudySnapshot& s) {
  auto text_w = [](const std::string& t) { return ImGui::CalcTextSize(t.c_str()).x; };
  // A sorted header draws its arrow after the text.
  const float arrow = ImGui::GetFontSize() + ImGui::GetStyle().FramePadding.x;
  StudyTableWidths w;
  w.pick = std::max(text_w("A"), ImGui::GetFrameHeight());
  w.variant = text_w("variant") + arrow;
  w.seeds = text_w("seeds") + arrow;
  for (const auto& v : s.variants) {
    w.variant = std::max(w.variant, text_w(v.name));
    w.seeds = std::max(w.seeds, text_w(fmt::format("{}/{}", v.runs_done, v.runs_total)));
    if (v.runs_done == 0 && v.runs_total > 0) w.seeds = std::max(w.seeds, text_w("training…"));
  }
  const float tie = ImGui::GetFontSize() * 0.3f + text_w("~");
  for (size_t c = 0; c < s.columns.size(); ++c) {
    float cw = text_w(s.columns[c].shown()) + arrow;
    for (const auto& v : s.variants) {
      const StudyCell cell = c < v.cells.size() ? v.cells[c] : StudyCell{};
      cw = std::max(cw, text_w(study_cell_text(cell)) + (cell.near_best ? tie : 0.0f));
    }
    w.columns.push_back(cw);
  }
  return w;
}

int default_plot_axis(const StudySnapshot& s) { return s.zip && s.vary.size() > 1 ? kPlotByVariant : 0; }

std::vector<size_t> study_x_ticks(const StudyPlotData& d) {
  std::vector<size_t> out;
  std::vector<double> at;
  for (size_t i = 0; i < d.categories.size(); ++i) {
    double x = double(i);
    if (d.numeric_x) parse_number(d.categories[i], x);
    if (d.by_variant || std::find(at.begin(), at.end(), x) == at.end()) out.push_back(i), at.push_back(x);
  }
  std::vector<size_t> o(out.size());
  std::iota(o.begin(), o.end(), size_t(0));
  std::stable_sort(o.begin(), o.end(), [&](size_t i, size_t j) { return at[i] < at[j]; });
  std::vector<size_t> sorted;
  for (size_t i : o) sorted.push_back(out[i]);
  return sorted;
}

StudyPlotData study_plot_data(const StudySnapshot& s, int column, int axis) {
  StudyPlotData out;
  if (axis == kPlotByVariant && column >= 0 && size_t(column) < s.columns.size()) {
    out.by_variant = true;
    StudySeries ser;
    for (size_t v = 0; v < s.variants.size(); ++v) {
      out.categories.push_back(s.variants[v].name);
      const auto& row = s.variants[v];
      const auto& cell = size_t(column) < row.cells.size() ? row.cells[size_t(column)] : StudyCell{};
      if (!std::isfinite(cell.mean)) continue;
      ser.x.push_back(double(v));
      ser.y.push_back(cell.mean);
      ser.err.push_back(cell.runs > 1 && std::isfinite(cell.spread) ? cell.spread : 0.0);
      ser.variant.push_back(int(v));
    }
    out.series.push_back(std::move(ser));
    return out;
  }
  if (axis < 0 || size_t(axis) >= s.vary.size() || column < 0 || size_t(column) >= s.columns.size()) return out;
  const auto& ax = s.vary[size_t(axis)];
  out.categories = ax.values;
  out.numeric_x = !ax.values.empty();
  std::vector<double> num(ax.values.size(), NAN);
  for (size_t i = 0; i < ax.values.size(); ++i)
    if (!parse_number(ax.values[i], num[i])) out.numeric_x = false;
  std::map<std::string, size_t> series_of;  // the other settings' values -> series
  for (size_t v = 0; v < s.variants.size(); ++v) {
    const auto& row = s.variants[v];
    const std::string* val = setting_value(row, ax.key);
    if (!val) continue;
    const auto pos = std::find(ax.values.begin(), ax.values.end(), *val);
    if (pos == ax.values.end()) continue;
    const size_t k = size_t(pos - ax.values.begin());
    std::string others;
    for (const auto& [key, value] : row.setting)
      if (key != ax.key) others += (others.empty() ? "" : ", ") + key + "=" + value;
    auto [it, added] = series_of.emplace(others, out.series.size());
    if (added) out.series.push_back({others, {}, {}, {}, {}});
    const auto& cell = size_t(column) < row.cells.size() ? row.cells[size_t(column)] : StudyCell{};
    if (!std::isfinite(cell.mean)) continue;  // not finished: no point
    auto& ser = out.series[it->second];
    ser.x.push_back(out.numeric_x ? num[k] : double(k));
    ser.y.push_back(cell.mean);
    ser.err.push_back(cell.runs > 1 && std::isfinite(cell.spread) ? cell.spread : 0.0);
    ser.variant.push_back(int(v));
  }
  for (auto& ser : out.series) {  // lines run left to right
    std::vector<size_t> o(ser.x.size());
    std::iota(o.begin(), o.end(), size_t(0));
    std::stable_sort(o.begin(), o.end(), [&](size_t i, size_t j) { return ser.x[i] < ser.x[j]; });
    StudySeries sorted{ser.name, {}, {}, {}, {}};
    for (size_t i : o) {
      sorted.x.push_back(ser.x[i]);
      sorted.y.push_back(ser.y[i]);
      sorted.err.push_back(ser.err[i]);
      sorted.variant.push_back(ser.variant[i]);
    }
    ser = std::move(sorted);
  }
  return out;
}

std::vector<std::string> ids_of(const StudyProbe& p, const std::vector<uint8_t>& sel) {
  std::vector<std::string> out;
  for (size_t i = 0; i < sel.size() && i < p.ids.size(); ++i)
    if (sel[i]) out.push_back(p.ids[i]);
  return out;
}

std::vector<uint8_t> flags_for(const StudyProbe& p, const std::vector<std::string>& ids) {
  std::vector<uint8_t> out(p.ids.size(), 0);
  for (size_t i = 0; i < p.ids.size(); ++i)
    out[i] = std::find(ids.begin(), ids.end(), p.ids[i]) != ids.end() ? 1 : 0;
  return out;
}

StudyIntents draw_study_open_row(const StudySnapshot& s, StudyState& st) {
  StudyIntents out;
  const float font = ImGui::GetFontSize();
  ImGui::PushID("study-open");
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("Study");
  ImGui::SameLine();
  ImGui::SetNextItemWidth(std::max(font * 10, ImGui::GetContentRegionAvail().x - font * 8.5f));
  const bool enter = ImGui::InputTextWithHint("##path", "STUDY_DIR (what genlens study --out wrote)", st.path,
                                              sizeof st.path, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Open") || enter) && st.path[0]) out.open = st.path;
  ImGui::SameLine();
  ImGui::BeginDisabled(!s.open || s.status.kind == Status::Running);
  if (ImGui::Button("Reload")) out.reload = true;
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
    ImGui::SetTooltip("Read study.json again (genlens study rewrites it after every run).");
  if (s.status.kind != Status::Idle || !s.status.text.empty()) draw_status(s.status);
  ImGui::PopID();
  return out;
}

namespace {

void header_with_tooltip(int column, const char* name, const std::string& tip) {
  ImGui::TableSetColumnIndex(column);
  ImGui::TableHeader(name);
  if (!tip.empty() && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip.c_str());
}

bool draw_table(const StudySnapshot& s, StudyState& st) {
  bool picks = false;
  const int ncol = 4 + int(s.columns.size());
  // Every column as wide as its header and values: stretched in proportion when they fit
  // the width, else at those widths with a horizontal scrollbar (nothing is cut).
  const StudyTableWidths w = study_table_widths(s);
  const float pad = ImGui::GetStyle().CellPadding.x * 2 + 2;  // both sides and the border
  const float avail = ImGui::GetContentRegionAvail().x;
  const bool fits = w.total() + pad * float(ncol) <= avail;
  // Tristate: the rows stay in the study's order until a header is clicked.
  ImGuiTableFlags flags = ImGuiTableFlags_Borders | ImGuiTableFlags_RowBg | ImGuiTableFlags_Sortable |
                          ImGuiTableFlags_SortTristate |
                          (fits ? ImGuiTableFlags_SizingStretchProp : ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_ScrollX);
  const float row_h = ImGui::GetTextLineHeightWithSpacing() + ImGui::GetStyle().CellPadding.y * 2;
  const float frame_row_h = std::max(row_h, ImGui::GetFrameHeight() + ImGui::GetStyle().CellPadding.y * 2);
  ImVec2 outer(0, 0);
  const size_t shown_rows = std::min<size_t>(s.variants.size(), 10);
  if (s.variants.size() > 10) flags |= ImGuiTableFlags_ScrollY;  // long studies scroll, headers kept
  if (flags & (ImGuiTableFlags_ScrollX | ImGuiTableFlags_ScrollY))  // a scrolling table needs its height
    outer.y = row_h + frame_row_h * float(shown_rows) + ImGui::GetStyle().ScrollbarSize + 4;
  if (!ImGui::BeginTable("study", ncol, flags, outer)) return false;
  ImGui::TableSetupScrollFreeze(3, 1);  // the picks and the name stay while the scores scroll
  const auto sizing = fits ? ImGuiTableColumnFlags_WidthStretch : ImGuiTableColumnFlags_WidthFixed;
  // Stretch weights are the widths: each column gets at least what it needs when it fits.
  ImGui::TableSetupColumn("A", ImGuiTableColumnFlags_NoSort | ImGuiTableColumnFlags_WidthFixed, w.pick, 100);
  ImGui::TableSetupColumn("B", ImGuiTableColumnFlags_NoSort | ImGuiTableColumnFlags_WidthFixed, w.pick, 101);
  ImGui::TableSetupColumn("variant", sizing, w.variant, 0);
  ImGui::TableSetupColumn("seeds", sizing, w.seeds, 1);
  for (size_t c = 0; c < s.columns.size(); ++c)
    ImGui::TableSetupColumn(s.columns[c].shown().c_str(), sizing, w.columns[c], ImGuiID(2 + c));
  // Headers by hand: each one's tooltip says what it measures and which way is better.
  ImGui::TableNextRow(ImGuiTableRowFlags_Headers);
  header_with_tooltip(0, "A", "The variant shown on the left map below.");
  header_with_tooltip(1, "B", "The variant shown on the right map below.");
  header_with_tooltip(2, "variant", "The varied settings of this variant (click to sort).");
  header_with_tooltip(3, "seeds", "Finished runs of this variant / seeds asked for.");
  for (size_t c = 0; c < s.columns.size(); ++c) {
    const auto& col = s.columns[c];
    std::string tip = col.kind == "probe" ? fmt::format("held-out {} rate ({})", col.label, col.metric)
                                          : fmt::format("task {}: {} under the generative embedding", col.label, col.metric);
    tip += col.lower_is_better ? "\nlower is better" : "\nhigher is better";
    header_with_tooltip(4 + int(c), col.shown().c_str(), tip);
  }
  if (ImGuiTableSortSpecs* spec = ImGui::TableGetSortSpecs(); spec && spec->SpecsDirty) {
    st.sort_column = spec->SpecsCount > 0 ? int(spec->Specs[0].ColumnUserID) : -1;
    if (spec->SpecsCount > 0) st.ascending = spec->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
    spec->SpecsDirty = false;
  }
  for (size_t i : sorted_study_rows(s, st)) {
    const auto& v = s.variants[i];
    ImGui::PushID(int(i));
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::BeginDisabled(!v.has_probe());
    if (ImGui::RadioButton("##a", st.pick_a == int(i))) st.pick_a = int(i), picks = true;
    ImGui::TableNextColumn();
    if (ImGui::RadioButton("##b", st.pick_b == int(i))) st.pick_b = int(i), picks = true;
    ImGui::EndDisabled();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(v.name.c_str());
    ImGui::TableNextColumn();
    if (v.runs_done == v.runs_total) {
      ImGui::Text("%d/%d", v.runs_done, v.runs_total);
    } else {
      ImGui::TextColored(kNear, v.runs_done == 0 ? "training…" : "%d/%d", v.runs_done, v.runs_total);
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%d of %d seeds finished: genlens study is still training this variant, or was stopped "
                          "(rerun it to finish).%s",
                          v.runs_done, v.runs_total, v.runs_done > 0 ? " The mean is over the finished runs." : "");
    }
    for (size_t c = 0; c < s.columns.size(); ++c) {
      ImGui::TableNextColumn();
      const StudyCell cell = c < v.cells.size() ? v.cells[c] : StudyCell{};
      const std::string text = study_cell_text(cell);
      if (!std::isfinite(cell.mean)) {
        ImGui::TextDisabled("-");
      } else if (cell.best) {
        ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, IM_COL32(70, 150, 80, 70));
        ImGui::TextColored(kBest, "%s", text.c_str());
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("the best mean of this column");
      } else {
        ImGui::TextUnformatted(text.c_str());
      }
      if (cell.near_best) {
        ImGui::SameLine(0, ImGui::GetFontSize() * 0.3f);
        ImGui::TextColored(kNear, "~");
        if (ImGui::IsItemHovered())
          ImGui::SetTooltip("Within the spread of the best: the difference from the best is smaller than the seeds' "
                            "standard deviation, so it is noise at this many seeds.");
      }
    }
    ImGui::PopID();
  }
  ImGui::EndTable();
  return picks;
}

// Splits a variant's name at its spaces ("recon-weight=1 align-weight=0"): one setting a
// line under its x tick, so several variants' names fit side by side.
std::vector<std::string> name_lines(const std::string& name) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= name.size()) {
    const size_t sp = name.find(' ', at);
    const std::string part = name.substr(at, sp == std::string::npos ? std::string::npos : sp - at);
    if (!part.empty()) out.push_back(part);
    if (sp == std::string::npos) break;
    at = sp + 1;
  }
  if (out.empty()) out.push_back(name);
  return out;
}

// y = mean against x = the varied setting (or the variants), error bars of the spread, a
// line per series; the legend sits above the axes so it never covers a point.
void draw_plot(const StudySnapshot& s, const StudyPlotData& d, int column, int axis, float width, float height) {
  const float font = ImGui::GetFontSize();
  const float line_h = ImGui::GetTextLineHeight();
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImVec2 size(std::max(width, 120.0f), std::max(height, 80.0f));

  // Tick labels: each distinct x value once; a variant's name a setting per line.
  const std::vector<size_t> ticks = study_x_ticks(d);
  std::vector<std::vector<std::string>> tick_text(d.categories.size());
  size_t tick_lines = 1;
  for (size_t k : ticks) {
    tick_text[k] = d.by_variant ? name_lines(d.categories[k]) : std::vector<std::string>{d.categories[k]};
    tick_lines = std::max(tick_lines, tick_text[k].size());
  }
  // Legend entries laid out in rows above the axes.
  const bool legend = d.series.size() > 1;
  std::vector<ImVec2> legend_at;  // relative to p0
  float legend_h = 0;
  if (legend) {
    float x = font * 0.6f, y = font * 0.4f;
    for (const auto& ser : d.series) {
      const float w = font * 1.2f + ImGui::CalcTextSize(ser.name.c_str()).x;
      if (x > font * 0.6f && x + w > size.x - font * 0.6f) x = font * 0.6f, y += line_h + font * 0.3f;
      legend_at.emplace_back(x, y);
      x += w + font * 1.2f;
    }
    legend_h = y + line_h;
  }
  size.y += legend_h + float(tick_lines - 1) * line_h;
  ImGui::InvisibleButton("study-plot", size);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(p0, ImVec2(p0.x + size.x, p0.y + size.y), IM_COL32(18, 20, 26, 255), 4.0f);

  double y0 = std::numeric_limits<double>::infinity(), y1 = -y0;
  size_t points = 0;
  for (const auto& ser : d.series)
    for (size_t i = 0; i < ser.y.size(); ++i) {
      y0 = std::min(y0, ser.y[i] - ser.err[i]);
      y1 = std::max(y1, ser.y[i] + ser.err[i]);
      ++points;
    }
  const ImU32 faint = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  if (points == 0 || d.categories.empty()) {
    const char* msg = "no finished variant has this score yet";
    ImVec2 ts = ImGui::CalcTextSize(msg);
    dl->AddText(ImVec2(p0.x + (size.x - ts.x) * 0.5f, p0.y + (size.y - ts.y) * 0.5f), faint, msg);
    return;
  }
  {
    const double pad = (y1 - y0) * 0.1 + std::max(1e-6, std::fabs(y1) * 1e-3);
    y0 -= pad, y1 += pad;
  }
  // x: the setting's values; on a log scale when they are positive numbers spanning 50x or more.
  std::vector<double> xs;
  bool log_x = false;
  if (d.numeric_x) {
    double lo = INFINITY, hi = -INFINITY;
    for (auto& c : d.categories) {
      double v = std::strtod(c.c_str(), nullptr);
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
    log_x = lo > 0 && hi / lo >= 50;
    for (auto& c : d.categories) {
      double v = std::strtod(c.c_str(), nullptr);
      xs.push_back(log_x ? std::log10(v) : v);
    }
  } else {
    for (size_t i = 0; i < d.categories.size(); ++i) xs.push_back(double(i));
  }
  double x0 = *std::min_element(xs.begin(), xs.end()), x1 = *std::max_element(xs.begin(), xs.end());
  if (!d.numeric_x) x0 -= 0.5, x1 += 0.5;
  else {
    const double pad = x1 > x0 ? (x1 - x0) * 0.08 : 0.5;
    x0 -= pad, x1 += pad;
  }
  const auto y_ticks = nice_ticks(y0, y1, 5);
  const auto y_labels = tick_labels(y_ticks);
  float left = 0;
  for (auto& l : y_labels) left = std::max(left, ImGui::CalcTextSize(l.c_str()).x);
  const ImVec2 a(p0.x + left + font * 0.9f, p0.y + legend_h + font * 0.6f);
  const ImVec2 b(p0.x + size.x - font * 0.8f, p0.y + size.y - font * 1.4f - float(tick_lines) * line_h);
  auto sx = [&](double x) {
    if (log_x) x = std::log10(x);
    return float(a.x + (x - x0) / (x1 - x0) * (b.x - a.x));
  };
  auto sx_raw = [&](double x) { return float(a.x + (x - x0) / (x1 - x0) * (b.x - a.x)); };
  auto sy = [&](double y) { return float(b.y - (y - y0) / (y1 - y0) * (b.y - a.y)); };
  for (size_t k = 0; k < y_ticks.size(); ++k) {
    const float y = sy(y_ticks[k]);
    if (y < a.y - 1 || y > b.y + 1) continue;
    dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), IM_COL32(255, 255, 255, 22));
    const ImVec2 ts = ImGui::CalcTextSize(y_labels[k].c_str());
    dl->AddText(ImVec2(a.x - ts.x - font * 0.4f, y - ts.y * 0.5f), faint, y_labels[k].c_str());
  }
  float last_right = -INFINITY;
  for (size_t k : ticks) {
    const float x = sx_raw(xs[k]);
    dl->AddLine(ImVec2(x, a.y), ImVec2(x, b.y), IM_COL32(255, 255, 255, 14));
    float wide = 0;
    for (const auto& t : tick_text[k]) wide = std::max(wide, ImGui::CalcTextSize(t.c_str()).x);
    if (x - wide * 0.5f < last_right + font * 0.5f) continue;  // only where values crowd (a log axis)
    float y = b.y + font * 0.25f;
    for (const auto& t : tick_text[k]) {
      const float tw = ImGui::CalcTextSize(t.c_str()).x;
      dl->AddText(ImVec2(x - tw * 0.5f, y), faint, t.c_str());
      y += line_h;
    }
    last_right = x + wide * 0.5f;
  }
  dl->AddRect(a, b, IM_COL32(255, 255, 255, 50));
  const std::string x_title =
      d.by_variant ? std::string("variant (in study order)") : s.vary[size_t(axis)].key + (log_x ? " (log scale)" : "");
  {
    const ImVec2 ts = ImGui::CalcTextSize(x_title.c_str());
    dl->AddText(ImVec2(0.5f * (a.x + b.x) - ts.x * 0.5f, b.y + font * 0.45f + float(tick_lines) * line_h), faint,
                x_title.c_str());
  }

  // Series: lines, error bars with caps, points. Hover: the nearest point's variant.
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  float best_d = font * font * 0.6f;
  int hover_s = -1, hover_i = -1;
  dl->PushClipRect(a, b, true);
  for (size_t si = 0; si < d.series.size(); ++si) {
    const auto& ser = d.series[si];
    const ImU32 col = category_color(int(si));
    auto x_of = [&](size_t i) { return d.numeric_x ? sx(ser.x[i]) : sx_raw(ser.x[i]); };
    if (!d.by_variant)  // variants are not an order along which a score changes: no line
      for (size_t i = 0; i + 1 < ser.x.size(); ++i)
        dl->AddLine(ImVec2(x_of(i), sy(ser.y[i])), ImVec2(x_of(i + 1), sy(ser.y[i + 1])), col, 2.0f);
    for (size_t i = 0; i < ser.x.size(); ++i) {
      const float x = x_of(i), y = sy(ser.y[i]);
      if (ser.err[i] > 0) {
        const float e0 = sy(ser.y[i] - ser.err[i]), e1 = sy(ser.y[i] + ser.err[i]), cap = font * 0.3f;
        dl->AddLine(ImVec2(x, e0), ImVec2(x, e1), col, 1.5f);
        dl->AddLine(ImVec2(x - cap, e0), ImVec2(x + cap, e0), col, 1.5f);
        dl->AddLine(ImVec2(x - cap, e1), ImVec2(x + cap, e1), col, 1.5f);
      }
      dl->AddCircleFilled(ImVec2(x, y), d.by_variant ? 5.0f : 4.0f, col, 12);
      const float dx = mouse.x - x, dy = mouse.y - y;
      if (hovered && dx * dx + dy * dy < best_d) best_d = dx * dx + dy * dy, hover_s = int(si), hover_i = int(i);
    }
  }
  dl->PopClipRect();
  // Legend (one entry per combination of the other settings), above the axes.
  for (size_t si = 0; legend && si < d.series.size(); ++si) {
    const ImVec2 at(p0.x + legend_at[si].x, p0.y + legend_at[si].y);
    dl->AddLine(ImVec2(at.x, at.y + line_h * 0.5f), ImVec2(at.x + font * 0.8f, at.y + line_h * 0.5f),
                category_color(int(si)), 2.5f);
    dl->AddCircleFilled(ImVec2(at.x + font * 0.4f, at.y + line_h * 0.5f), 3.5f, category_color(int(si)), 12);
    dl->AddText(ImVec2(at.x + font * 1.1f, at.y), IM_COL32(235, 235, 235, 255), d.series[si].name.c_str());
  }
  if (hover_s >= 0) {
    const auto& ser = d.series[size_t(hover_s)];
    const int v = ser.variant[size_t(hover_i)];
    const auto& cell = s.variants[size_t(v)].cells[size_t(column)];
    ImGui::BeginTooltip();
    ImGui::TextUnformatted(s.variants[size_t(v)].name.c_str());
    ImGui::TextDisabled("%s: %s over %d run%s", s.columns[size_t(column)].label.c_str(), study_cell_text(cell).c_str(),
                        cell.runs, cell.runs == 1 ? "" : "s");
    ImGui::EndTooltip();
  }
}

// A ring around the point with `id` on a map drawn last at `rect` with `view`.
void ring(const StudyProbe& p, const ScatterData& data, const ScatterView& view, const float rect[4],
          const std::string& id, ImU32 col, float radius) {
  const int i = p.index_of(id);
  if (i < 0 || size_t(i) >= data.x.size() || rect[2] <= rect[0]) return;
  const ImVec2 mid(0.5f * (rect[0] + rect[2]), 0.5f * (rect[1] + rect[3]));
  const ImVec2 at(mid.x + (data.x[size_t(i)] - view.cx) * view.scale, mid.y - (data.y[size_t(i)] - view.cy) * view.scale);
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(ImVec2(rect[0], rect[1]), ImVec2(rect[2], rect[3]), true);
  dl->AddCircle(at, radius, col, 16, 2.0f);
  dl->PopClipRect();
}

void point_tooltip(const StudyProbe& p, int i) {
  if (i < 0 || size_t(i) >= p.ids.size()) return;
  const std::string& id = p.ids[size_t(i)];
  ImGui::BeginTooltip();
  ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
  const auto& lab = p.pca.label;
  const int l = size_t(i) < lab.size() ? lab[size_t(i)] : -1;
  ImGui::TextDisabled("%s%s%s", id.c_str(), l >= 0 && size_t(l) < p.label_names.size() ? " · " : "",
                      l >= 0 && size_t(l) < p.label_names.size() ? p.label_names[size_t(l)].c_str() : "");
  if (size_t(i) < p.texts.size()) ImGui::TextUnformatted(p.texts[size_t(i)].c_str());
  if (const auto* r = p.sample(id))
    ImGui::TextColored(r->decode_hit ? kBest : kMiss, "decoded: %s",
                       r->decoded.empty() ? "(nothing: end of text first)" : r->decoded.c_str());
  ImGui::TextDisabled("click: compare both variants on this query");
  ImGui::PopTextWrapPos();
  ImGui::EndTooltip();
}

void sample_block(const char* side, const StudySnapshot& s, const StudyProbe& p, const std::string& id) {
  ImGui::TextDisabled("%s · %s", side, variant_label(s, p.variant).c_str());
  const StudySample* r = p.sample(id);
  if (!r) {
    ImGui::TextDisabled("no sample for this query in %s/probe/samples.jsonl", p.run_dir.c_str());
    return;
  }
  ImGui::PushTextWrapPos(0);
  ImGui::TextColored(r->decode_hit ? kBest : kMiss, "%s", r->decode_hit ? "decoded (hit)" : "decoded (miss)");
  ImGui::SameLine();
  // An empty text is an answer too: the soft prompts' first token was an end of text.
  if (r->decoded.empty()) ImGui::TextDisabled("(nothing: the first token decoded was the end of text)");
  else ImGui::TextUnformatted(r->decoded.c_str());
  std::string words;
  for (const auto& w : r->lens_top10) words += (words.empty() ? "" : " · ") + w;
  ImGui::TextColored(r->lens_hit ? kBest : kMiss, "%s", r->lens_hit ? "lens (hit)" : "lens (miss)");
  ImGui::SameLine();
  ImGui::TextUnformatted(words.empty() ? "-" : words.c_str());
  ImGui::PopTextWrapPos();
}

bool variant_combo(const char* label, const StudySnapshot& s, int& pick) {
  bool changed = false;
  float w = ImGui::GetFontSize() * 6;  // as wide as the longest name
  for (const auto& v : s.variants) w = std::max(w, ImGui::CalcTextSize(v.name.c_str()).x);
  ImGui::SetNextItemWidth(w + ImGui::GetFrameHeight() + ImGui::GetStyle().FramePadding.x * 2);
  if (ImGui::BeginCombo(label, variant_label(s, pick).c_str())) {
    for (size_t v = 0; v < s.variants.size(); ++v) {
      ImGui::BeginDisabled(!s.variants[v].has_probe());
      if (ImGui::Selectable(s.variants[v].name.c_str(), pick == int(v))) pick = int(v), changed = true;
      ImGui::EndDisabled();
    }
    ImGui::EndCombo();
  }
  return changed;
}

bool draw_maps(const StudySnapshot& s, StudyState& st) {
  bool picks = false;
  const float font = ImGui::GetFontSize();
  ImGui::AlignTextToFramePadding();
  ImGui::TextUnformatted("A");
  ImGui::SameLine();
  picks |= variant_combo("##pick-a", s, st.pick_a);
  ImGui::SameLine(0, font * 1.2f);
  ImGui::TextUnformatted("B");
  ImGui::SameLine();
  picks |= variant_combo("##pick-b", s, st.pick_b);
  ImGui::SameLine(0, font * 1.2f);
  if (ImGui::RadioButton("UMAP", st.umap)) st.umap = true;
  ImGui::SameLine();
  if (ImGui::RadioButton("PCA", !st.umap)) st.umap = false;

  const StudyProbe* probes[2] = {&s.a, &s.b};
  const bool ready = s.a.status.is_ready() && s.b.status.is_ready();
  if (!ready) {
    // Not both maps: say why in words where the maps would be; once when it is the study's
    // (no held-out queries at all), else per side.
    auto no_map = [](const StudyProbe& p) {
      return p.status.kind == Status::Unavailable && p.status.text.rfind("no held-out map", 0) == 0;
    };
    if (no_map(s.a) && no_map(s.b)) {
      ImGui::PushTextWrapPos(0);
      ImGui::TextColored(ImVec4(0.85f, 0.75f, 0.45f, 1),
                         "No held-out maps: neither variant's run has probe/map.json. The study was run without "
                         "held-out queries (genlens study --heldout FILE), so there is nothing to map or decode.");
      ImGui::PopTextWrapPos();
      return picks;
    }
    for (int k = 0; k < 2; ++k) {
      ImGui::TextDisabled("%s · %s:", k == 0 ? "A" : "B", variant_label(s, probes[k]->variant).c_str());
      ImGui::SameLine();
      if (draw_status(probes[k]->status)) ImGui::TextDisabled("map ready");
    }
    return picks;
  }
  // One label list for both (the app merged them), so one legend colours both maps.
  if (!s.a.label_names.empty()) {
    ImGui::TextDisabled("colour: label (click to hide)");
    ImGui::SameLine();
    draw_label_legend(s.a.label_names, st.hidden_a);
  }
  st.hidden_b = st.hidden_a;
  const float half = (ImGui::GetContentRegionAvail().x - ImGui::GetStyle().ItemSpacing.x) * 0.5f;
  const float h = std::max(font * 14, std::min(font * 24, half * 0.75f));
  std::string hovered_now;
  auto panel = [&](const char* id, const StudyProbe& p, ScatterView& view, std::vector<uint8_t>& sel,
                   float rect[4], const char* side) {
    ImGui::BeginGroup();
    ImGui::TextUnformatted(side);
    ImGui::SameLine();
    text_ellipsis(variant_label(s, p.variant) + "  ·  " + p.run_dir, half - font * 2, true);
    const ScatterData& data = st.umap ? p.umap : p.pca;
    sel = flags_for(p, st.selected_ids);
    auto r = draw_scatter(id, data, view, sel, st.hidden_a, half, h);
    const ImVec2 mn = ImGui::GetItemRectMin(), mx = ImGui::GetItemRectMax();
    rect[0] = mn.x, rect[1] = mn.y, rect[2] = mx.x, rect[3] = mx.y;
    ImGui::EndGroup();
    if (r.hovered >= 0 && size_t(r.hovered) < p.ids.size()) {
      hovered_now = p.ids[size_t(r.hovered)];
      point_tooltip(p, r.hovered);
    }
    if (r.clicked >= 0 && size_t(r.clicked) < p.ids.size()) {
      st.inspected_id = p.ids[size_t(r.clicked)];
      st.selected_ids = {st.inspected_id};
    } else if (r.selection_changed) {
      st.selected_ids = ids_of(p, sel);
    }
  };
  panel("map-a", s.a, st.view_a, st.sel_a, st.map_a_rect, "A");
  ImGui::SameLine();
  panel("map-b", s.b, st.view_b, st.sel_b, st.map_b_rect, "B");
  // The other map's twin of what the mouse is over, and the inspected query on both.
  st.sel_a = flags_for(s.a, st.selected_ids);
  st.sel_b = flags_for(s.b, st.selected_ids);
  st.hovered_id = hovered_now;
  const ScatterData& da = st.umap ? s.a.umap : s.a.pca;
  const ScatterData& db = st.umap ? s.b.umap : s.b.pca;
  if (!st.inspected_id.empty()) {
    ring(s.a, da, st.view_a, st.map_a_rect, st.inspected_id, IM_COL32(255, 220, 90, 255), 9);
    ring(s.b, db, st.view_b, st.map_b_rect, st.inspected_id, IM_COL32(255, 220, 90, 255), 9);
  }
  if (!hovered_now.empty()) {
    ring(s.a, da, st.view_a, st.map_a_rect, hovered_now, IM_COL32(255, 255, 255, 255), 8);
    ring(s.b, db, st.view_b, st.map_b_rect, hovered_now, IM_COL32(255, 255, 255, 255), 8);
  }
  ImGui::TextDisabled("%zu selected · hover a point: the same query is ringed on the other map · click: compare the "
                      "two variants on it · drag: box-select on both",
                      st.selected_ids.size());

  // The inspected query under both variants.
  if (st.inspected_id.empty()) return picks;
  const StudySample* q = s.a.sample(st.inspected_id);
  if (!q) q = s.b.sample(st.inspected_id);
  ImGui::Spacing();
  ImGui::PushTextWrapPos(0);
  if (q) ImGui::Text("%s  ·  %s  ·  %s", q->id.c_str(), q->category.c_str(), q->question.c_str());
  else ImGui::Text("%s", st.inspected_id.c_str());
  ImGui::PopTextWrapPos();
  if (ImGui::BeginTable("inspected", 2, ImGuiTableFlags_BordersInnerV | ImGuiTableFlags_SizingStretchSame)) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    sample_block("A", s, s.a, st.inspected_id);
    ImGui::TableNextColumn();
    sample_block("B", s, s.b, st.inspected_id);
    ImGui::EndTable();
  }
  return picks;
}

}  // namespace

StudyIntents draw_study_view(const StudySnapshot& s, StudyState& st) {
  StudyIntents out;
  const float font = ImGui::GetFontSize();
  if (!s.open) return out;
  ImGui::TextDisabled("%s", s.summary.c_str());

  section("Variants");
  ImGui::TextDisabled(s.seeds > 1 ? "mean ± standard deviation over the seeds; best of each column in green; ~ within "
                                    "the spread of the best (noise); A / B: the variants on the maps below"
                                  : "one seed per variant (no spread); best of each column in green; A / B: the "
                                    "variants on the maps below");
  if (!s.task_prefix.empty()) {
    ImGui::TextDisabled("tasks: %s*", s.task_prefix.c_str());
    if (ImGui::IsItemHovered())
      ImGui::SetTooltip("Every task column's name starts with %s: the headers show the rest (hover a header for its "
                        "full name and metric).", s.task_prefix.c_str());
  }
  if (s.columns.empty() || s.variants.empty()) ImGui::TextDisabled("this study has no variants or no scores yet");
  else out.picks_changed |= draw_table(s, st);

  if (!s.vary.empty() && !s.columns.empty()) {
    section(s.zip && s.vary.size() > 1 ? "Score by variant or setting" : "Score against a setting");
    st.plot_column = std::clamp(st.plot_column, 0, int(s.columns.size()) - 1);
    if (st.plot_axis != kPlotByVariant) st.plot_axis = std::clamp(st.plot_axis, 0, int(s.vary.size()) - 1);
    auto combo_width = [&](const std::vector<std::string>& items) {
      float w = font * 4;
      for (const auto& t : items) w = std::max(w, ImGui::CalcTextSize(t.c_str()).x);
      return w + ImGui::GetFrameHeight() + ImGui::GetStyle().FramePadding.x * 2;
    };
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("score");
    ImGui::SameLine();
    std::vector<std::string> names;
    for (const auto& c : s.columns) names.push_back(c.shown());
    ImGui::SetNextItemWidth(combo_width(names));
    if (ImGui::BeginCombo("##plot-col", s.columns[size_t(st.plot_column)].shown().c_str())) {
      for (size_t c = 0; c < s.columns.size(); ++c)
        if (ImGui::Selectable(s.columns[c].shown().c_str(), st.plot_column == int(c))) st.plot_column = int(c);
      ImGui::EndCombo();
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.columns[size_t(st.plot_column)].label.c_str());
    ImGui::SameLine(0, font);
    ImGui::TextUnformatted("against");
    ImGui::SameLine();
    const char* by_variant = "variant";
    std::vector<std::string> axes{by_variant};
    for (const auto& v : s.vary) axes.push_back(v.key);
    ImGui::SetNextItemWidth(combo_width(axes));
    const std::string axis_name = st.plot_axis == kPlotByVariant ? by_variant : s.vary[size_t(st.plot_axis)].key;
    if (ImGui::BeginCombo("##plot-axis", axis_name.c_str())) {
      if (ImGui::Selectable(by_variant, st.plot_axis == kPlotByVariant)) st.plot_axis = kPlotByVariant;
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("Each variant at its own place, in the study's order.");
      for (size_t a = 0; a < s.vary.size(); ++a)
        if (ImGui::Selectable(s.vary[a].key.c_str(), st.plot_axis == int(a))) st.plot_axis = int(a);
      ImGui::EndCombo();
    }
    const auto& col = s.columns[size_t(st.plot_column)];
    ImGui::SameLine(0, font);
    std::string note = col.lower_is_better ? "lower is better" : "higher is better";
    note += s.seeds > 1 ? "; error bars: the seeds' standard deviation" : "; one seed: no error bars";
    if (st.plot_axis != kPlotByVariant && s.vary.size() > 1) {
      note += "; one line per value of the other settings";
      if (s.zip) note += " (zip: the settings change together)";
    }
    ImGui::TextDisabled("%s", note.c_str());
    const auto data = study_plot_data(s, st.plot_column, st.plot_axis);
    draw_plot(s, data, st.plot_column, st.plot_axis, ImGui::GetContentRegionAvail().x, font * 12);
  }

  section("Held-out queries: two variants' maps, linked");
  out.picks_changed |= draw_maps(s, st);
  return out;
}

}  // namespace genlens::views
