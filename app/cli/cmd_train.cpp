// `genlens train`: trains the LLM2Vec-Gen adapter (special tokens + heads) on a frozen
// model from responses JSONL. Checkpoints go to OUT/checkpoint-<step>/ (adapter format
// of docs/ARCHITECTURE.md §6.3), metrics to OUT/metrics.jsonl. `--resume` continues the newest
// checkpoint exactly (settings not given on the command line come from the run).
#include <fmt/format.h>

#include <optional>
#include <variant>

#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "core/dist/group.h"
#include "core/gen/checkpoint.h"
#include "core/io/atomic_file.h"
#include "core/io/dir_lock.h"
#include "core/runs/train_run.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, data, out;
  gen::TrainSettings s;
  bool resume = false, quiet = false, skip_empty = true;
  int64_t stop_at = 0;
  std::string recompute = "auto";
  DeviceArgs dev;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  auto& s = o->s;
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--data", o->data, "Responses JSONL: {\"id\", \"question\", \"answer\"} per line")->required();
  sub.add_option("--out", o->out, "Run directory (checkpoint-<step>/, metrics.jsonl)")->required();
  // Every setting of the run that has an option (core/gen/train_settings.h's table).
  for (const auto& f : gen::kTrainSettingFields)
    if (f.is_option())
      std::visit([&](auto member) { sub.add_option(f.name, s.*member, f.help)->capture_default_str(); }, f.member);
  resolve_teacher_ids(sub.get_option("--teacher"), s.teacher);  // llm2vec:ORG/NAME+... from the HF cache
  sub.add_flag("--skip-empty,!--keep-empty", o->skip_empty,
               "Drop rows whose answer is empty (default; their teacher target would be a zero vector); "
               "--keep-empty trains on them too");
  sub.add_flag("--resume", o->resume, "Continue the newest checkpoint in --out (starts fresh if there is none)");
  sub.add_option("--stop-at", o->stop_at, "Stop after this step (checkpoint saved); continue later with --resume");
  sub.add_option("--recompute", o->recompute,
                 "Recompute the frozen LLM's layers in backward instead of keeping their activations: "
                 "auto (on for CUDA; on a CPU when a step's activations would take over half the free memory), "
                 "on, off. Same result, less memory, one more forward")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);

  return [o, &sub]() -> int {
    // Under a multi-process launch: rendezvous first (so a missing rank shows at once);
    // rank 0 prints progress and owns the run directory, the others compute quietly.
    dist::Group* group = dist::process_group(o->dev.resolve_device());
    const bool root = !group || group->is_root();
    const bool quiet = quiet_requested(sub, o->quiet) || !root;
    gen::TrainSettings settings = o->s;
    if (o->resume) {
      auto cps = gen::list_checkpoints(o->out);
      if (!cps.empty() && std::filesystem::exists(cps.back().second / "trainer_state.json")) {
        auto path = cps.back().second / "trainer_state.json";
        const auto st = gen::read_trainer_state(path);  // type-checked: errors name the file and field
        auto prev = gen::TrainSettings::from_json(st.value("settings", nlohmann::json::object()), path.string());
        // Settings not given on this command line continue the run's.
        for (const auto& f : gen::kTrainSettingFields)
          if (f.is_option() && sub.count(f.name) == 0)
            std::visit([&](auto member) { settings.*member = prev.*member; }, f.member);
      }
    }
    settings.validate();
    if (o->dev.weights != "same")  // the loss reads the LM head in its own dtype (gen/linear_ce.h)
      fail("--weights {}: training keeps the weights in the compute dtype (--weights same); the low-memory format is "
           "for lens, decode, encode and the other analysis commands", o->dev.weights);
    if (root)  // valid but probably not meant (a warm-up as long as the run): said even with --quiet
      for (auto& w : settings.warnings()) fmt::print(stderr, "warning: {}\n", w);
    // One process per run directory: a second `genlens train --out` here is refused.
    std::optional<io::DirLock> lock;
    if (root) lock.emplace(o->out, "run");

    auto tok = text::load_tokenizer(o->model);
    runs::TrainRunOptions tr;
    tr.lm = o->dev.load(o->model);
    tr.tok = tok.get();
    tr.model_dir = o->model;
    tr.data = o->data;
    tr.out = o->out;
    tr.settings = settings;
    tr.resume = o->resume;
    tr.skip_empty = o->skip_empty;
    tr.stop_at_step = o->stop_at;
    tr.recompute = gen::parse_recompute(o->recompute);
    tr.group = group;
    runs::TrainRunResult done;
    runtime::Job job("train", [&](runtime::JobContext& ctx) { runs::train_run(tr, ctx, &done); });
    int rc = run_job_cli(job, quiet);
    if (rc == kCancelled && !done.last_checkpoint.empty())
      fmt::print(stderr, "stopped at step {}; continue with the same command plus --resume\n", done.step);
    if (rc != kOk) return rc;
    if (!root) return kOk;
    fmt::print("trained to step {} of {}: {}\n", done.step, settings.steps, done.last_checkpoint.string());
    return kOk;
  };
}

RegisterCommand reg({"train", "Train the generative-embedding adapter (special tokens + heads) on a frozen model",
                     setup, 41, /*distributed=*/true});

}  // namespace
}  // namespace genlens::cli
