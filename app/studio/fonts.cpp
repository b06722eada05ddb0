#include "app/studio/fonts.h"

#include <fmt/format.h>
#include <imgui.h>

#include <filesystem>

namespace genlens::studio {

namespace {
const char* first_existing(std::initializer_list<const char*> paths) {
  for (auto* p : paths)
    if (std::filesystem::exists(p)) return p;
  return nullptr;
}
}  // namespace

std::string load_fonts(float scale) {
  ImGuiIO& io = ImGui::GetIO();
  const float px = 15.0f * scale;
  const char* sans = first_existing({"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"});
  const char* cjk = first_existing({"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"});
  if (!sans) {
    io.Fonts->AddFontDefault();
    return "fonts: DejaVu Sans not found (fonts-dejavu-core): ASCII only";
  }
  // Static: ImGui keeps pointers to the ranges until the atlas is built.
  static ImVector<ImWchar> ranges;
  ImFontGlyphRangesBuilder b;
  b.AddRanges(io.Fonts->GetGlyphRangesDefault());
  b.AddRanges(io.Fonts->GetGlyphRangesCyrillic());
  static const ImWchar kExtra[] = {0x0100, 0x024F,   // Latin extended
                                   0x0370, 0x03FF,   // Greek
                                   0x0590, 0x06FF,   // Hebrew, Arabic
                                   0x2000, 0x206F,   // punctuation (… – —)
                                   0x2190, 0x21FF,   // arrows (↵ →)
                                   0x2200, 0x22FF,   // maths (∅)
                                   0x25A0, 0x25FF,   // shapes
                                   0x2600, 0x26FF,   // symbols (★ ☀ ☺)
                                   0x2700, 0x27BF,   // dingbats (✓ ✂ ❤)
                                   0};
  b.AddRanges(kExtra);
  b.BuildRanges(&ranges);
  ImFontConfig cfg;
  cfg.OversampleH = 2;
  io.Fonts->AddFontFromFileTTF(sans, px, &cfg, ranges.Data);
  std::string msg = fmt::format("fonts: DejaVu Sans {:.0f}px (content scale {:.2f})", px, scale);
  if (cjk) {
    static ImVector<ImWchar> cjk_ranges;
    ImFontGlyphRangesBuilder cb;
    cb.AddRanges(io.Fonts->GetGlyphRangesChineseSimplifiedCommon());  // + kana, CJK punctuation
    cb.AddRanges(io.Fonts->GetGlyphRangesKorean());
    cb.BuildRanges(&cjk_ranges);
    ImFontConfig m;
    m.MergeMode = true;
    m.OversampleH = 1;
    io.Fonts->AddFontFromFileTTF(cjk, px, &m, cjk_ranges.Data);
    msg += " + Noto Sans CJK";
  } else {
    msg += "; CJK glyphs missing (install fonts-noto-cjk)";
  }
  return msg;
}

}  // namespace genlens::studio
