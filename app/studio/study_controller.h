// The Compare tab's study: reads a study folder (study.json) on a job, then the held-out
// map and samples of the two variants picked for the maps, on another; the view reads
// the snapshot only.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "views/study_view.h"

namespace genlens::studio {

class StudyController {
 public:
  explicit StudyController(StudioContext& cx) : cx_(cx) {}

  void open(const std::string& path);  // a study folder or its study.json
  void reload() {
    if (!path_.empty()) open(path_);
  }
  void poll();
  // The view's intents: open, reload, the picked variants changed.
  void act(const views::StudyIntents& in);
  // Script: the variants on the maps (rows, or names), and a query inspected as a click does.
  bool pick(const std::string& a, const std::string& b);
  void inspect(const std::string& id);

  int read_job() const { return read_.id(); }
  int maps_job() const { return maps_.id(); }
  const views::StudySnapshot& snapshot() const { return snap_; }
  views::StudyState& ui() { return state_; }
  // study-status, study-maps, study-selected, study-inspected (script.h "expect").
  std::optional<std::string> script_value(const std::string& key) const;

 private:
  void load_maps();

  StudioContext& cx_;
  std::string path_;             // what was opened, as typed
  std::filesystem::path dir_;    // the study folder read
  views::StudySnapshot snap_;
  views::StudyState state_;
  Pending<views::StudySnapshot> read_;
  Pending<std::pair<views::StudyProbe, views::StudyProbe>> maps_;
  int maps_for_a_ = -1, maps_for_b_ = -1;
};

}  // namespace genlens::studio
