// The studio's font: DejaVu Sans (Latin, Greek, Cyrillic, Arabic and Hebrew letters,
// arrows and symbols) with Noto Sans CJK merged in when installed (fonts-noto-cjk), so
// queries in most scripts render. Sized by the monitor's content scale. Falls back to
// ImGui's built-in font (ASCII only) when no font file is found, and says so.
#pragma once
#include <string>

namespace genlens::studio {

// Loads the fonts into the current ImGui context; returns a line for the log.
std::string load_fonts(float content_scale);

}  // namespace genlens::studio
