// genlens-studio: the desktop face of genlens_core (Dear ImGui + GLFW + OpenGL 3).
// This file owns the window, the frame loop, screenshots, scripts and frame statistics;
// the application state is StudioApp, everything drawn comes from views/.
#include <CLI/CLI.hpp>
#include <GLFW/glfw3.h>
#include <fmt/format.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "app/studio/fonts.h"
#include "app/studio/gl_driver.h"
#include "app/studio/gl_points.h"
#include "app/studio/headless_report.h"
#include "app/studio/script.h"
#include "app/studio/studio_app.h"
#include "core/demo/pipeline.h"
#include "core/model/hf_cache.h"
#include "core/runtime/env_info.h"
#include "core/util/error.h"
#include "genlens_paths.h"

namespace {

struct Options {
  std::string screenshot;  // save the window as PNG after `frames` frames, then exit
  int frames = 3;
  bool demo = false, quick = false;
  std::string script, stats, panel_log, layout, revision, weights = "same";
  int width = 1280, height = 800;
  genlens::studio::StudioOptions app;
};

bool has_display() {
  const char* x = std::getenv("DISPLAY");
  const char* w = std::getenv("WAYLAND_DISPLAY");
  return (x && *x) || (w && *w);
}

// Saves the rectangle (x, y, w, h) of the back buffer, y from the bottom as GL counts.
bool save_png(const std::string& path, int x, int y, int w, int h) {
  if (w <= 0 || h <= 0) return false;
  std::vector<unsigned char> px(static_cast<size_t>(w) * h * 4);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(x, y, w, h, GL_RGBA, GL_UNSIGNED_BYTE, px.data());
  for (size_t i = 3; i < px.size(); i += 4) px[i] = 255;  // the window is opaque
  stbi_flip_vertically_on_write(1);  // GL's origin is bottom-left
  auto tmp = path + ".tmp";
  if (!stbi_write_png(tmp.c_str(), w, h, 4, px.data(), w * 4)) return false;
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // atomic: never a half-written PNG
  return !ec;
}

bool save_screenshot(const std::string& path, int w, int h) { return save_png(path, 0, 0, w, h); }

// A view's PNG export: its rectangle in ImGui's coordinates, scaled to the framebuffer.
std::string save_capture(const genlens::studio::StudioApp::PngCapture& c, int fb_h) {
  const ImVec2 k = ImGui::GetIO().DisplayFramebufferScale;
  const int x0 = int(std::floor(c.x0 * k.x)), x1 = int(std::ceil(c.x1 * k.x));
  const int y0 = int(std::floor(c.y0 * k.y)), y1 = int(std::ceil(c.y1 * k.y));
  std::error_code ec;
  const auto dir = std::filesystem::path(c.path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", dir.string(), ec.message());
  glFinish();
  if (!save_png(c.path, x0, fb_h - y1, x1 - x0, y1 - y0)) return "cannot write the file";
  return "";
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5))];
}

void glfw_error(int code, const char* desc) { fmt::print(stderr, "glfw error {}: {}\n", code, desc); }

}  // namespace

