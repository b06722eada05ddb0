#include "views/widgets/scatter.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "views/widgets/palette.h"

namespace genlens::views {

namespace {
PointRenderer* g_renderer = nullptr;
size_t g_renderer_min = 20000;
}  // namespace

void set_point_renderer(PointRenderer* r, size_t min_points) {
  g_renderer = r;
  g_renderer_min = min_points;
}

std::vector<int> points_in_box(const ScatterData& d, float x0, float y0, float x1, float y1) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  std::vector<int> out;
  for (size_t i = 0; i < d.x.size() && i < d.y.size(); ++i)
    if (d.x[i] >= x0 && d.x[i] <= x1 && d.y[i] >= y0 && d.y[i] <= y1) out.push_back(int(i));
  return out;
}

std::vector<LabelPlacement> place_labels(const std::vector<LabelRequest>& req, const LabelBox& bounds,
                                         const std::vector<LabelBox>& reserved, float gap,
                                         const std::function<int(const LabelBox&)>& covered) {
  std::vector<LabelPlacement> out(req.size());
  std::vector<LabelBox> taken = reserved;
  const float pad = 3;
  for (size_t i = 0; i < req.size(); ++i) {
    const auto& r = req[i];
    if (r.ax < bounds.x0 || r.ax > bounds.x1 || r.ay < bounds.y0 || r.ay > bounds.y1) continue;  // off the plot
    if (r.w > bounds.x1 - bounds.x0 || r.h > bounds.y1 - bounds.y0) continue;
    // Top-left corners, nearest first: above, below, right, left, the diagonals; then
    // stacked one label further up or down (twice), so crowded labels fan out.
    std::vector<std::pair<float, float>> cand;
    const float g = gap, step = r.h + pad + 1;
    cand.push_back({r.ax - r.w * 0.5f, r.ay - r.h - g});
    cand.push_back({r.ax - r.w * 0.5f, r.ay + g});
    cand.push_back({r.ax + g, r.ay - r.h * 0.5f});
    cand.push_back({r.ax - g - r.w, r.ay - r.h * 0.5f});
    cand.push_back({r.ax + g * 0.5f, r.ay - r.h - g});
    cand.push_back({r.ax - r.w - g * 0.5f, r.ay - r.h - g});
    cand.push_back({r.ax + g * 0.5f, r.ay + g});
    cand.push_back({r.ax - r.w - g * 0.5f, r.ay + g});
    for (int k = 1; k <= 2; ++k) {
      cand.push_back({r.ax - r.w * 0.5f, r.ay - r.h - g - float(k) * step});
      cand.push_back({r.ax - r.w * 0.5f, r.ay + g + float(k) * step});
      cand.push_back({r.ax + g * 0.5f, r.ay - r.h - g - float(k) * step});
      cand.push_back({r.ax - r.w - g * 0.5f, r.ay - r.h - g - float(k) * step});
      cand.push_back({r.ax + g * 0.5f, r.ay + g + float(k) * step});
      cand.push_back({r.ax - r.w - g * 0.5f, r.ay + g + float(k) * step});
    }
    int best_cost = -1;
    for (auto& c : cand) {
      LabelBox b;
      b.x0 = std::clamp(c.first, bounds.x0, bounds.x1 - r.w);
      b.y0 = std::clamp(c.second, bounds.y0, bounds.y1 - r.h);
      b.x1 = b.x0 + r.w, b.y1 = b.y0 + r.h;
      bool free = true;
      for (auto& t : taken)
        if (b.overlaps(t, pad)) {
          free = false;
          break;
        }
      if (!free) continue;
      const int cost = covered ? covered(b) : 0;
      if (best_cost < 0 || cost < best_cost) {
        best_cost = cost;
        out[i] = {true, b};
      }
      if (cost == 0) break;  // nearest place that hides nothing
    }
    if (out[i].placed) taken.push_back(out[i].box);
  }
  return out;
}

