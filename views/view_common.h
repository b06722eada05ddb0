// Small helpers shared by the views: a status line for a result that is pending,
// running, failed or unavailable, and a section header.
#pragma once
#include <string>

namespace genlens::views {

// A result's status as the job host reports it. Empty text = the result is ready.
struct Status {
  enum Kind { Ready, Idle, Running, Failed, Unavailable };
  Kind kind = Idle;
  std::string text;  // Idle: what to do to get it; Running: stage; Failed: the error; Unavailable: why
  static Status ready() { return {Ready, ""}; }
  bool is_ready() const { return kind == Ready; }
};

// Draws the status (nothing when ready); returns true when the result is ready.
bool draw_status(const Status& s);

// A header line with a faint rule under it.
void section(const char* title);

// A read-only multi-line text block that wraps to the window width.
void wrapped_block(const std::string& text);

// One line of text cut with "…" to `width` pixels (whole UTF-8 characters); hovering a
// cut line shows the whole text. `disabled`: drawn in the faint colour.
void text_ellipsis(const std::string& text, float width, bool disabled = false);
// `s` shortened with "…" until CalcTextSize fits `width` ("" when not even "…" fits).
std::string fit_text(const std::string& s, float width);
// `s` cut to at most `max_chars` characters (UTF-8 aware), "…" added when cut.
std::string cut_chars(const std::string& s, size_t max_chars);

// A path as the studio shows it: $HOME written as "~" (so screenshots and logs read the
// same on every machine); in a message, every path under $HOME. expand_user is the way
// back for what a person types ("~/x").
std::string display_path(const std::string& path);
std::string expand_user(const std::string& path);

// "Save this part of the window as a PNG" (a map, a plot): the rectangle, in window
// pixels from the top-left, of what was drawn this frame. The app reads the pixels back
// after the frame is rendered, so the image is exactly what is on screen.
struct PngRequest {
  std::string name;  // what it is: "map", "loss", ... (the file is named after it)
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool wanted() const { return !name.empty(); }
};

// A small "PNG" button. True when clicked, or when `pending` (set by a script) names
// `name`: then `pending` is cleared, as if it had been clicked.
bool png_button(const char* name, std::string& pending);

// The last item's rectangle (ImGui::GetItemRectMin/Max, e.g. of a group) as a request.
PngRequest png_of_last_item(const char* name);

}  // namespace genlens::views
