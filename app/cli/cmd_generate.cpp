// `genlens generate`: queries JSONL {"id","question"} -> responses JSONL
// {"id","question","answer"} from the model itself through its chat template (the
// method's training data). Resumable: rerun the same command to continue.
#include <fmt/format.h>

#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "core/data/responses.h"
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, input, output, chat_template;
  data::GenerateSettings g;
  DeviceArgs dev;
  bool quiet = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "Model directory (HF layout, with tokenizer and chat template)")->required();
  sub.add_option("--input", o->input, "Queries JSONL: {\"id\", \"question\"} per line")->required();
  sub.add_option("--output", o->output, "Responses JSONL (appended while running; rerun to resume)")->required();
  sub.add_option("--max-new-tokens", o->g.max_new_tokens, "Most tokens per answer")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--max-input-length", o->g.max_input_length, "Most prompt tokens (longer questions are cut)")
      ->capture_default_str();
  sub.add_option("--batch-size", o->g.batch_size, "Prompts generated together")->check(kAtLeastOne)->capture_default_str();
  sub.add_flag("--sample", o->g.sample, "Sample instead of greedy decoding");
  sub.add_option("--temperature", o->g.temperature, "Sampling temperature")->capture_default_str();
  sub.add_option("--top-p", o->g.top_p, "Nucleus sampling mass")->capture_default_str();
  sub.add_option("--seed", o->g.seed, "Sampling seed")->capture_default_str();
  sub.add_option("--chat-template", o->chat_template, "Override the chat format (see `genlens chat-format`)");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    if (o->g.max_new_tokens < 1) fail("--max-new-tokens: expected >= 1, found {}", o->g.max_new_tokens);
    if (o->g.batch_size < 1) fail("--batch-size: expected >= 1, found {}", o->g.batch_size);
    auto tok = text::load_tokenizer(o->model);
    auto chat = text::load_chat_template(o->model, o->chat_template);
    auto lm = o->dev.load(o->model);
    data::GenerateReport rep;
    runtime::Job job("generate", [&](runtime::JobContext& ctx) {
      rep = data::generate_responses(ctx, *lm, *tok, chat, o->input, o->output, o->g);
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    fmt::print("{}: {} responses ({} generated now, {} already there)\n", o->output, rep.total, rep.generated,
               rep.already_done);
    return kOk;
  };
}

RegisterCommand reg({"generate", "Generate the training responses: queries JSONL -> {id, question, answer} JSONL",
                     setup, 40});

}  // namespace
}  // namespace genlens::cli