bool draw_label_legend(const std::vector<std::string>& names, std::vector<bool>& hidden) {
  hidden.resize(names.size(), false);
  bool changed = false;
  const float font = ImGui::GetFontSize();
  for (size_t l = 0; l < names.size(); ++l) {
    ImGui::PushID(int(l));
    ImVec4 c = ImGui::ColorConvertU32ToFloat4(category_color(int(l)));
    if (hidden[l]) c.w = 0.2f;
    bool click = ImGui::ColorButton("##lab", c, ImGuiColorEditFlags_NoTooltip, ImVec2(font * 0.8f, font * 0.8f));
    ImGui::SameLine(0, 4);
    if (hidden[l]) ImGui::TextDisabled("%s", names[l].c_str());
    else ImGui::TextUnformatted(names[l].c_str());
    click |= ImGui::IsItemClicked();
    if (click) {
      hidden[l] = !hidden[l];
      changed = true;
    }
    ImGui::PopID();
    // Wrap like text: stay on this line while the next entry fits.
    if (l + 1 < names.size()) {
      float next = ImGui::CalcTextSize(names[l + 1].c_str()).x + font * 2;
      float right = ImGui::GetItemRectMax().x + next;
      if (right < ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x) ImGui::SameLine(0, font);
    }
  }
  return changed;
}

