// A Dear ImGui context with no renderer: enough to run views and inspect their draw
// lists in tests (no GL, no window).
#pragma once
#include <imgui.h>

namespace genlens::test {

struct HeadlessImGui {
  HeadlessImGui(float w = 1280, float h = 800) {
    ctx = ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;
    io.DisplaySize = ImVec2(w, h);
    io.DeltaTime = 1.0f / 60.0f;
    // As the OpenGL 3 backend: draw lists may exceed 64k vertices (large scatters).
    io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;
    unsigned char* pixels = nullptr;
    int tw = 0, th = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &tw, &th);  // atlas must be built before NewFrame
  }
  ~HeadlessImGui() { ImGui::DestroyContext(ctx); }
  void begin_frame() { ImGui::NewFrame(); }
  ImDrawData* end_frame() {
    ImGui::Render();
    return ImGui::GetDrawData();
  }
  ImGuiContext* ctx;
};

inline int total_vertices(const ImDrawData* d) { return d ? d->TotalVtxCount : 0; }

// One frame with the mouse at `mouse` (left button held when `down`), `draw` inside a
// window that covers the display.
template <class F>
ImDrawData* frame_with_mouse(HeadlessImGui& gui, ImVec2 mouse, bool down, F&& draw) {
  ImGuiIO& io = ImGui::GetIO();
  io.MousePos = mouse;
  io.MouseDown[0] = down;
  gui.begin_frame();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::Begin("view", nullptr, ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove);
  draw();
  ImGui::End();
  return gui.end_frame();
}

// A click as a person makes one: the button pressed in one frame, released in the next.
template <class F>
void click_at(HeadlessImGui& gui, ImVec2 at, F&& draw) {
  frame_with_mouse(gui, at, true, draw);
  frame_with_mouse(gui, at, false, draw);
}

// Clicks the points of a grid over `area` (x0, y0, x1, y1 in display pixels), row by
// row, until `hit()` -- read after each click -- says the click did what the test looks
// for. Returns the point, or (-1, -1) when no click did. Views are found by what a click
// does, not by where they happen to draw a button.
template <class F, class H>
ImVec2 click_until(HeadlessImGui& gui, F&& draw, H&& hit, ImVec4 area, float step = 8) {
  frame_with_mouse(gui, ImVec2(-1, -1), false, draw);  // a first frame lays the window out
  for (float y = area.y + step / 2; y < area.w; y += step)
    for (float x = area.x + step / 2; x < area.z; x += step) {
      click_at(gui, ImVec2(x, y), draw);
      if (hit()) return ImVec2(x, y);
    }
  return ImVec2(-1, -1);
}

}  // namespace genlens::test
