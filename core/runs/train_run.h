// A training run from files, as `genlens train` makes it: responses JSONL read (empty
// answers dropped unless asked), tokenized, the teacher prepared and cached in the run
// directory, then the Trainer. `genlens train` and `genlens study` both call this, so a
// study's run is the run `train` would make with the same settings.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/gen/train_settings.h"
#include "core/gen/trainer.h"

namespace genlens::text {
class Tokenizer;
}
namespace genlens::dist {
class Group;
}

namespace genlens::runs {

struct TrainRunOptions {
  std::shared_ptr<const model::DecoderLM> lm;
  const text::Tokenizer* tok = nullptr;
  std::filesystem::path model_dir;
  std::filesystem::path data;  // responses JSONL
  std::filesystem::path out;   // run directory
  gen::TrainSettings settings;
  bool resume = false;         // continue the newest checkpoint in `out` (fresh when there is none)
  bool skip_empty = true;      // drop rows whose answer is empty (their teacher target is a zero vector)
  int64_t stop_at_step = 0;
  gen::Recompute recompute = gen::Recompute::Auto;
  dist::Group* group = nullptr;  // data-parallel ranks; rank 0 prepares the teacher
};

struct TrainRunResult {
  int64_t step = 0;                     // where the run stopped
  std::filesystem::path last_checkpoint;
  runtime::MetricRow last;                 // the last logged metrics (empty when no step ran)
};

// Runs the whole thing on `ctx` (stages "tokenize", "teacher", "train"). Refuses an `out`
// that holds checkpoints unless resuming, and a resume with a different teacher. When the
// job is cancelled the trainer saves a checkpoint and runtime::Cancelled propagates;
// `progress` (optional) then still says where it stopped.
TrainRunResult train_run(const TrainRunOptions& o, runtime::JobContext& ctx, TrainRunResult* progress = nullptr);

}  // namespace genlens::runs
