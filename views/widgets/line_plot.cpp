#include "views/widgets/line_plot.h"

#include <fmt/format.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "views/widgets/palette.h"

namespace genlens::views {

std::vector<double> smooth_ema(const std::vector<double>& y, float weight) {
  if (weight <= 0) return y;
  std::vector<double> out(y.size());
  double acc = 0, norm = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      out[i] = y[i];
      continue;
    }
    acc = acc * weight + (1 - weight) * y[i];
    norm = norm * weight + (1 - weight);
    out[i] = acc / norm;  // debiased: the first points are not pulled towards 0
  }
  return out;
}

namespace {

double ty(double v, bool log_y) { return log_y ? std::log10(std::max(v, 1e-12)) : v; }

}  // namespace

std::string tick_label(double v, bool log_y) {
  if (log_y) v = std::pow(10.0, v);
  if (v == 0) v = 0;  // -0 reads as "0"
  double a = std::fabs(v);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) return fmt::format("{:.1e}", v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  // One format for the whole axis, from the step between ticks: "0, 0.0005, 0.001" read
  // unevenly; "0, 0.0005, 0.0010" (or 5e-4 steps in scientific notation) do not.
  std::vector<std::string> out;
  if (ticks.size() < 2) {
    for (double t : ticks) out.push_back(tick_label(t, false));
    return out;
  }
  double step = std::fabs(ticks[1] - ticks[0]), big = 0;
  for (double t : ticks) big = std::max(big, std::fabs(t));
  const bool sci = big >= 1e5 || (big > 0 && big < 1e-3);
  const int decimals = std::clamp(int(std::ceil(-std::log10(step) - 1e-9)), 0, 6);
  for (double t : ticks) {
    if (t == 0) out.push_back("0");
    else if (sci) out.push_back(fmt::format("{:.1e}", t));
    else out.push_back(fmt::format("{:.{}f}", t, decimals));
  }
  return out;
}

// About `n` round ticks across [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int n) {
  std::vector<double> t;
  if (!(hi > lo)) return t;
  double raw = (hi - lo) / n, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  // A short axis still gets two ticks: the next rounder step down (5 -> 2 -> 1 -> 0.5 ...).
  for (int k = 0; k < 6 && std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9) < 1; ++k) {
    const double lead = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    step *= lead > 4.5 ? 0.4 : 0.5;  // 5 -> 2, 2 -> 1, 1 -> 0.5
  }
  // Multiples of the step (no running sum: 0 is exactly 0, never -0 or 1e-17).
  const double i0 = std::ceil(lo / step - 1e-9), i1 = std::floor(hi / step + 1e-9);
  for (double i = i0; i <= i1 && t.size() < 200; ++i) t.push_back(i == 0 ? 0.0 : i * step);
  return t;
}

std::vector<double> log_ticks(double lo, double hi, int n) {
  // Round values on a log axis (lo, hi are log10): 1, 2, 5 x 10^k while they fit, else
  // only the powers of ten, else (a narrow range) round values in between.
  std::vector<double> t;
  if (!(hi > lo)) return t;
  for (const std::vector<double>& mults : {std::vector<double>{1, 2, 5}, std::vector<double>{1}}) {
    t.clear();
    for (double k = std::floor(lo); k <= std::ceil(hi); ++k)
      for (double m : mults) {
        const double v = std::log10(m) + k;
        if (v >= lo - 1e-9 && v <= hi + 1e-9) t.push_back(v);
      }
    if (int(t.size()) <= n + 1 && t.size() >= 2) return t;
  }
  if (t.size() >= 2) return t;
  // Under a factor of ten: round values of the data itself.
  t.clear();
  for (double v : nice_ticks(std::pow(10.0, lo), std::pow(10.0, hi), n))
    if (v > 0) t.push_back(std::log10(v));
  return t;
}

