// `genlens train`: trains the LLM2Vec-Gen adapter (special tokens + heads) on a frozen
// model from responses JSONL. Checkpoints go to OUT/checkpoint-<step>/ (adapter format
// of DESIGN.md §3), metrics to OUT/metrics.jsonl. `--resume` continues the newest
// checkpoint exactly (settings not given on the command line come from the run).
#include <fmt/format.h>

#include <functional>
#include <optional>

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

// option name -> copies that setting from the run being resumed
using Copy = std::function<void(gen::TrainSettings&, const gen::TrainSettings&)>;
#define GENLENS_COPY(field) [](gen::TrainSettings& d, const gen::TrainSettings& s) { d.field = s.field; }

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  auto& s = o->s;
  auto copies = std::make_shared<std::vector<std::pair<std::string, Copy>>>();
  auto opt = [&](const std::string& name, auto& field, const std::string& help, Copy copy) {
    sub.add_option(name, field, help)->capture_default_str();
    copies->emplace_back(name, std::move(copy));
  };
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--data", o->data, "Responses JSONL: {\"id\", \"question\", \"answer\"} per line")->required();
  sub.add_option("--out", o->out, "Run directory (checkpoint-<step>/, metrics.jsonl)")->required();
  opt("--teacher", s.teacher,
      "mean-pool (the frozen LLM over the answer), npy:PATH ([N, D], row-aligned) or "
      "llm2vec:BASE+MNTP_LORA[+SIMCSE_LORA] (the paper's teacher; directories or Hugging Face cache ids "
      "ORG/NAME[@REV]); computed once, cached as OUT/teacher.npy",
      GENLENS_COPY(teacher));
  resolve_teacher_ids(sub.get_option("--teacher"), s.teacher);  // llm2vec:ORG/NAME+... from the HF cache
  opt("--steps", s.steps, "Optimizer steps", GENLENS_COPY(steps));
  opt("--batch-size", s.batch_size, "Rows per micro-batch", GENLENS_COPY(batch_size));
  opt("--grad-accum", s.grad_accum, "Micro-batches per optimizer step", GENLENS_COPY(grad_accum));
  opt("--lr", s.lr, "Peak learning rate (AdamW)", GENLENS_COPY(lr));
  opt("--warmup", s.warmup_steps, "Linear warm-up steps, then linear decay to 0", GENLENS_COPY(warmup_steps));
  opt("--weight-decay", s.weight_decay, "AdamW decoupled weight decay", GENLENS_COPY(weight_decay));
  opt("--beta1", s.beta1, "AdamW beta1", GENLENS_COPY(beta1));
  opt("--beta2", s.beta2, "AdamW beta2", GENLENS_COPY(beta2));
  opt("--max-grad-norm", s.max_grad_norm, "Gradient clipping (<= 0: off)", GENLENS_COPY(max_grad_norm));
  opt("--recon-weight", s.recon_weight, "Weight of the reconstruction loss (may be 0)", GENLENS_COPY(recon_weight));
  opt("--align-weight", s.align_weight, "Weight of the alignment loss (may be 0)", GENLENS_COPY(align_weight));
  opt("--thought", s.n_thought, "Thought tokens", GENLENS_COPY(n_thought));
  opt("--compression", s.n_compression, "Compression tokens (the embedding is read from these)",
      GENLENS_COPY(n_compression));
  opt("--query-max-length", s.query_max_length, "Most query tokens (special tokens come on top)",
      GENLENS_COPY(query_max_length));
  opt("--response-max-length", s.response_max_length, "Most response tokens incl. EOS",
      GENLENS_COPY(response_max_length));
  opt("--instruction", s.instruction, "Text put before every training question", GENLENS_COPY(instruction));
  opt("--seed", s.seed, "Seed of the init and the data order", GENLENS_COPY(seed));
  opt("--save-every", s.save_every, "Checkpoint every N steps (and at the end, and on Ctrl-C)",
      GENLENS_COPY(save_every));
  opt("--keep", s.keep, "Keep the newest K checkpoints (<= 0: all)", GENLENS_COPY(keep));
  opt("--teacher-batch", s.teacher_batch, "Batch size of the teacher's forward passes", GENLENS_COPY(teacher_batch));
  opt("--special-init-std", s.special_init_std, "Std of the special tokens' init (<= 0: the embedding matrix's)",
      GENLENS_COPY(special_init_std));
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

  return [o, copies, &sub]() -> int {
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
        for (auto& [name, copy] : *copies)
          if (sub.count(name) == 0) copy(settings, prev);
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
