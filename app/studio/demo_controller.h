// `genlens-studio --demo` on a machine without the demo workspace: the same pipeline
// as `genlens demo` (core/demo/pipeline.h) as a job, its progress drawn by
// views/demo_build_view in place of the tabs until the workspace is built.
#pragma once
#include <memory>
#include <string>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "views/demo_build_view.h"

namespace genlens::studio {

class DemoController {
 public:
  explicit DemoController(StudioContext& cx) : cx_(cx) {}

  // Starts building the demo workspace in `dir`; false when it is built already (open it).
  bool build(const std::string& dir, bool quick);
  void cancel();
  // The built workspace to open ("" while it builds, or after it failed or was cancelled).
  std::string poll();

  bool showing() const { return show_; }  // the build panel replaces the tabs
  int job() const { return job_.id(); }
  const std::string& dir() const { return dir_; }
  bool quick() const { return quick_; }
  const views::DemoBuildSnapshot& snapshot() const { return demo_; }

 private:
  struct Progress;

  StudioContext& cx_;
  Pending<Progress> job_;  // the build, and the stage it is in and when each began
  bool show_ = false;
  std::string dir_;
  bool quick_ = false;
  views::DemoBuildSnapshot demo_;
};

}  // namespace genlens::studio
