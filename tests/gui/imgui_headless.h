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

}  // namespace genlens::test