ScatterResult draw_scatter(const char* id, const ScatterData& d, ScatterView& v, std::vector<uint8_t>& selected,
                           std::vector<bool>& hidden, float width, float height, int density_above) {
  ScatterResult res;
  const size_t n = std::min(d.x.size(), d.y.size());
  selected.resize(n, 0);
  hidden.resize(d.label_names.size(), false);
  ImGui::PushID(id);
  ImVec2 p0 = ImGui::GetCursorScreenPos();
  ImVec2 size(std::max(width, 60.0f), std::max(height, 60.0f));
  ImGui::InvisibleButton("scatter", size, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
  const bool hovered = ImGui::IsItemHovered();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  ImVec2 a = p0, b(p0.x + size.x, p0.y + size.y);
  dl->AddRectFilled(a, b, IM_COL32(18, 20, 26, 255), 4.0f);

  auto label_of = [&](size_t i) { return i < d.label.size() ? d.label[i] : -1; };
  auto visible = [&](size_t i) {
    int l = label_of(i);
    return l < 0 || l >= int(hidden.size()) || !hidden[size_t(l)];
  };

  if (v.fit && n > 0) {
    // Bounds pass only when the data changed (a million points: ~1 ms saved a frame).
    if (v.bounds_version != d.version || v.bounds_n != n || d.version == 0) {
      float x0 = std::numeric_limits<float>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(d.x[i]) || !std::isfinite(d.y[i])) continue;
        x0 = std::min(x0, d.x[i]), x1 = std::max(x1, d.x[i]);
        y0 = std::min(y0, d.y[i]), y1 = std::max(y1, d.y[i]);
      }
      v.bx0 = x0, v.bx1 = x1, v.by0 = y0, v.by1 = y1;
      v.bounds_version = d.version, v.bounds_n = n;
    }
    float x0 = v.bx0, x1 = v.bx1, y0 = v.by0, y1 = v.by1;
    if (d.has_marker) {
      x0 = std::min(x0, d.marker_x), x1 = std::max(x1, d.marker_x);
      y0 = std::min(y0, d.marker_y), y1 = std::max(y1, d.marker_y);
    }
    if (x1 >= x0) {
      v.cx = 0.5f * (x0 + x1), v.cy = 0.5f * (y0 + y1);
      float span = std::max({x1 - x0, y1 - y0, 1e-6f});
      v.scale = 0.9f * std::min(size.x, size.y) / span;
    }
  }
  const ImVec2 mid(0.5f * (a.x + b.x), 0.5f * (a.y + b.y));
  auto to_screen = [&](float x, float y) { return ImVec2(mid.x + (x - v.cx) * v.scale, mid.y - (y - v.cy) * v.scale); };
  auto to_data_x = [&](float sx) { return v.cx + (sx - mid.x) / v.scale; };
  auto to_data_y = [&](float sy) { return v.cy - (sy - mid.y) / v.scale; };

  dl->PushClipRect(a, b, true);
  // Points or density, chosen from last frame's visible count: one pass over the data
  // per frame either way (a million points stay interactive).
  bool any_selected = std::any_of(selected.begin(), selected.end(), [](uint8_t s) { return s != 0; });
  const float r = n > 5000 ? 1.5f : n > 1000 ? 3.0f : 4.5f;  // a small corpus gets points you can see
  const bool gl = g_renderer && n >= g_renderer_min;
  const bool density = !gl && v.on_screen > size_t(density_above);
  ImGuiIO& io = ImGui::GetIO();
  size_t on_screen = 0;
  if (gl) {
    // The GPU draws every point (overlaps add up: dense regions glow); the CPU only
    // searches the nearest point when the mouse or the view moved.
    PointRenderer::Transform t{a.x, a.y, b.x, b.y, v.cx, v.cy, v.scale, mid.x, mid.y, n > 200000 ? 2.0f : 3.0f};
    g_renderer->draw(dl, id, d, selected, hidden, t);
    on_screen = n;
    if (hovered) {
      const bool moved = io.MousePos.x != v.hover_mx || io.MousePos.y != v.hover_my || v.cx != v.hover_cx ||
                         v.cy != v.hover_cy || v.scale != v.hover_scale || d.version != v.hover_version;
      if (moved) {
        v.hover_mx = io.MousePos.x, v.hover_my = io.MousePos.y, v.hover_cx = v.cx, v.hover_cy = v.cy;
        v.hover_scale = v.scale, v.hover_version = d.version;
        // In data units: one subtraction and compare per point, no screen transform.
        const float mx = to_data_x(io.MousePos.x), my = to_data_y(io.MousePos.y);
        float best = (6.0f / v.scale) * (6.0f / v.scale);
        v.hover_point = -1;
        for (size_t i = 0; i < n; ++i) {
          float dx = d.x[i] - mx, dy = d.y[i] - my, dd = dx * dx + dy * dy;
          if (dd < best && visible(i)) best = dd, v.hover_point = int(i);
        }
      }
      res.hovered = v.hover_point;
    }
  } else if (density) {
    // Density grid: a cell's alpha grows with its count (log), tinted by its first label;
    // hovering a cell picks its most recent point.
    const float cell = 3.0f;
    int gw = int(size.x / cell) + 1, gh = int(size.y / cell) + 1;
    std::vector<int> count(size_t(gw) * gh, 0), first_label(size_t(gw) * gh, -1), rep(size_t(gw) * gh, -1);
    for (size_t i = 0; i < n; ++i) {
      if (!visible(i)) continue;
      ImVec2 p = to_screen(d.x[i], d.y[i]);
      int gx = int((p.x - a.x) / cell), gy = int((p.y - a.y) / cell);
      if (p.x < a.x || p.y < a.y || gx >= gw || gy >= gh) continue;
      size_t k = size_t(gy) * gw + gx;
      if (count[k]++ == 0) first_label[k] = label_of(i);
      rep[k] = int(i);
      ++on_screen;
    }
    int maxc = *std::max_element(count.begin(), count.end());
    float lmax = std::log1p(float(std::max(maxc, 1)));
    for (int gy = 0; gy < gh; ++gy)
      for (int gx = 0; gx < gw; ++gx) {
        int c = count[size_t(gy) * gw + gx];
        if (!c) continue;
        float t = 0.25f + 0.75f * std::log1p(float(c)) / lmax;
        int l = first_label[size_t(gy) * gw + gx];
        ImU32 col = l >= 0 ? category_color(l, t) : value_color(t, t);
        ImVec2 q(a.x + gx * cell, a.y + gy * cell);
        dl->AddRectFilled(q, ImVec2(q.x + cell, q.y + cell), col);
      }
    if (hovered) {
      int gx = int((io.MousePos.x - a.x) / cell), gy = int((io.MousePos.y - a.y) / cell);
      if (gx >= 0 && gy >= 0 && gx < gw && gy < gh) res.hovered = rep[size_t(gy) * gw + gx];
    }
  } else {
    for (int pass = 0; pass < 2; ++pass)  // selected points on top
      for (size_t i = 0; i < n; ++i) {
        if (!visible(i) || (pass == 1) != (selected[i] != 0)) continue;
        ImVec2 p = to_screen(d.x[i], d.y[i]);
        if (p.x < a.x - r || p.x > b.x + r || p.y < a.y - r || p.y > b.y + r) continue;
        ++on_screen;
        int l = label_of(i);
        float alpha = any_selected && !selected[i] ? 0.25f : 0.9f;
        ImU32 col = l >= 0 ? category_color(l, alpha) : IM_COL32(200, 200, 210, int(alpha * 255));
        if (selected[i]) {
          dl->AddCircleFilled(p, r + 1.5f, IM_COL32(255, 255, 255, 230), 10);
          dl->AddCircleFilled(p, r + 0.5f, col, 10);
        } else if (r < 2) {
          dl->AddRectFilled(ImVec2(p.x - r, p.y - r), ImVec2(p.x + r, p.y + r), col);
        } else {
          dl->AddCircleFilled(p, r, col, 8);
        }
      }
    // Hover: the nearest point within a few pixels.
    if (hovered) {
      float best = (r + 5) * (r + 5);
      for (size_t i = 0; i < n; ++i) {
        if (!visible(i)) continue;
        ImVec2 p = to_screen(d.x[i], d.y[i]);
        float dx = p.x - io.MousePos.x, dy = p.y - io.MousePos.y, dd = dx * dx + dy * dy;
        if (dd < best) best = dd, res.hovered = int(i);
      }
    }
  }
  v.on_screen = on_screen;

  if (hovered) {
    if (res.hovered >= 0) {
      ImVec2 p = to_screen(d.x[size_t(res.hovered)], d.y[size_t(res.hovered)]);
      dl->AddCircle(p, r + 4, IM_COL32(255, 255, 255, 255), 12, 1.5f);
    }
    if (io.MouseWheel != 0) {
      float fx = to_data_x(io.MousePos.x), fy = to_data_y(io.MousePos.y);
      v.scale *= std::pow(1.18f, io.MouseWheel);
      v.cx = fx - (io.MousePos.x - mid.x) / v.scale;  // keep the point under the mouse fixed
      v.cy = fy + (io.MousePos.y - mid.y) / v.scale;
      v.fit = false;
    }
    if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) v.fit = true;
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Right, 1.0f)) {
    v.cx -= io.MouseDelta.x / v.scale;
    v.cy += io.MouseDelta.y / v.scale;
    v.fit = false;
  }
  // Box selection with the left button; a click without drag picks one point.
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 3.0f)) {
    ImVec2 c0 = io.MouseClickedPos[ImGuiMouseButton_Left];
    dl->AddRectFilled(c0, io.MousePos, IM_COL32(120, 170, 255, 40));
    dl->AddRect(c0, io.MousePos, IM_COL32(120, 170, 255, 200));
  }
  if (ImGui::IsItemDeactivated() && ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
    ImVec2 c0 = io.MouseClickedPos[ImGuiMouseButton_Left];
    float dx = io.MousePos.x - c0.x, dy = io.MousePos.y - c0.y;
    if (dx * dx + dy * dy > 9) {
      if (!io.KeyShift) std::fill(selected.begin(), selected.end(), 0);
      for (int i : points_in_box(d, to_data_x(c0.x), to_data_y(c0.y), to_data_x(io.MousePos.x), to_data_y(io.MousePos.y)))
        if (visible(size_t(i))) selected[size_t(i)] = 1;
      res.selection_changed = true;
    } else if (res.hovered >= 0) {
      res.clicked = res.hovered;
    }
  }

  // The query's marker and its text first, then the notes around them, none overlapping.
  const LabelBox inner{a.x + 4, a.y + 4, b.x - 4, b.y - 4};
  std::vector<LabelBox> reserved;
  std::string tip;  // what the mouse is over: the marker's or a note's whole text
  const float ms = 7;
  if (d.has_marker) {
    const ImVec2 p = to_screen(d.marker_x, d.marker_y);
    reserved.push_back({p.x - ms - 1, p.y - ms - 1, p.x + ms + 1, p.y + ms});
    if (!d.marker_text.empty()) {
      const ImVec2 ts = ImGui::CalcTextSize(d.marker_text.c_str());
      // Right of the marker, else left of it, else above or below.
      std::vector<LabelRequest> mr{{p.x, p.y, ts.x + 6, ts.y + 2}};
      LabelBox right{p.x + ms + 3, p.y - ts.y * 0.5f - 1, p.x + ms + 9 + ts.x, p.y + ts.y * 0.5f + 1};
      LabelBox left{p.x - ms - 9 - ts.x, right.y0, p.x - ms - 3, right.y1};
      LabelBox mb;
      bool ok = false;
      for (auto& c : {right, left})
        if (c.x0 >= inner.x0 && c.x1 <= inner.x1 && c.y0 >= inner.y0 && c.y1 <= inner.y1) {
          mb = c, ok = true;
          break;
        }
      if (!ok) {
        auto pl = place_labels(mr, inner, reserved, ms + 2);
        ok = pl[0].placed;
        mb = pl[0].box;
      }
      if (ok) {
        dl->AddRectFilled(ImVec2(mb.x0, mb.y0), ImVec2(mb.x1, mb.y1), IM_COL32(0, 0, 0, 150), 3.0f);
        dl->AddText(ImVec2(mb.x0 + 3, mb.y0 + 1), IM_COL32(255, 255, 255, 255), d.marker_text.c_str());
        reserved.push_back(mb);
        if (hovered && io.MousePos.x >= mb.x0 && io.MousePos.x <= mb.x1 && io.MousePos.y >= mb.y0 && io.MousePos.y <= mb.y1)
          tip = d.marker_tooltip.empty() ? d.marker_text : d.marker_tooltip;
      }
    }
    if (hovered && std::fabs(io.MousePos.x - p.x) <= ms && std::fabs(io.MousePos.y - p.y) <= ms)
      tip = d.marker_tooltip.empty() ? d.marker_text : d.marker_tooltip;
  }
  if (!d.notes.empty()) {
    std::vector<LabelRequest> req;
    for (auto& note : d.notes) {
      const ImVec2 p = to_screen(note.x, note.y);
      const ImVec2 ts = ImGui::CalcTextSize(note.text.c_str());
      req.push_back({p.x, p.y, ts.x + 8, ts.y + 4});
    }
    // Small maps: prefer places that hide no points (screen positions computed once).
    std::vector<ImVec2> sp;
    if (n <= 5000)
      for (size_t i = 0; i < n; ++i)
        if (visible(i)) sp.push_back(to_screen(d.x[i], d.y[i]));
    auto hides = [&](const LabelBox& bx) {
      int k = 0;
      for (auto& q : sp) k += q.x > bx.x0 - r && q.x < bx.x1 + r && q.y > bx.y0 - r && q.y < bx.y1 + r;
      return k;
    };
    const auto placed = place_labels(req, inner, reserved, r + 5, sp.empty() ? nullptr : std::function<int(const LabelBox&)>(hides));
    for (size_t k = 0; k < d.notes.size(); ++k) {
      if (!placed[k].placed) continue;
      const auto& bx = placed[k].box;
      const ImVec2 anchor(req[k].ax, req[k].ay);
      // A short leader to the anchor when the label had to move away from it.
      const float cx = std::clamp(anchor.x, bx.x0, bx.x1), cy = std::clamp(anchor.y, bx.y0, bx.y1);
      if ((cx - anchor.x) * (cx - anchor.x) + (cy - anchor.y) * (cy - anchor.y) > (r + 8) * (r + 8))
        dl->AddLine(anchor, ImVec2(cx, cy), IM_COL32(255, 255, 255, 120), 1.0f);
      dl->AddRectFilled(ImVec2(bx.x0, bx.y0), ImVec2(bx.x1, bx.y1), IM_COL32(0, 0, 0, 170), 4.0f);
      dl->AddText(ImVec2(bx.x0 + 4, bx.y0 + 2), IM_COL32(255, 255, 255, 235), d.notes[k].text.c_str());
      if (hovered && !d.notes[k].tooltip.empty() && io.MousePos.x >= bx.x0 && io.MousePos.x <= bx.x1 &&
          io.MousePos.y >= bx.y0 && io.MousePos.y <= bx.y1)
        tip = d.notes[k].tooltip;
    }
  }
  if (d.has_marker) {
    const ImVec2 p = to_screen(d.marker_x, d.marker_y);
    const float s = ms;
    dl->AddTriangleFilled(ImVec2(p.x, p.y - s), ImVec2(p.x + s, p.y + s * 0.7f), ImVec2(p.x - s, p.y + s * 0.7f),
                          IM_COL32(255, 255, 255, 255));
    dl->AddTriangle(ImVec2(p.x, p.y - s), ImVec2(p.x + s, p.y + s * 0.7f), ImVec2(p.x - s, p.y + s * 0.7f),
                    IM_COL32(0, 0, 0, 255), 1.5f);
  }
  if (!tip.empty()) {
    res.hovered = -1;  // the label's text, not the point under it
    ImGui::BeginTooltip();
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
    ImGui::TextUnformatted(tip.c_str());
    ImGui::PopTextWrapPos();
    ImGui::EndTooltip();
  }
  dl->PopClipRect();
  dl->AddRect(a, b, IM_COL32(255, 255, 255, 40), 4.0f);
  if (n == 0) {
    const char* msg = "no layout loaded";
    ImVec2 ts = ImGui::CalcTextSize(msg);
    dl->AddText(ImVec2(mid.x - ts.x * 0.5f, mid.y - ts.y * 0.5f), ImGui::GetColorU32(ImGuiCol_TextDisabled), msg);
  }
  ImGui::PopID();
  return res;
}

}  // namespace genlens::views
