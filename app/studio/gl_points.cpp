#include "app/studio/gl_points.h"

#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GL/glext.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/util/error.h"
#include "views/widgets/palette.h"

namespace genlens::studio {

namespace {

// GLSL 1.30 (OpenGL 3.0, what the window asks for).
constexpr const char* kVertex = R"(#version 130
in vec2 pos;
in vec4 col;
uniform vec2 centre;    // data centre
uniform float scale;    // pixels per data unit
uniform vec2 mid;       // screen centre of the plot (display pixels)
uniform vec2 display;   // display size (pixels)
uniform float psize;    // point diameter (framebuffer pixels)
out vec4 v_col;
void main() {
  vec2 s = mid + vec2(pos.x - centre.x, centre.y - pos.y) * scale;
  gl_Position = vec4(s.x / display.x * 2.0 - 1.0, 1.0 - s.y / display.y * 2.0, 0.0, 1.0);
  gl_PointSize = psize;
  v_col = col;
}
)";

constexpr const char* kFragment = R"(#version 130
in vec4 v_col;
out vec4 o_col;
void main() {
  vec2 d = gl_PointCoord * 2.0 - 1.0;
  float r2 = dot(d, d);
  if (r2 > 1.0 || v_col.a == 0.0) discard;
  o_col = vec4(v_col.rgb, v_col.a * clamp((1.0 - r2) * 3.0, 0.0, 1.0));  // soft edge
}
)";

unsigned compile(GLenum kind, const char* src) {
  unsigned s = glCreateShader(kind);
  glShaderSource(s, 1, &src, nullptr);
  glCompileShader(s);
  GLint ok = 0;
  glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[2048] = "";
    glGetShaderInfoLog(s, sizeof log, nullptr, log);
    fail("GL point renderer: the {} shader does not compile: {}", kind == GL_VERTEX_SHADER ? "vertex" : "fragment", log);
  }
  return s;
}

}  // namespace

struct GlPointRenderer::Plot {
  GlPointRenderer* owner = nullptr;
  unsigned vao = 0, vbo_pos = 0, vbo_col = 0;
  unsigned tex = 0;              // density image (large layouts)
  int tex_w = 0, tex_h = 0;
  std::vector<uint32_t> count, pixels;
  std::vector<int16_t> label;
  size_t n = 0;                  // points in the buffers
  uint64_t version = ~uint64_t(0);
  const void* data_ptr = nullptr;
  std::vector<uint8_t> selected;
  std::vector<bool> hidden;
  Transform t{};
};

GlPointRenderer::GlPointRenderer() {
  const char* name = reinterpret_cast<const char*>(glGetString(GL_RENDERER));
  renderer_name_ = name ? name : "?";
  for (const char* soft : {"llvmpipe", "softpipe", "Software", "SWR"})
    if (renderer_name_.find(soft) != std::string::npos) density_above_ = 0;
  unsigned vs = compile(GL_VERTEX_SHADER, kVertex), fs = compile(GL_FRAGMENT_SHADER, kFragment);
  program_ = glCreateProgram();
  glAttachShader(program_, vs);
  glAttachShader(program_, fs);
  glBindAttribLocation(program_, 0, "pos");
  glBindAttribLocation(program_, 1, "col");
  glBindFragDataLocation(program_, 0, "o_col");
  glLinkProgram(program_);
  glDeleteShader(vs);
  glDeleteShader(fs);
  GLint ok = 0;
  glGetProgramiv(program_, GL_LINK_STATUS, &ok);
  if (!ok) {
    char log[2048] = "";
    glGetProgramInfoLog(program_, sizeof log, nullptr, log);
    fail("GL point renderer: the program does not link: {}", log);
  }
}

GlPointRenderer::~GlPointRenderer() {
  for (auto& [id, p] : plots_) {
    if (p->tex) glDeleteTextures(1, &p->tex);
    glDeleteBuffers(1, &p->vbo_pos);
    glDeleteBuffers(1, &p->vbo_col);
    glDeleteVertexArrays(1, &p->vao);
  }
  glDeleteProgram(program_);
}

