// One run of the demo pipeline and its stages (core/demo/stages.cpp), for run_demo in
// pipeline.cpp. Internal to core/demo.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/data/demo_world.h"
#include "core/demo/pipeline.h"
#include "core/gen/checkpoint.h"
#include "core/gen/train_settings.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"

namespace genlens::demo::stages {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The evaluation modes, in the order the eval stage runs them (and its progress phases).
inline const std::vector<std::string> kModes = {"generative", "mean", "last"};

// Sizes of the two variants. The quick one is what CI runs (<= 90 s on 2 cores).
struct Plan {
  double world_scale;
  int64_t lm_steps, lm_batch;
  double lm_lr;
  int64_t adapter_steps, adapter_batch;
  int64_t hidden, layers, intermediate, vocab;
};
Plan plan_for(bool quick);

// The adapter stage's training settings (the demo's adapter, and the base of its
// ablation studies, core/demo/ablations.h): the run `genlens train` would make with them.
gen::TrainSettings adapter_settings(const Plan& plan);

struct Workspace {
  fs::path root;
  fs::path world() const { return root / "world"; }
  fs::path model() const { return root / "model"; }
  fs::path responses() const { return root / "responses.jsonl"; }
  fs::path run() const { return root / "run"; }
  fs::path tasks() const { return root / "tasks"; }
  fs::path eval() const { return root / "eval"; }
  fs::path maps() const { return root / "maps"; }
  fs::path lens() const { return root / "lens"; }
  fs::path stages() const { return root / "stages.json"; }
  fs::path report() const { return root / "report.json"; }
};

// One run of the pipeline: what the stages read and what they hand on, filled in as the
// run goes (the model once the lm stage has made it, the adapter once its stage has).
struct DemoRun {
  DemoRun(runtime::JobContext& job, const DemoOptions& o);
  runtime::JobContext& ctx;
  const DemoOptions& options;
  Workspace ws;
  Plan plan;
  fs::path world_file;
  WorldData world;   // generated on every run: cheap, deterministic, and later stages read it
  json identity;     // demo.json: the (world, variant) the workspace belongs to
  json stages;       // stages.json: each finished stage's result and wall time
  int stages_started = 0;
  std::vector<WorldExample> train, heldout;  // the workspace's world files (held-out: no restatements)
  std::unique_ptr<text::Tokenizer> tok;
  text::ChatTemplate chat;
  std::shared_ptr<const model::DecoderLM> lm;
  std::vector<int64_t> eos;
  gen::LoadedAdapter adapter;
};

// The steps run_demo takes, in order. A stage function builds its outputs and returns the
// result recorded in stages.json; run_stage skips it when that file records it.
void generate_demo_world(DemoRun& run);
void open_workspace(DemoRun& run);
void run_stage(DemoRun& run, const std::string& name, json (*build)(DemoRun&));
json write_world(DemoRun& run);
void read_world_files(DemoRun& run);
json train_tokenizer(DemoRun& run);
json pretrain_tiny_lm(DemoRun& run);
void load_model(DemoRun& run);
json check_lm_answers(DemoRun& run);
json generate_own_responses(DemoRun& run);
json train_adapter(DemoRun& run);
json evaluate_tasks(DemoRun& run);
json build_maps(DemoRun& run);
json read_lens(DemoRun& run);
json write_report(DemoRun& run);

}  // namespace genlens::demo::stages