int main(int argc, char** argv) {
  genlens::runtime::tune_for_tensors(genlens::runtime::ThreadRole::Studio);
  Options opt;
  opt.app.cli_path = GENLENS_CLI_PATH;
  CLI::App app{"genlens-studio: see inside generative embeddings", "genlens-studio"};
  app.add_option("--workspace", opt.app.workspace, "Open a workspace directory (model/, corpus.jsonl, run/)");
  app.add_option("--model", opt.app.model,
                 "Open a model directory (Hugging Face layout), or a model id in the local Hugging Face cache "
                 "(ORG/NAME[@REV]; never downloaded)");
  app.add_option("--revision", opt.revision,
                 "With --model ORG/NAME: the cached snapshot, a branch or commit hash (default main)");
  app.add_option("--adapter", opt.app.adapter, "Open an adapter checkpoint (or a run directory)");
  app.add_option("--run", opt.app.run, "Follow a training run directory (its metrics.jsonl)");
  app.add_option("--corpus", opt.app.corpus, "Open a corpus: JSONL with \"text\" and optional \"label\"");
  app.add_option("--study", opt.app.study,
                 "Open a study folder (what `genlens study --out` wrote) on the Compare tab: its variants' scores, "
                 "a score against a setting, two variants' held-out maps");
  app.add_flag("--demo", opt.demo,
               "Open the demo workspace ($GENLENS_DEMO_DIR, else ~/.cache/genlens/demo), building it first when "
               "it is missing (as `genlens demo`)");
  app.add_option("--weights", opt.weights,
                 "What the model's weight matrices are kept in: same (float32) or bf16 (the CPU's low-memory format: "
                 "half the memory, float32 compute, faster answers)")
      ->check(CLI::IsMember({"same", "bf16"}))
      ->capture_default_str();
  app.add_flag("--quick", opt.quick, "With --demo: build the reduced (quick) variant when the workspace is missing");
  app.add_option("--layout", opt.layout, "Draw an [N, 2] float .npy layout on both maps (e.g. a million points)");
  app.add_option("--script", opt.script, "Run UI actions from FILE (see app/studio/script.h), then exit");
  app.add_option("--screenshot", opt.screenshot, "Render --frames frames, save the window as PNG, exit");
  app.add_option("--frames", opt.frames, "Frames to render before the screenshot")->check(CLI::PositiveNumber);
  app.add_option("--stats", opt.stats, "Write per-frame times (ms) to FILE as CSV; print p50/p95 at exit");
  app.add_option("--panel-log", opt.panel_log, "Append, per screenshot, the panels drawn in that frame");
  app.add_option("--width", opt.width, "Window width")->check(CLI::PositiveNumber);
  app.add_option("--height", opt.height, "Window height")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  opt.app.bf16_weights = opt.weights == "bf16";
  if (!has_display()) {
    // Asked for something a window shows (a model, a corpus, a script...): say that no
    // window can open and what does the same without one; nothing was done, so exit 2.
    genlens::studio::HeadlessRequest asked{opt.app.workspace, opt.app.model, opt.app.adapter, opt.app.run,
                                           opt.app.corpus,    opt.layout,    opt.script,      opt.screenshot,
                                           opt.app.study};
    if (asked.any()) {
      std::string tail;
      for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--screenshot" && i + 1 < argc) {
          ++i;
          continue;
        }
        if (a.rfind("--screenshot=", 0) == 0) continue;
        tail += a.find_first_of(" '\"$") == std::string::npos ? " " + a : " '" + a + "'";
      }
      return genlens::studio::print_no_display(asked, tail);
    }
  }
  if (!opt.app.model.empty()) {  // a Hugging Face id -> its cached snapshot (core/model/hf_cache.h)
    try {
      opt.app.model = genlens::model::locate_model(opt.app.model, opt.revision).dir.string();
    } catch (const genlens::Error& e) {
      fmt::print(stderr, "genlens-studio: error: {}\n", e.what());
      return 1;
    }
  }

  std::optional<genlens::studio::ScriptRunner> script;
  if (!opt.script.empty()) {
    try {
      script.emplace(genlens::studio::parse_script(opt.script));
    } catch (const std::exception& e) {
      fmt::print(stderr, "genlens-studio: {}\n", e.what());
      return 2;
    }
  }
  if (!has_display()) {  // nothing asked but the demo: its report, in text
    fmt::print("genlens-studio: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so no "
               "window can open.\nRunning the headless demo report instead.\n\n");
    return genlens::studio::run_headless_report(/*build_if_missing=*/opt.demo, opt.quick);
  }

  genlens::studio::avoid_llvm_clash_in_software_gl();
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
  const bool unattended = !opt.screenshot.empty() || script.has_value();
  glfwSwapInterval(unattended ? 0 : 1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;  // layout is ours, not a file's
  ImGui::StyleColorsDark();
  float xscale = 1, yscale = 1;
  glfwGetWindowContentScale(window, &xscale, &yscale);
  const float scale = std::max(1.0f, std::max(xscale, yscale));
  ImGui::GetStyle().ScaleAllSizes(scale);
  ImGui::GetStyle().WindowRounding = 0;
  ImGui::GetStyle().FrameRounding = 3;
  // Progress bars in the accent blue (the dark style's orange-yellow reads as a warning).
  ImGui::GetStyle().Colors[ImGuiCol_PlotHistogram] = ImVec4(0.26f, 0.52f, 0.86f, 1.0f);
  auto font_msg = genlens::studio::load_fonts(scale);
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 130");
  std::unique_ptr<genlens::studio::GlPointRenderer> points;
  try {
    points = std::make_unique<genlens::studio::GlPointRenderer>();
    genlens::views::set_point_renderer(points.get());
    font_msg += fmt::format("; GL {}: maps from 20k points {}", points->gl_renderer(),
                            points->density_above() == 0 ? "as density images (software GL)"
                                                         : "as point sprites, from 200k as density images");
    if (auto note = genlens::studio::llvm_clash_note(points->gl_renderer()); !note.empty()) {
      fmt::print("{}\n", note);
      font_msg += "; " + note.substr(note.find(':') + 2);
    }
  } catch (const std::exception& e) {  // large maps fall back to the density grid
    fmt::print(stderr, "genlens-studio: {}; large maps are drawn as a density grid instead\n", e.what());
  }

  int rc = 0;
  std::vector<double> work_ms, frame_ms;
  {
    genlens::studio::StudioApp studio(opt.app);
    // --demo: the demo workspace, built first (progress on screen) when it is missing.
    if (opt.demo && opt.app.workspace.empty()) studio.build_demo(genlens::demo::default_demo_workspace().string(), opt.quick);
    if (!opt.layout.empty()) studio.open_layout(opt.layout);
    studio.log(font_msg);
    std::ofstream panel_log;
    if (!opt.panel_log.empty()) panel_log.open(opt.panel_log, std::ios::app);

    int frame = 0;
    auto last = std::chrono::steady_clock::now();
    while (!glfwWindowShouldClose(window)) {
      glfwPollEvents();
      auto t0 = std::chrono::steady_clock::now();
      std::string shot;
      bool more = true;
      if (script) {
        try {
          more = script->step(studio, shot);
        } catch (const std::exception& e) {
          fmt::print(stderr, "genlens-studio: {}\n", e.what());
          rc = 1;
          more = false;
        }
      }
      ImGui_ImplOpenGL3_NewFrame();
      ImGui_ImplGlfw_NewFrame();
      // A script drives the UI by its verbs; the pointer Xvfb parks mid-screen would
      // otherwise hover things and leave tooltips in the screenshots.
      if (script) ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
      ImGui::NewFrame();
      int w = 0, h = 0;
      glfwGetFramebufferSize(window, &w, &h);
      studio.frame(float(w), float(h));
      if (studio.quit_requested()) glfwSetWindowShouldClose(window, 1);
      ImGui::Render();
      glViewport(0, 0, w, h);
      glClearColor(0.09f, 0.10f, 0.12f, 1.0f);
      glClear(GL_COLOR_BUFFER_BIT);
      ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
      if (auto c = studio.take_png_capture()) studio.png_saved(*c, save_capture(*c, h));
      // With --stats the GPU's work counts too (GL calls only queue it).
      if (!opt.stats.empty()) glFinish();
      auto t1 = std::chrono::steady_clock::now();
      ++frame;
      work_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      frame_ms.push_back(std::chrono::duration<double, std::milli>(t1 - last).count());
      last = t1;

      if (!opt.screenshot.empty() && frame >= opt.frames && !script) shot = opt.screenshot;
      if (!shot.empty()) {
        glFinish();
        if (!save_screenshot(shot, w, h)) {
          fmt::print(stderr, "genlens-studio: could not write screenshot '{}'\n", shot);
          rc = 1;
        }
        if (panel_log.is_open()) {
          panel_log << shot << ":";
          for (auto& p : studio.drawn_panels()) panel_log << " " << p;
          panel_log << "\n";
          panel_log.flush();
        }
        if (!script) break;
      }
      if (script && !more) {
        if (!opt.screenshot.empty() && !save_screenshot(opt.screenshot, w, h)) rc = 1;
        break;
      }
      glfwSwapBuffers(window);
      // Without vsync (scripts, screenshots) pace frames at about 60 Hz anyway, so the
      // UI does not spin a core that jobs (training, encoding) need.
      if (unattended) {
        auto spent = std::chrono::steady_clock::now() - t0;
        if (spent < std::chrono::milliseconds(16)) std::this_thread::sleep_for(std::chrono::milliseconds(16) - spent);
      }
    }
    // ~StudioApp cancels jobs and waits: a running training run stops at a checkpoint.
  }

  if (!opt.stats.empty()) {
    std::ofstream f(opt.stats);
    f << "frame,work_ms,interval_ms\n";
    for (size_t i = 0; i < work_ms.size(); ++i) f << i << "," << work_ms[i] << "," << frame_ms[i] << "\n";
    fmt::print("frames {}: work p50 {:.2f} ms, p95 {:.2f} ms, max {:.2f} ms; interval p50 {:.2f} ms, p95 {:.2f} ms\n",
               work_ms.size(), percentile(work_ms, 0.5), percentile(work_ms, 0.95),
               work_ms.empty() ? 0.0 : *std::max_element(work_ms.begin(), work_ms.end()), percentile(frame_ms, 0.5),
               percentile(frame_ms, 0.95));
  }
  genlens::views::set_point_renderer(nullptr);
  points.reset();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();
  return rc;
}
