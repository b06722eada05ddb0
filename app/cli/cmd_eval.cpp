// `genlens eval`: every task folder under --tasks, every mode -> OUT/results.json + a table.
#include <fmt/format.h>


#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/list_arg.h"
#include "app/cli/progress.h"
#include "core/analysis/eval.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  analysis::EvalOptions e;
  std::string modes = "generative,mean,last", tasks, out;
  bool quiet = false, json = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->e.model_dir, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->e.adapter, "Adapter checkpoint or run directory (needed by the generative mode)");
  sub.add_option("--tasks", o->tasks, "A task folder, or a folder of task folders (README: Evaluation tasks)")->required();
  sub.add_option("--modes", o->modes, "Comma-separated encode modes")->capture_default_str();
  sub.add_option("--out", o->out, "Output folder for results.json")->required();
  sub.add_option("--batch-size", o->e.batch_size, "Texts per batch")->check(kAtLeastOne)->capture_default_str();
  add_max_length_option(sub, o->e.max_length);
  sub.add_option("--device", o->e.device, "cpu, cuda or cuda:N")->capture_default_str();
  sub.add_option("--dtype", o->e.dtype, "LLM compute dtype: auto, f32, bf16, f16")->default_str("auto");
  sub.add_option("--seed", o->e.seed, "Seed for k-means")->capture_default_str();
  sub.add_flag("--no-cache", [o](int64_t) { o->e.use_cache = false; },
               "Encode everything again (default: reuse OUT/cache/ embeddings of the same model, adapter and texts)");
  sub.add_flag("--json", o->json, "Print results.json instead of the table");
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    o->e.modes = split_comma_list(o->modes, "--modes: expected a comma-separated list such as generative,mean,last");
    o->e.tasks_dir = o->tasks;
    o->e.out_dir = o->out;
    analysis::EvalResults res;
    runtime::Job job("eval", [&](runtime::JobContext& ctx) { res = analysis::run_eval(o->e, &ctx); });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    warn_cuts("eval", res.cuts, quiet);
    if (o->json) fmt::print("{}", analysis::results_to_json(res));
    else fmt::print("{}{}\n", analysis::format_results_table(res), "results: " + (std::filesystem::path(o->out) / "results.json").string());
    return kOk;
  };
}

RegisterCommand reg({"eval", "Score encode modes on task folders (STS, clustering, classification, retrieval, safety)", setup, 46});

}  // namespace
}  // namespace genlens::cli
