// `genlens study`: training settings varied over values, one adapter per combination and
// seed, each trained as `genlens train`, evaluated as `genlens eval --modes generative` and
// probed on held-out queries; study.json and table.md in --out (core/runs/study.h).
#include <fmt/format.h>

#include <variant>

#include "app/cli/command.h"
#include "app/cli/list_arg.h"
#include "app/cli/model_args.h"
#include "app/cli/progress.h"
#include "core/runs/study.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  runs::StudyOptions s;
  std::string data, tasks, heldout, out, modes = "generative";
  std::vector<std::string> vary;
  bool zip = false, quiet = false, keep_empty = false;
};

// "KEY=V1,V2,..." -> the axis; an empty value list is kept (plan_study names it).
runs::VaryAxis parse_vary(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("--vary {}: expected KEY=V1,V2,... (e.g. --vary recon-weight=1,0 or --vary thought=0,10)", spec);
  runs::VaryAxis a;
  a.key = spec.substr(0, eq);
  if (a.key.rfind("--", 0) == 0) a.key = a.key.substr(2);  // --vary --lr=... reads as lr
  const std::string values = spec.substr(eq + 1);
  size_t at = 0;
  while (at <= values.size() && !values.empty()) {
    const size_t comma = values.find(',', at);
    const std::string v = values.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (v.empty()) fail("--vary {}: an empty value in \"{}\" (expected {}=V1,V2,...)", a.key, values, a.key);
    a.values.push_back(v);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return a;
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  auto& s = o->s.base;
  add_model_option(sub, "--model", o->s.model_dir, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--data", o->data, "Responses JSONL, as `genlens train --data` (not with --runs)");
  sub.add_option("--tasks", o->tasks, "Task folders, as `genlens eval --tasks`")->required();
  sub.add_option("--out", o->out, "Study folder (study.json, table.md, variants/); a rerun continues it")->required();
  sub.add_option("--vary", o->vary,
                 "KEY=V1,V2,... : a training setting (any `genlens train` option without its dashes: "
                 "recon-weight, align-weight, thought, compression, lr, steps, seed, teacher, ...) and its values; "
                 "repeat for more settings");
  sub.add_option("--runs", o->s.runs,
                 "Instead of --vary: finished `genlens train` run folders to compare side by side (each one variant, "
                 "named by the settings that differ between them); evaluated and probed, never trained");
  auto* grid = sub.add_flag("--grid", "Every combination of the --vary values (the default)");
  sub.add_flag("--zip", o->zip, "The i-th values of every --vary together (all of the same length)")->excludes(grid);
  sub.add_option("--seeds", o->s.seeds, "Runs per variant, seeds --seed, --seed + 1, ...: the table gives mean ± "
                                        "spread and says when a difference is inside it")
      ->capture_default_str();
  sub.add_option("--heldout", o->heldout,
                 "Held-out queries JSONL {\"question\", \"answer\" (the model's response) or \"signature\": [words]}: "
                 "scores decoding and the logit lens of each variant, and the maps the studio compares");
  sub.add_option("--reuse", o->s.reuse,
                 "Other study folders: a run finished there with the same model, data and settings is copied "
                 "instead of trained (repeatable)");
  sub.add_option("--modes", o->modes, "Encode modes evaluated per variant (comma-separated)")->capture_default_str();
  sub.add_option("--device", o->s.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub.add_option("--dtype", o->s.dtype, "LLM compute dtype: auto (bf16 on CUDA, f32 on CPU), f32, bf16, f16")
      ->default_str("auto");
  sub.add_flag("--keep-empty", o->keep_empty, "Train on rows whose answer is empty too (as `genlens train`)");
  // The base of every variant: each `genlens train` setting, with train's defaults.
  for (const auto& f : gen::kTrainSettingFields)
    if (f.is_option())
      std::visit([&](auto member) { sub.add_option(f.name, s.*member, f.help)->capture_default_str(); }, f.member);
  resolve_teacher_ids(sub.get_option("--teacher"), s.teacher);
  add_quiet_flag(sub, o->quiet);

  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    if (o->s.runs.empty() && o->vary.empty())
      fail("study: give --vary KEY=V1,V2 (train variants) or --runs RUN1 RUN2 (compare finished runs)");
    if (o->s.runs.empty() && o->data.empty()) fail("study: --vary trains variants and needs --data responses.jsonl");
    if (!o->s.runs.empty() && !o->data.empty())
      fail("study: --runs compares finished runs; --data is for training (--vary)");
    o->s.combine = o->zip ? runs::Combine::Zip : runs::Combine::Grid;
    for (const auto& spec : o->vary) o->s.vary.push_back(parse_vary(spec));
    o->s.data = o->data;
    o->s.tasks = o->tasks;
    o->s.heldout = o->heldout;
    o->s.out = o->out;
    o->s.modes = split_comma_list(o->modes, "--modes: expected a comma-separated list");
    o->s.skip_empty = !o->keep_empty;
    const auto plan = runs::plan_study(o->s);  // every bad --vary named before anything loads
    if (!quiet)
      fmt::print(stderr, "study: {} variant(s), {} {} into {}\n", plan.study.variants.size(), plan.runs.size(),
                 o->s.runs.empty() ? "training run(s)" : "finished run(s) to evaluate and probe", o->out);
    runs::Study result;
    runtime::Job job("study", [&](runtime::JobContext& ctx) { result = runs::run_study(o->s, ctx); });
    ProgressStyle style;
    style.keep_stage_lines = false;
    // The trainer's line per step is what train shows; here the one bar says it.
    style.show_log = [](const std::string& line) { return line.rfind("step ", 0) != 0; };
    int rc = run_job_cli(job, quiet, style);
    if (rc == kCancelled)
      fmt::print(stderr, "stopped; the finished runs are kept: rerun the same command to continue\n");
    if (rc != kOk) return rc;
    fmt::print("{}\nstudy: {}\n", runs::study_table_markdown(result),
               (std::filesystem::path(o->out) / "study.json").string());
    return kOk;
  };
}

RegisterCommand reg({"study", "Vary training settings: one adapter per variant, trained, evaluated and probed side by side",
                     setup, 47});

}  // namespace
}  // namespace genlens::cli
