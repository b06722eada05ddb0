// PNG export of a map or a plot: a view asks (its PNG button), main() reads the pixels
// after the frame is rendered and reports back. Files go to <workspace>/exports/ (or
// ./exports/ with no workspace) unless a script names the path.
#pragma once
#include <optional>
#include <string>

#include "views/view_common.h"

namespace genlens::studio {

struct PngCapture {
  std::string path;
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // window pixels (ImGui's coordinates)
};

class PngExports {
 public:
  // A script's "save-png": the next request goes to `path`.
  void script_path(const std::string& path) { script_path_ = path; }
  void request(const views::PngRequest& r, const std::string& workspace);
  std::optional<PngCapture> take();
  // What main() reports after writing the file; the log line to show.
  std::string saved(const PngCapture& c, const std::string& error);
  bool busy() const { return !script_path_.empty() || capture_.has_value(); }
  const std::string& last_error() const { return error_; }

 private:
  std::optional<PngCapture> capture_;  // asked for this frame, taken by main() after rendering
  std::string script_path_;            // a script's save-png waiting for its view to draw
  std::string error_;                  // the last export's error ("" when it was written)
};

}  // namespace genlens::studio
