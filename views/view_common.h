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

}  // namespace genlens::views