void GlPointRenderer::draw(void* im_draw_list, const char* id, const views::ScatterData& d,
                           const std::vector<uint8_t>& selected, const std::vector<bool>& hidden, const Transform& t) {
  auto& slot = plots_[std::string(id) + "@" + std::to_string(ImGui::GetID(id))];
  if (!slot) {
    slot = std::make_unique<Plot>();
    slot->owner = this;
    glGenVertexArrays(1, &slot->vao);
    glGenBuffers(1, &slot->vbo_pos);
    glGenBuffers(1, &slot->vbo_col);
  }
  Plot& p = *slot;
  const size_t n = std::min(d.x.size(), d.y.size());
  if (n > density_above_) return draw_density(im_draw_list, p, d, selected, hidden, t);
  const bool reupload = p.n != n || p.version != d.version || d.version == 0 || p.data_ptr != d.x.data() ||
                        p.selected != selected || p.hidden != hidden;
  if (reupload) {
    // Selected points go last so they are drawn on top; others dim while a selection exists.
    const bool any_sel = std::any_of(selected.begin(), selected.end(), [](uint8_t s) { return s != 0; });
    std::vector<float> pos(2 * n);
    std::vector<uint32_t> col(n);
    size_t k = 0;
    const float base_alpha = n > 200000 ? 0.35f : 0.8f;  // overlaps accumulate: density
    for (int pass = 0; pass < 2; ++pass)
      for (size_t i = 0; i < n; ++i) {
        const bool sel = i < selected.size() && selected[i];
        if ((pass == 1) != sel) continue;
        const int l = i < d.label.size() ? d.label[i] : -1;
        const bool hide = l >= 0 && size_t(l) < hidden.size() && hidden[size_t(l)];
        float a = hide ? 0.0f : sel ? 1.0f : any_sel ? 0.12f : base_alpha;
        ImU32 c = sel ? IM_COL32(255, 255, 255, 255)
                      : l >= 0 ? views::category_color(l, a) : IM_COL32(200, 200, 210, int(a * 255));
        if (hide) c &= 0x00FFFFFFu;
        pos[2 * k] = d.x[i];
        pos[2 * k + 1] = d.y[i];
        col[k] = c;  // ImU32 is ABGR in memory order R, G, B, A on little endian
        ++k;
      }
    glBindVertexArray(p.vao);
    glBindBuffer(GL_ARRAY_BUFFER, p.vbo_pos);
    glBufferData(GL_ARRAY_BUFFER, GLsizeiptr(pos.size() * sizeof(float)), pos.data(), GL_STATIC_DRAW);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, nullptr);
    glBindBuffer(GL_ARRAY_BUFFER, p.vbo_col);
    glBufferData(GL_ARRAY_BUFFER, GLsizeiptr(col.size() * sizeof(uint32_t)), col.data(), GL_STATIC_DRAW);
    glEnableVertexAttribArray(1);
    glVertexAttribPointer(1, 4, GL_UNSIGNED_BYTE, GL_TRUE, 0, nullptr);
    glBindVertexArray(0);
    p.n = n;
    p.version = d.version;
    p.data_ptr = d.x.data();
    p.selected = selected;
    p.hidden = hidden;
  }
  p.t = t;
  auto* dl = static_cast<ImDrawList*>(im_draw_list);
  dl->AddCallback(
      [](const ImDrawList*, const ImDrawCmd* cmd) {
        auto* plot = static_cast<Plot*>(cmd->UserCallbackData);
        const ImGuiIO& io = ImGui::GetIO();
        const float sx = io.DisplayFramebufferScale.x, sy = io.DisplayFramebufferScale.y;
        const int fb_h = int(io.DisplaySize.y * sy);
        const auto& tr = plot->t;
        // Scissor to the plot (and to the window's clip rectangle).
        const float x0 = std::max(tr.clip_x0, cmd->ClipRect.x), y0 = std::max(tr.clip_y0, cmd->ClipRect.y);
        const float x1 = std::min(tr.clip_x1, cmd->ClipRect.z), y1 = std::min(tr.clip_y1, cmd->ClipRect.w);
        if (x1 <= x0 || y1 <= y0) return;
        glEnable(GL_SCISSOR_TEST);
        glScissor(int(x0 * sx), int(fb_h - y1 * sy), int((x1 - x0) * sx), int((y1 - y0) * sy));
        glEnable(GL_BLEND);
        glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
        glEnable(GL_PROGRAM_POINT_SIZE);
        unsigned prog = plot->owner->program_;
        glUseProgram(prog);
        glUniform2f(glGetUniformLocation(prog, "centre"), tr.cx, tr.cy);
        glUniform1f(glGetUniformLocation(prog, "scale"), tr.scale);
        glUniform2f(glGetUniformLocation(prog, "mid"), tr.mid_x, tr.mid_y);
        glUniform2f(glGetUniformLocation(prog, "display"), io.DisplaySize.x, io.DisplaySize.y);
        glUniform1f(glGetUniformLocation(prog, "psize"), tr.point_px * sx);
        glBindVertexArray(plot->vao);
        glDrawArrays(GL_POINTS, 0, GLsizei(plot->n));
        glBindVertexArray(0);
        glDisable(GL_PROGRAM_POINT_SIZE);
      },
      &p);
  dl->AddCallback(ImDrawCallback_ResetRenderState, nullptr);  // the ImGui backend sets its state again
}

