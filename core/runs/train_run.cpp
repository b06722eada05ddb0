#include "core/runs/train_run.h"

#include <fmt/format.h>

#include "core/data/responses.h"
#include "core/dist/group.h"
#include "core/gen/checkpoint.h"
#include "core/runtime/job.h"
#include "core/teach/teacher.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::runs {
namespace fs = std::filesystem;

TrainRunResult train_run(const TrainRunOptions& o, runtime::JobContext& ctx, TrainRunResult* progress) {
  const auto& settings = o.settings;
  const bool root = !o.group || o.group->is_root();
  auto rows = data::read_responses(o.data);
  const size_t n_rows = rows.size();
  const size_t n_empty = o.skip_empty ? data::drop_empty_answers(rows) : 0;
  if (o.skip_empty && rows.empty())
    fail("{}: all {} answers are empty; nothing to train on (regenerate the responses, or --keep-empty)",
         o.data.string(), n_rows);
  if (n_empty > 0)
    ctx.log(fmt::format("skipped {} of {} rows of {} whose answer is empty (--keep-empty keeps them)", n_empty, n_rows,
                        o.data.string()));
  auto tokd = data::tokenize_train_data(rows, *o.tok, data::target_eos_id(*o.tok, *o.lm), settings, &ctx);
  const auto checkpoints = gen::list_checkpoints(o.out);
  if (!o.resume && !checkpoints.empty())
    fail("{} already holds checkpoints (newest: {}); pass --resume to continue that run or choose another --out",
         o.out.string(), checkpoints.back().second.filename().string());
  if (o.resume && !checkpoints.empty()) {
    // Before the teacher stage touches the run's cache: resuming needs the same teacher.
    auto path = checkpoints.back().second / "trainer_state.json";
    if (fs::exists(path)) {
      auto prev = gen::read_trainer_state(path).value("settings", nlohmann::json::object()).value("teacher", settings.teacher);
      if (prev != settings.teacher)
        fail("{}: cannot resume with a different --teacher (the run used {}, this command {})", path.string(), prev,
             settings.teacher);
    }
  }
  gen::TrainerSetup ts;
  ts.lm = o.lm;
  ts.model_dir = o.model_dir;
  ts.recompute = o.recompute;
  ts.data = std::move(tokd.data);
  // The teacher is its own stage, before any training step, cached in the run directory.
  teach::TeacherInputs ti;
  ti.lm = o.lm;
  ti.texts = std::move(tokd.teacher_texts);
  if (settings.teacher.rfind("llm2vec:", 0) == 0)
    for (auto& r : rows) ti.answers.push_back(r.answer);
  ti.batch_size = settings.teacher_batch;
  ti.max_length = settings.response_max_length;
  // Rank 0 computes (or reuses) the cached teacher table; the others then read its cache.
  if (root) ts.teacher = teach::prepare_teacher(settings.teacher, ti, o.out, &ctx);
  if (o.group) o.group->barrier_long("rank 0 prepares the teacher");
  if (!root) ts.teacher = teach::prepare_teacher(settings.teacher, ti, o.out, &ctx);
  ts.settings = settings;
  ts.out_dir = o.out;
  ts.resume = o.resume;
  ts.stop_at_step = o.stop_at_step;
  ts.group = o.group;
  gen::Trainer trainer(std::move(ts));
  auto result = [&] {
    TrainRunResult r;
    r.step = trainer.step();
    r.last_checkpoint = trainer.last_checkpoint();
    if (!trainer.history().empty()) r.last = trainer.history().back();
    return r;
  };
  try {
    trainer.run(ctx);
  } catch (...) {
    if (progress) *progress = result();
    throw;
  }
  auto r = result();
  if (progress) *progress = r;
  return r;
}

}  // namespace genlens::runs
