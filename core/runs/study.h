// `genlens study`: one training setting (or several) varied over values, one run per
// combination and seed, each trained exactly as `genlens train` would train it
// (core/runs/train_run.h), evaluated as `genlens eval --modes generative` would, and probed
// on held-out queries (decode and lens rates, core/runs/probe.h). Resumable and cached per
// run: a run with its done.json is never trained again. The layout and study.json are in
// core/runs/study_file.h.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/gen/train_settings.h"
#include "core/runs/study_file.h"

namespace genlens::runtime {
class JobContext;
}

namespace genlens::runs {

struct StudyOptions {
  std::string model_dir;
  std::filesystem::path data;     // responses JSONL, as `genlens train --data`
  std::filesystem::path tasks;    // task folders, as `genlens eval --tasks`
  std::filesystem::path heldout;  // "" = no probe; JSONL {"id"?, "question", "answer"?, "signature"?, "category"?}
  std::filesystem::path out;
  gen::TrainSettings base;        // every setting not varied
  std::vector<VaryAxis> vary;
  Combine combine = Combine::Grid;
  int seeds = 1;                  // seeds base.seed, base.seed + 1, ...; a varied "seed" axis replaces them
  std::vector<std::string> modes = {"generative"};
  std::string device = "cpu";
  std::string dtype;              // "" = the model's own
  int64_t eval_batch_size = 16;
  bool skip_empty = true;         // as `genlens train` (--keep-empty)
  // Other study folders whose finished runs may stand in for a run of this one: a run
  // with the same data and the same settings (bookkeeping ones aside) is copied, not
  // trained again (the demo's ablations share their recon + align baseline this way).
  std::vector<std::filesystem::path> reuse;
  // Instead of training: finished `genlens train` runs to compare, each one variant named
  // by the settings that differ between them (read from their trainer_state.json); they
  // are evaluated and probed like trained variants, never trained further. data, vary
  // and seeds are then unused.
  std::vector<std::filesystem::path> runs;
};

// One training run of the plan: the variant it belongs to and its full settings.
struct PlannedRun {
  size_t variant = 0;
  uint64_t seed = 0;
  gen::TrainSettings settings;
  std::string dir;  // relative to the study folder
  std::filesystem::path trained;  // StudyOptions::runs: the finished run compared (nothing is trained)
};

struct StudyPlan {
  Study study;  // model, data, columns not yet known; variants with their runs not done
  std::vector<PlannedRun> runs;
};

// The variants and runs of the options, checked before anything is trained: an unknown
// --vary key (with the keys there are), an empty value list, a value the setting's type
// or TrainSettings::validate refuses, zip axes of different lengths, a duplicate key ->
// genlens::Error naming the key and value.
StudyPlan plan_study(const StudyOptions& o);

// With StudyOptions::runs: one variant per run, the axes being the settings that differ
// (bookkeeping ones aside); a folder that is not a finished run is an error naming it.
StudyPlan plan_runs(const StudyOptions& o);

// The keys --vary accepts: every `genlens train` option without its dashes.
std::vector<std::string> vary_keys();

// Runs every planned run not yet done (resuming a half-trained one from its newest
// checkpoint), writing study.json after each and table.md at the end. Progress: one
// part per run (JobContext::set_part) over the stages inside it.
Study run_study(const StudyOptions& o, runtime::JobContext& ctx);

}  // namespace genlens::runs
