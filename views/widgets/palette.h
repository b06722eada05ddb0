// Colours shared by the widgets: a categorical palette for labels and series, and a
// perceptual colour map (viridis, sampled) for values in [0, 1].
#pragma once
#include <imgui.h>

#include <algorithm>
#include <cmath>

namespace genlens::views {

inline ImU32 category_color(int i, float alpha = 1.0f) {
  static const ImU32 kTab10[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
  ImU32 rgb = kTab10[((i % 10) + 10) % 10];
  return IM_COL32((rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255, int(alpha * 255));
}

// viridis at t in [0, 1] (9 stops, linear in between).
inline ImU32 value_color(float t, float alpha = 1.0f) {
  static const float kStops[9][3] = {{0.267f, 0.005f, 0.329f}, {0.279f, 0.175f, 0.483f}, {0.230f, 0.322f, 0.546f},
                                     {0.173f, 0.449f, 0.558f}, {0.128f, 0.567f, 0.551f}, {0.157f, 0.684f, 0.502f},
                                     {0.369f, 0.789f, 0.383f}, {0.678f, 0.864f, 0.190f}, {0.993f, 0.906f, 0.144f}};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0f, 1.0f) * 8.0f;
  int i = std::min(7, int(t));
  float f = t - float(i);
  float c[3];
  for (int k = 0; k < 3; ++k) c[k] = kStops[i][k] * (1 - f) + kStops[i + 1][k] * f;
  return ImGui::ColorConvertFloat4ToU32(ImVec4(c[0], c[1], c[2], alpha));
}

// A diverging map for signed values, t in [-1, 1]: blue (-1) through a dark neutral grey
// (0) to red (+1); reads on the dark theme with white text at every t.
inline ImU32 diverging_color(float t, float alpha = 1.0f) {
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, -1.0f, 1.0f);
  const float n[3] = {0.28f, 0.28f, 0.30f}, pos[3] = {0.80f, 0.20f, 0.18f}, neg[3] = {0.16f, 0.40f, 0.85f};
  const float* e = t >= 0 ? pos : neg;
  const float f = std::fabs(t);
  return ImGui::ColorConvertFloat4ToU32(
      ImVec4(n[0] + (e[0] - n[0]) * f, n[1] + (e[1] - n[1]) * f, n[2] + (e[2] - n[2]) * f, alpha));
}

// Black or white, whichever reads better on `bg`.
inline ImU32 text_on(ImU32 bg) {
  ImVec4 c = ImGui::ColorConvertU32ToFloat4(bg);
  float luma = 0.299f * c.x + 0.587f * c.y + 0.114f * c.z;
  return luma > 0.55f ? IM_COL32(10, 10, 10, 255) : IM_COL32(245, 245, 245, 255);
}

}  // namespace genlens::views