// Past density_above() points a software GL (Mesa llvmpipe under Xvfb, or no GPU) spends
// ~0.7 s a frame transforming a million point vertices; binning them into a screen-sized
// image on the CPU takes a few milliseconds and draws as one textured quad anywhere.
// Each pixel: colour of the last label binned there (white if any point is selected),
// opacity from log(count), so dense regions read as dense.
void GlPointRenderer::draw_density(void* im_draw_list, Plot& p, const views::ScatterData& d,
                                   const std::vector<uint8_t>& selected, const std::vector<bool>& hidden,
                                   const Transform& t) {
  const int w = std::max(1, int(t.clip_x1 - t.clip_x0)), h = std::max(1, int(t.clip_y1 - t.clip_y0));
  auto* dl = static_cast<ImDrawList*>(im_draw_list);
  auto image = [&] {
    dl->AddImage(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(p.tex)), ImVec2(t.clip_x0, t.clip_y0),
                 ImVec2(t.clip_x0 + float(w), t.clip_y0 + float(h)));
  };
  // A still view of unchanged data reuses last frame's image.
  const bool same_view = p.tex && p.tex_w == w && p.tex_h == h && p.t.cx == t.cx && p.t.cy == t.cy &&
                         p.t.scale == t.scale && p.t.mid_x == t.mid_x && p.t.mid_y == t.mid_y &&
                         p.t.clip_x0 == t.clip_x0 && p.t.clip_y0 == t.clip_y0;
  if (same_view && d.version != 0 && p.version == d.version && p.data_ptr == d.x.data() && p.selected == selected &&
      p.hidden == hidden)
    return image();
  p.t = t;
  p.version = d.version;
  p.data_ptr = d.x.data();
  p.selected = selected;
  p.hidden = hidden;
  const size_t cells = size_t(w) * size_t(h);
  p.count.assign(cells, 0);
  p.label.assign(cells, -1);
  p.pixels.assign(cells, 0);
  const size_t n = std::min(d.x.size(), d.y.size());
  const bool labels = d.label.size() >= n;
  const bool any_hidden = std::any_of(hidden.begin(), hidden.end(), [](bool b) { return b; });
  const bool sel_on = selected.size() >= n && std::any_of(selected.begin(), selected.end(), [](uint8_t s) { return s; });
  // screen = mid + (data - c) * scale, relative to the plot's corner
  const float ox = t.mid_x - t.clip_x0 - t.cx * t.scale, oy = t.mid_y - t.clip_y0 + t.cy * t.scale;
  constexpr int16_t kSelected = 0x7fff;
  for (size_t i = 0; i < n; ++i) {
    const float sx = ox + d.x[i] * t.scale, sy = oy - d.y[i] * t.scale;
    if (!(sx >= 0 && sy >= 0 && sx < float(w) && sy < float(h))) continue;  // also drops NaN
    const int l = labels ? d.label[i] : -1;
    if (any_hidden && l >= 0 && size_t(l) < hidden.size() && hidden[size_t(l)]) continue;
    const size_t k = size_t(int(sy)) * size_t(w) + size_t(int(sx));
    ++p.count[k];
    if (p.label[k] != kSelected) p.label[k] = sel_on && selected[i] ? kSelected : int16_t(l);
  }
  uint32_t maxc = 1;
  for (uint32_t c : p.count) maxc = std::max(maxc, c);
  const float inv = 1.0f / std::log1p(float(maxc));
  for (size_t k = 0; k < cells; ++k) {
    if (!p.count[k]) continue;
    const float a = 0.35f + 0.65f * std::log1p(float(p.count[k])) * inv;
    const int l = p.label[k];
    ImU32 c = l == kSelected ? IM_COL32(255, 255, 255, 255)
              : l >= 0       ? views::category_color(l, sel_on ? a * 0.25f : a)
                             : IM_COL32(200, 200, 210, int((sel_on ? a * 0.25f : a) * 255));
    p.pixels[k] = c;
  }
  if (!p.tex) {
    glGenTextures(1, &p.tex);
    glBindTexture(GL_TEXTURE_2D, p.tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  }
  glBindTexture(GL_TEXTURE_2D, p.tex);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  if (p.tex_w != w || p.tex_h != h) {
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, p.pixels.data());
    p.tex_w = w, p.tex_h = h;
  } else {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, p.pixels.data());
  }
  image();
}

}  // namespace genlens::studio
