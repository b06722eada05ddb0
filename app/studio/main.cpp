// genlens-studio: the desktop face of genlens_core (Dear ImGui + GLFW + OpenGL 3).
// This file owns the window, the frame loop and screenshots; everything drawn comes
// from views/, everything computed from core/.
#include <CLI/CLI.hpp>
#include <GLFW/glfw3.h>
#include <fmt/format.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <stb_image_write.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "app/studio/headless_report.h"
#include "core/runtime/env_info.h"
#include "views/about_view.h"
#include "views/layout_view.h"

namespace {

struct Options {
  std::string screenshot;  // save the window as PNG after `frames` frames, then exit
  int frames = 3;
  bool demo = false;
  int width = 1280, height = 800;
};

bool has_display() {
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x && *x) || (w && *w);
}

bool save_screenshot(const std::string& path, int w, int h) {
  std::vector<unsigned char> px(static_cast<size_t>(w) * h * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px.data());
  stbi_flip_vertically_on_write(1);  // GL's origin is bottom-left
  auto tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), w, h, 4, px.data(), w * 4)) return false;
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // atomic: never a half-written PNG
  return !ec;
}

void glfw_error(int code, const char* desc) { fmt::print(stderr, "glfw error {}: {}\n", code, desc); }

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"genlens-studio: see inside generative embeddings", "genlens-studio"};
  app.add_option("--screenshot", opt.screenshot, "Render --frames frames, save the window as PNG, exit");
  app.add_option("--frames", opt.frames, "Frames to render before the screenshot")->check(CLI::PositiveNumber);
  app.add_flag("--demo", opt.demo, "Open the embedded demo workspace");
  app.add_option("--width", opt.width, "Window width")->check(CLI::PositiveNumber);
  app.add_option("--height", opt.height, "Window height")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  if (!has_display()) {
    fmt::print("genlens-studio: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so no "
               "window can open.\nRunning the headless demo report instead.\n\n");
    return genlens::studio::run_headless_report(/*build_if_missing=*/opt.demo);
  }

  glfwSetErrorCallback(glfw_error);
  if (!glfwInit()) {
    fmt::print(stderr, "genlens-studio: could not initialise GLFW on display '{}'\n",
               std::getenv("DISPLAY") ? std::getenv("DISPLAY") : "");
    return 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
  GLFWwindow* window = glfwCreateWindow(opt.width, opt.height, "genlens studio", nullptr, nullptr);
  if (!window) {
    fmt::print(stderr, "genlens-studio: could not create an OpenGL 3.0 window\n");
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(opt.screenshot.empty() ? 1 : 0);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // layout is ours, not a file's
  ImGui::StyleColorsDark();
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 130");

  auto env = genlens::runtime::probe_env();
  genlens::views::AboutSnapshot about{env.genlens_version, env.torch_version, env.blas_library,
                                      env.blas_is_reference, env.intra_op_threads, env.devices};
  genlens::views::AboutViewState about_state{!opt.screenshot.empty() || !opt.demo};
  genlens::views::LayoutState layout_state;
  genlens::views::LayoutSnapshot layout{opt.demo ? "demo workspace" : "(empty workspace)", {}, {}};
  layout.log_lines.push_back(fmt::format("genlens {} on LibTorch {}", env.genlens_version, env.torch_version));

  int frame = 0;
  int rc = 0;
  while (!glfwWindowShouldClose(window)) {
    glfwPollEvents();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();

    int w = 0, h = 0;
    glfwGetFramebufferSize(window, &w, &h);
    auto center = genlens::views::draw_layout(layout, layout_state, float(w), float(h));
    if (layout_state.show_about) {
      about_state.open = true;
      layout_state.show_about = false;
    }
    ImGui::SetNextWindowPos(ImVec2(center.x + 40, center.y + 40), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowSize(ImVec2(560, 320), ImGuiCond_FirstUseEver);
    genlens::views::draw_about_view(about, about_state);
    if (layout_state.request_quit) glfwSetWindowShouldClose(window, 1);

    ImGui::Render();
    glViewport(0, 0, w, h);
    glClearColor(0.09f, 0.10f, 0.12f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());

    ++frame;
    if (!opt.screenshot.empty() && frame >= opt.frames) {
      if (!save_screenshot(opt.screenshot, w, h)) {
        fmt::print(stderr, "genlens-studio: could not write screenshot '{}'\n", opt.screenshot);
        rc = 1;
      }
      break;
    }
    glfwSwapBuffers(window);
  }

  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return rc;
}
