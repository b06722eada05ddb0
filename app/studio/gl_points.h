// The scatter's OpenGL 3 point renderer (views::PointRenderer): each plot's layout lives
// in a vertex buffer (x, y, RGBA8 per point), uploaded when the data's version, the
// selection or the hidden labels change; pan and zoom only set uniforms, so a frame
// with a million points costs one glDrawArrays(GL_POINTS). Points are round sprites
// (gl_PointCoord), selected ones drawn last so they sit on top. Past kDensityAbove points
// it bins the visible points into a screen-sized density image instead (see
// draw_density: a software GL cannot transform a million vertices in a frame). Needs a
// current GL 3 context; created after the ImGui OpenGL backend.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "views/widgets/scatter.h"

namespace genlens::studio {

class GlPointRenderer : public views::PointRenderer {
 public:
  GlPointRenderer();  // compiles the program; throws genlens::Error with the GL log on failure
  ~GlPointRenderer() override;
  void draw(void* im_draw_list, const char* id, const views::ScatterData& data, const std::vector<uint8_t>& selected,
            const std::vector<bool>& hidden_labels, const Transform& t) override;

  struct Plot;  // one per scatter id: buffers, what they hold, this frame's transform
  // More points than this: a CPU-binned density image. 200k on a GPU; from the first
  // point the renderer handles on a software GL (llvmpipe), where vertices are expensive.
  size_t density_above() const { return density_above_; }
  const std::string& gl_renderer() const { return renderer_name_; }

 private:
  void draw_density(void* im_draw_list, Plot& p, const views::ScatterData& d, const std::vector<uint8_t>& selected,
                    const std::vector<bool>& hidden, const Transform& t);
  unsigned program_ = 0;
  size_t density_above_ = 200000;
  std::string renderer_name_;
  std::map<std::string, std::unique_ptr<Plot>> plots_;
};

}  // namespace genlens::studio
