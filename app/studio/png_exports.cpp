#include "app/studio/png_exports.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>

namespace genlens::studio {

namespace fs = std::filesystem;

void PngExports::request(const views::PngRequest& r, const std::string& workspace) {
  PngCapture c{script_path_, r.x0, r.y0, r.x1, r.y1};
  script_path_.clear();
  if (c.path.empty()) {
    const fs::path base = workspace.empty() ? fs::current_path() : fs::path(workspace);
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    c.path = (base / "exports" / fmt::format("{}-{}.png", r.name, stamp)).string();
  }
  capture_ = c;
}

std::optional<PngCapture> PngExports::take() {
  auto c = capture_;
  capture_.reset();
  return c;
}

std::string PngExports::saved(const PngCapture& c, const std::string& error) {
  error_ = error;
  if (error.empty()) return fmt::format("saved {} ({:.0f} × {:.0f} px)", c.path, c.x1 - c.x0, c.y1 - c.y0);
  return fmt::format("could not save {}: {}", c.path, error);
}

}  // namespace genlens::studio
