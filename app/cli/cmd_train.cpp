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
#include "core/data/responses.h"
#include "core/dist/group.h"
#include "core/gen/checkpoint.h"
#include "core/gen/trainer.h"
#include "core/io/atomic_file.h"
#include "core/io/dir_lock.h"
#include "core/teach/teacher.h"
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
                 "auto (on for CUDA), on, off. Same result, less memory, one more forward")
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
    if (root)  // valid but probably not meant (a warm-up as long as the run): said even with --quiet
      for (auto& w : settings.warnings()) fmt::print(stderr, "warning: {}\n", w);
    // One process per run directory: a second `genlens train --out` here is refused.
    std::optional<io::DirLock> lock;
    if (root) lock.emplace(o->out, "run");

    auto tok = text::load_tokenizer(o->model);
    std::shared_ptr<const model::DecoderLM> lm = o->dev.load(o->model);
    auto rows = data::read_responses(o->data);
    const size_t n_rows = rows.size();
    const size_t n_empty = o->skip_empty ? data::drop_empty_answers(rows) : 0;
    if (o->skip_empty && rows.empty())
      fail("{}: all {} answers are empty; nothing to train on (regenerate the responses, or --keep-empty)", o->data,
           n_rows);
    gen::Trainer* trainer_ptr = nullptr;
    std::unique_ptr<gen::Trainer> trainer;
    runtime::Job job("train", [&](runtime::JobContext& ctx) {
      if (n_empty > 0)
        ctx.log(fmt::format("skipped {} of {} rows of {} whose answer is empty (--keep-empty keeps them)", n_empty,
                            n_rows, o->data));
      auto tokd = data::tokenize_train_data(rows, *tok, data::target_eos_id(*tok, *lm), settings, &ctx);
      gen::TrainerSetup ts;
      ts.lm = lm;
      ts.model_dir = o->model;
      ts.recompute = gen::parse_recompute(o->recompute);
      ts.data = std::move(tokd.data);
      if (!o->resume && !gen::list_checkpoints(o->out).empty())
        fail("{} already holds checkpoints (newest: {}); pass --resume to continue that run or choose another --out",
             o->out, gen::list_checkpoints(o->out).back().second.filename().string());
      if (o->resume && !gen::list_checkpoints(o->out).empty()) {
        // Before the teacher stage touches the run's cache: resuming needs the same teacher.
        auto path = gen::list_checkpoints(o->out).back().second / "trainer_state.json";
        if (std::filesystem::exists(path)) {
          auto prev = gen::read_trainer_state(path).value("settings", nlohmann::json::object()).value("teacher", settings.teacher);
          if (prev != settings.teacher)
            fail("{}: cannot resume with a different --teacher (the run used {}, this command {})", path.string(), prev,
                 settings.teacher);
        }
      }
      // The teacher is its own stage, before any training step, cached in the run directory.
      teach::TeacherInputs ti;
      ti.lm = lm;
      ti.texts = std::move(tokd.teacher_texts);
      if (settings.teacher.rfind("llm2vec:", 0) == 0)
        for (auto& r : rows) ti.answers.push_back(r.answer);
      ti.batch_size = settings.teacher_batch;
      ti.max_length = settings.response_max_length;
      // Rank 0 computes (or reuses) the cached teacher table; the others then read its cache.
      if (root) ts.teacher = teach::prepare_teacher(settings.teacher, ti, o->out, &ctx);
      if (group) group->barrier_long("rank 0 prepares the teacher");
      if (!root) ts.teacher = teach::prepare_teacher(settings.teacher, ti, o->out, &ctx);
      ts.settings = settings;
      ts.out_dir = o->out;
      ts.resume = o->resume;
      ts.stop_at_step = o->stop_at;
      ts.group = group;
      trainer = std::make_unique<gen::Trainer>(std::move(ts));
      trainer_ptr = trainer.get();
      trainer->run(ctx);
    });
    int rc = run_job_cli(job, quiet);
    if (rc == kCancelled && trainer_ptr && !trainer_ptr->last_checkpoint().empty())
      fmt::print(stderr, "stopped at step {}; continue with the same command plus --resume\n", trainer_ptr->step());
    if (rc != kOk) return rc;
    if (!root) return kOk;
    fmt::print("trained to step {} of {}: {}\n", trainer_ptr->step(), settings.steps,
               trainer_ptr->last_checkpoint().string());
    return kOk;
  };
}

RegisterCommand reg({"train", "Train the generative-embedding adapter (special tokens + heads) on a frozen model",
                     setup, 41, /*distributed=*/true});

}  // namespace
}  // namespace genlens::cli
