// The Training tab's feature: a run started here (`genlens train` as a child process:
// start, pause, continue, stop, resume) or followed from its directory (curves, steps,
// checkpoints, ETA), and ★ the probe timeline: one query's logit lens and decoded text at
// every checkpoint the run writes.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/studio/pending.h"
#include "app/studio/run_follower.h"
#include "app/studio/studio_context.h"
#include "app/studio/subprocess.h"
#include "app/studio/workspace_controller.h"
#include "views/training_view.h"

namespace genlens::studio {

class TrainingController {
 public:
  explicit TrainingController(StudioContext& cx) : cx_(cx) {}

  void follow_run(const std::string& dir);
  // False when the form is incomplete or a run already goes on.
  bool start(bool resume);
  void stop();
  // Pause freezes the run's process where it stands (SIGSTOP); continue picks it up again.
  void pause(bool pause);
  // The run's state, its log and curves; a finished run's adapter to offer ("" = none).
  std::string poll(int frame_no);
  // The probe follows the inspected query (`shown`, "" = none) until one is typed.
  void poll_probe(const std::string& shown, const std::string& typed_query);
  void set_probe(const std::string& query);  // as typed by the person (or a script)
  void probe_entered() { probe_submit_ = probe_typed_ = true; }

  void set_form_model(const std::string& dir);
  // A workspace's training data and (unless one is set) where a run goes.
  void set_form_paths(const std::string& responses, const std::string& runs_dir);
  bool set_field(const std::string& key, const std::string& value);
  void check_form() { train_.form_warnings = warnings(); }
  std::string checkpoint_dir(int index) const;  // of the followed run

  // "training-points", "checkpoints", "training-state", "train-warning", "probe",
  // "probe-done" (script.h "expect").
  std::optional<std::string> script_value(const std::string& key) const;
  int64_t last_step() const { return follower_ ? follower_->last_step() : 0; }
  RunLine run_line() const;
  int probe_job() const { return probe_.id(); }
  const views::TrainingSnapshot& snapshot() const { return train_; }
  views::TrainingState& ui() { return train_state_; }

 private:
  void absorb_follower();  // the followed run's series and checkpoints into the snapshot
  void follow_progress(int frame_no);
  std::vector<std::string> warnings() const;

  StudioContext& cx_;
  views::TrainingSnapshot train_;
  views::TrainingState train_state_;
  // The run started here; its result is the pause/continue switch of its process. It
  // stays the tab's run after it finishes (its end state is shown).
  Pending<ProcessControl> run_;
  size_t run_events_ = 0;
  bool offered_run_ = false;  // the finished run's adapter was offered (Workspace tab)
  std::unique_ptr<RunFollower> follower_;
  // The probe: one job at a time, over checkpoints not probed yet.
  Pending<views::ProbeFrame> probe_;
  std::string probe_query_;
  bool probe_submit_ = false;
  bool probe_typed_ = false;  // set by the person (or a script): inspecting a query no longer changes it
  std::vector<std::string> probed_;  // checkpoint dirs done (or failed) for probe_query_
};

}  // namespace genlens::studio