LinePlotResult draw_line_plot(const char* id, const std::vector<PlotSeries>& series, LinePlotState& st,
                              float width, float height, const char* x_label) {
  LinePlotResult res;
  ImGui::PushID(id);
  st.hidden.resize(series.size(), false);

  // Smoothed, transformed copies (y in plot space: log10 when log_y).
  std::vector<std::vector<double>> ys(series.size());
  double dx0 = std::numeric_limits<double>::infinity(), dx1 = -dx0, dy0 = dx0, dy1 = -dx0;
  for (size_t s = 0; s < series.size(); ++s) {
    ys[s] = smooth_ema(series[s].y, st.smoothing);
    for (auto& v : ys[s]) v = ty(v, st.log_y);
    if (st.hidden[s]) continue;
    for (size_t i = 0; i < ys[s].size() && i < series[s].x.size(); ++i) {
      if (!std::isfinite(ys[s][i])) continue;
      dx0 = std::min(dx0, series[s].x[i]);
      dx1 = std::max(dx1, series[s].x[i]);
      dy0 = std::min(dy0, ys[s][i]);
      dy1 = std::max(dy1, ys[s][i]);
    }
  }
  const bool empty = !(dx1 >= dx0);
  if (st.follow && !empty) {
    double py = (dy1 - dy0) * 0.06 + 1e-9;
    st.x0 = dx0;
    st.x1 = dx1 > dx0 ? dx1 : dx0 + 1;
    st.y0 = dy0 - py;
    st.y1 = dy1 + py;
  }

  const ImGuiStyle& style = ImGui::GetStyle();
  const float font = ImGui::GetFontSize();
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImVec2 size(std::max(width, 80.0f), std::max(height, 60.0f));
  ImGui::InvisibleButton("plot", size, ImGuiButtonFlags_MouseButtonLeft);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();

  const float left = font * 3.6f, bottom = font * 1.6f;
  ImVec2 a(p0.x + left, p0.y + style.FramePadding.y), b(p0.x + size.x - 6, p0.y + size.y - bottom);
  dl->AddRectFilled(a, b, IM_COL32(22, 24, 30, 255), 3.0f);
  auto sx = [&](double x) { return float(a.x + (x - st.x0) / (st.x1 - st.x0) * (b.x - a.x)); };
  auto sy = [&](double y) { return float(b.y - (y - st.y0) / (st.y1 - st.y0) * (b.y - a.y)); };

  // Grid and ticks.
  const ImU32 grid = IM_COL32(255, 255, 255, 22), tick_col = ImGui::GetColorU32(ImGuiCol_TextDisabled);
  const int ny = std::max(2, int((b.y - a.y) / (font * 2.5f)));
  const auto yt = st.log_y ? log_ticks(st.y0, st.y1, ny) : nice_ticks(st.y0, st.y1, ny);
  const auto yl = st.log_y ? [&] {
    std::vector<std::string> l;
    for (double t : yt) l.push_back(tick_label(t, true));
    return l;
  }()
                           : tick_labels(yt);
  for (size_t i = 0; i < yt.size(); ++i) {
    float y = sy(yt[i]);
    dl->AddLine(ImVec2(a.x, y), ImVec2(b.x, y), grid);
    dl->AddText(ImVec2(a.x - ImGui::CalcTextSize(yl[i].c_str()).x - 4, y - font * 0.5f), tick_col, yl[i].c_str());
  }
  auto xt = nice_ticks(st.x0, st.x1, std::max(2, int((b.x - a.x) / (font * 4.5f))));
  if (st.integer_x)  // layers, steps: no tick between two whole numbers
    xt.erase(std::remove_if(xt.begin(), xt.end(), [](double v) { return std::fabs(v - std::round(v)) > 1e-9; }),
             xt.end());
  const auto xl = tick_labels(xt);
  for (size_t i = 0; i < xt.size(); ++i) {
    float x = sx(xt[i]);
    dl->AddLine(ImVec2(x, a.y), ImVec2(x, b.y), grid);
    // Centred under its tick, but kept inside the widget (the last one is not cut off).
    const float tw = ImGui::CalcTextSize(xl[i].c_str()).x;
    const float tx = std::clamp(x - tw * 0.5f, p0.x, p0.x + size.x - tw);
    dl->AddText(ImVec2(tx, b.y + 2), tick_col, xl[i].c_str());
  }

  // Series, clipped to the plot area.
  dl->PushClipRect(a, b, true);
  std::vector<ImVec2> pts;
  for (size_t s = 0; s < series.size(); ++s) {
    if (st.hidden[s]) continue;
    ImU32 col = category_color(series[s].color >= 0 ? series[s].color : int(s));
    // Runs of finite values, each drawn as separate segments: a polyline's mitred joins
    // break up into dashes where the line turns sharply (a spike between two steps), and
    // a missing value (a gap in the log) is a gap, not a line across it. Many steps to a
    // pixel column keep its envelope (first, lowest, highest, last), not a zig-zag.
    const auto& xs = series[s].x;
    struct Column {
      bool open = false;
      float x = 0;
      ImVec2 first, low, high, last;
      size_t n = 0, i_low = 0, i_high = 0;
    } col_acc;
    auto emit_column = [&] {
      if (!col_acc.open) return;
      auto add = [&](ImVec2 q) {
        if (pts.empty() || std::fabs(q.x - pts.back().x) >= 0.01f || std::fabs(q.y - pts.back().y) >= 0.01f) pts.push_back(q);
      };
      add(col_acc.first);
      if (col_acc.i_low < col_acc.i_high) add(col_acc.low), add(col_acc.high);
      else add(col_acc.high), add(col_acc.low);
      add(col_acc.last);
      col_acc.open = false;
    };
    auto flush = [&] {
      emit_column();
      if (pts.size() == 1) dl->AddCircleFilled(pts[0], 2.0f, col);
      for (size_t k = 1; k < pts.size(); ++k) dl->AddLine(pts[k - 1], pts[k], col, 1.6f);
      pts.clear();
    };
    pts.clear();
    for (size_t i = 0; i < xs.size() && i < ys[s].size(); ++i) {
      if (!std::isfinite(ys[s][i])) {
        flush();
        continue;
      }
      ImVec2 p(sx(xs[i]), sy(ys[s][i]));
      // Far off the chart (zoomed in): clamped, so the segment keeps its direction in view.
      p.y = std::clamp(p.y, a.y - 4000.0f, b.y + 4000.0f);
      const float cx = std::floor(p.x);
      if (col_acc.open && cx == col_acc.x) {
        ++col_acc.n;
        if (p.y > col_acc.low.y) col_acc.low = p, col_acc.i_low = col_acc.n;  // screen y grows downwards
        if (p.y < col_acc.high.y) col_acc.high = p, col_acc.i_high = col_acc.n;
        col_acc.last = p;
        continue;
      }
      emit_column();
      col_acc.open = true;
      col_acc.x = cx;
      col_acc.first = col_acc.low = col_acc.high = col_acc.last = p;
      col_acc.n = col_acc.i_low = col_acc.i_high = 0;
    }
    flush();
  }
  if (empty) {
    const char* msg = "no data yet";
    ImVec2 ts = ImGui::CalcTextSize(msg);
    dl->AddText(ImVec2((a.x + b.x - ts.x) * 0.5f, (a.y + b.y - ts.y) * 0.5f), tick_col, msg);
  }

  // Interaction: wheel zooms around the mouse, drag pans, double-click refits.
  ImGuiIO& io = ImGui::GetIO();
  if (hovered && !empty) {
    double mx = st.x0 + (io.MousePos.x - a.x) / (b.x - a.x) * (st.x1 - st.x0);
    double my = st.y0 + (b.y - io.MousePos.y) / (b.y - a.y) * (st.y1 - st.y0);
    if (io.MouseWheel != 0) {
      double f = std::pow(0.85, io.MouseWheel);
      bool only_x = io.KeyShift, only_y = io.KeyCtrl;
      if (!only_y) st.x0 = mx + (st.x0 - mx) * f, st.x1 = mx + (st.x1 - mx) * f;
      if (!only_x) st.y0 = my + (st.y0 - my) * f, st.y1 = my + (st.y1 - my) * f;
      st.follow = false;
    }
    if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 1.0f)) {
      double ddx = io.MouseDelta.x / (b.x - a.x) * (st.x1 - st.x0);
      double ddy = io.MouseDelta.y / (b.y - a.y) * (st.y1 - st.y0);
      st.x0 -= ddx, st.x1 -= ddx, st.y0 += ddy, st.y1 += ddy;
      st.follow = false;
    }
    if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) st.follow = true;

    // Hover readout: each visible series' value at the nearest x.
    if (io.MousePos.x >= a.x && io.MousePos.x <= b.x && io.MousePos.y >= a.y && io.MousePos.y <= b.y) {
      res.hovered = true;
      res.hover_x = mx;
      dl->AddLine(ImVec2(io.MousePos.x, a.y), ImVec2(io.MousePos.x, b.y), IM_COL32(255, 255, 255, 70));
      ImGui::BeginTooltip();
      bool header = false;
      for (size_t s = 0; s < series.size(); ++s) {
        if (st.hidden[s] || series[s].x.empty()) continue;
        const auto& xs = series[s].x;
        size_t i = size_t(std::lower_bound(xs.begin(), xs.end(), mx) - xs.begin());
        if (i == xs.size() || (i > 0 && mx - xs[i - 1] < xs[i] - mx)) i = i ? i - 1 : 0;
        if (!header) {
          ImGui::Text("%s %s", x_label, tick_label(xs[i], false).c_str());
          header = true;
        }
        double raw = series[s].y[i];
        ImGui::ColorButton("##c", ImGui::ColorConvertU32ToFloat4(category_color(series[s].color >= 0 ? series[s].color : int(s))),
                           ImGuiColorEditFlags_NoTooltip, ImVec2(font * 0.7f, font * 0.7f));
        ImGui::SameLine();
        if (st.smoothing > 0)
          ImGui::Text("%s  %.5g  (smoothed %.5g)", series[s].name.c_str(), raw,
                      st.log_y ? std::pow(10.0, ys[s][i]) : ys[s][i]);
        else
          ImGui::Text("%s  %.5g", series[s].name.c_str(), raw);
      }
      ImGui::EndTooltip();
    }
  }
  dl->PopClipRect();
  dl->AddRect(a, b, IM_COL32(255, 255, 255, 40), 3.0f);

  // Legend (click toggles a series) on one line under the plot.
  for (size_t s = 0; s < series.size(); ++s) {
    if (s) ImGui::SameLine();
    ImVec4 c = ImGui::ColorConvertU32ToFloat4(category_color(series[s].color >= 0 ? series[s].color : int(s)));
    if (st.hidden[s]) c.w = 0.25f;
    ImGui::PushID(int(s));
    if (ImGui::ColorButton("##legend", c, ImGuiColorEditFlags_NoTooltip, ImVec2(font * 0.8f, font * 0.8f)))
      st.hidden[s] = !st.hidden[s];
    ImGui::SameLine(0, 4);
    if (st.hidden[s]) ImGui::TextDisabled("%s", series[s].name.c_str());
    else ImGui::TextUnformatted(series[s].name.c_str());
    if (ImGui::IsItemClicked()) st.hidden[s] = !st.hidden[s];
    ImGui::PopID();
  }
  ImGui::PopID();
  return res;
}

}  // namespace genlens::views
