// The demo pipeline (see pipeline.h). Each stage records what it produced (and how long
// it took) in WORKSPACE/stages.json once its outputs are written; a rerun skips recorded
// stages, and the two long ones (responses, adapter) resume from their own files.
#include "core/demo/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "core/demo/demo_run.h"
#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;
using stages::kModes;

const std::vector<std::string>& demo_stage_names() {
  static const std::vector<std::string> names = {"world",   "tokenizer", "lm",   "lm-check", "responses",
                                                 "adapter", "eval",      "maps", "lens"};
  return names;
}

const std::vector<double>& demo_stage_weights() {
  // From the measured default run (README "The demo world"): pretraining and the
  // adapter dominate.
  static const std::vector<double> w = {0.01, 0.01, 0.34, 0.01, 0.07, 0.53, 0.01, 0.01, 0.01};
  return w;
}

const std::vector<DemoPhase>& demo_stage_phases(const std::string& stage) {
  // The job's stage line while each stage runs (the ctx.set_stage of the code it calls:
  // responses.cpp, teacher.cpp, trainer.cpp, eval.cpp), in the order they come, with the
  // share of the stage done when each ends: one bar through a stage whose parts each
  // count from 0 again (the adapter's "tokenize" 100%, then "train" 0/300 steps).
  static const std::map<std::string, std::vector<DemoPhase>> phases = [] {
    std::map<std::string, std::vector<DemoPhase>> m;
    m["lm"] = {{"lm: pretraining", 1.0}};
    m["responses"] = {{"tokenize", 0.02}, {"generate", 1.0}};
    // The demo's mean-pool teacher is computed between "tokenize" and "train" (a phase of
    // its own when it reports one): the few seconds it takes are the jump to 0.06.
    m["adapter"] = {{"tokenize", 0.01}, {"teacher", 0.06}, {"train", 1.0}};
    // run_eval: per mode, in kModes's order, "encode MODE" (most of the time), then "score MODE".
    std::vector<DemoPhase> ev;
    const double per_mode = 1.0 / static_cast<double>(kModes.size());
    for (size_t i = 0; i < kModes.size(); ++i) {
      ev.push_back({"encode " + kModes[i], per_mode * (static_cast<double>(i) + 0.9)});
      ev.push_back({"score " + kModes[i], per_mode * static_cast<double>(i + 1)});
    }
    ev.back().end = 1.0;
    m["eval"] = ev;
    return m;
  }();
  static const std::vector<DemoPhase> none;
  auto it = phases.find(stage);
  return it == phases.end() ? none : it->second;
}

double overall_fraction(int stage, const std::string& phase, int64_t done, int64_t total) {
  const auto& w = demo_stage_weights();
  const auto& names = demo_stage_names();
  const int n = static_cast<int>(w.size());
  double f = 0;
  for (int i = 0; i < stage && i < n; ++i) f += w[static_cast<size_t>(i)];
  if (stage < 0 || stage >= n) return std::min(1.0, f);
  const std::string& name = names[static_cast<size_t>(stage)];
  const double part = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  // Where in the stage: a listed phase spans from the previous one's end to its own; a
  // stage without phases is one phase under its own name. Anything else -- the stage's
  // own name as it starts, the previous stage's last phase still on the job's line in
  // the moment between the two -- is the stage's beginning.
  double within = 0;
  const auto& phases = demo_stage_phases(name);
  if (phases.empty()) {
    if (phase == name) within = part;
  } else {
    double begin = 0;
    for (auto& p : phases) {
      if (phase.rfind(p.name, 0) == 0) {
        within = begin + (p.end - begin) * part;
        break;
      }
      begin = p.end;
    }
  }
  return std::min(1.0, f + w[static_cast<size_t>(stage)] * within);
}

fs::path default_demo_workspace() {
  if (const char* d = std::getenv("GENLENS_DEMO_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "genlens/demo";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache/genlens/demo";
  return fs::current_path() / "genlens-demo";
}

bool demo_report_exists(const fs::path& ws) { return fs::exists(ws / "report.json"); }

json load_demo_report(const fs::path& ws) {
  if (!demo_report_exists(ws))
    fail("{}: no report.json (build the demo workspace with `genlens demo --out {}`)", ws.string(), ws.string());
  return io::read_json_file(ws / "report.json");
}

json run_demo(runtime::JobContext& ctx, const DemoOptions& o) {
  using namespace stages;
  DemoRun run(ctx, o);
  generate_demo_world(run);
  open_workspace(run);
  run_stage(run, "world", write_world);
  read_world_files(run);
  run_stage(run, "tokenizer", train_tokenizer);
  run_stage(run, "lm", pretrain_tiny_lm);
  load_model(run);
  run_stage(run, "lm-check", check_lm_answers);
  run_stage(run, "responses", generate_own_responses);
  run_stage(run, "adapter", train_adapter);
  run.adapter = gen::load_adapter(gen::resolve_adapter_dir(run.ws.run()), *run.lm, run.ws.model());
  run_stage(run, "eval", evaluate_tasks);
  run_stage(run, "maps", build_maps);
  run_stage(run, "lens", read_lens);
  return write_report(run);
}

}  // namespace genlens::demo
