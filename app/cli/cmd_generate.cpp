// `genlens generate`: queries JSONL {"id","question"} -> responses JSONL
// {"id","question","answer"} from the model itself through its chat template (the
// method's training data). Resumable: rerun the same command to continue.
// Sharded under `genlens launch` / torchrun / srun: rank R generates its contiguous slice
// of the input into OUTPUT.rank-R-of-W (resumable per rank); when all are done rank 0
// concatenates them, in rank order, into OUTPUT: the file one process writes (input order).
#include <fmt/format.h>

#include <set>

#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "core/data/responses.h"
#include "core/dist/group.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
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

std::string rank_file(const std::string& output, int rank, int world) {
  return fmt::format("{}.rank-{}-of-{}", output, rank, world);
}

// A rerun after a finished (merged) run, or after one process wrote part of OUTPUT: the
// rank file starts with the rows of OUTPUT that belong to this rank's slice, so nothing
// generated is generated again.
void seed_rank_file(const std::string& output, const std::string& rank_out, const std::string& input, int64_t begin,
                    int64_t end) {
  if (std::filesystem::exists(rank_out) || !std::filesystem::exists(output)) return;
  auto queries = data::read_queries(input);
  std::set<std::string> mine;
  for (int64_t i = begin; i < end; ++i) mine.insert(queries[static_cast<size_t>(i)].id);
  std::string keep;
  auto prefix = io::read_jsonl_complete(output);
  for (size_t k = 0; k < prefix.rows.size(); ++k) {
    const auto& row = prefix.rows[k];
    auto it = row.find("id");
    if (it == row.end()) continue;
    const std::string id = it->is_string() ? it->get<std::string>() : it->dump();
    if (mine.count(id)) keep += prefix.lines[k] + "\n";
  }
  if (!keep.empty()) io::write_file_atomic(rank_out, keep);
}

// After every rank has finished its shard: rank 0 writes the concatenation (rank order =
// input order) atomically and removes the rank files; the others wait for that.
void merge_rank_files(runtime::JobContext& ctx, dist::Group& group, const std::string& output) {
  group.barrier_long("every rank has generated its shard");
  if (group.is_root()) {
    std::string all;
    for (int r = 0; r < group.size(); ++r) {
      auto part = io::read_jsonl_complete(rank_file(output, r, group.size()));
      if (part.torn_tail) fail("{}: its last line is incomplete after the rank finished", rank_file(output, r, group.size()));
      for (auto& line : part.lines) all += line + "\n";
    }
    io::write_file_atomic(output, all);
    for (int r = 0; r < group.size(); ++r) std::filesystem::remove(rank_file(output, r, group.size()));
    ctx.log(fmt::format("merged {} rank files into {}", group.size(), output));
  }
  group.barrier("rank 0 merged " + output);
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Model directory (HF layout, with tokenizer and chat template)")
      ->required();
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
    dist::Group* group = dist::process_group(o->dev.resolve_device());
    const bool root = !group || group->is_root();
    const bool quiet = quiet_requested(sub, o->quiet) || !root;
    if (o->g.max_new_tokens < 1) fail("--max-new-tokens: expected >= 1, found {}", o->g.max_new_tokens);
    if (o->g.batch_size < 1) fail("--batch-size: expected >= 1, found {}", o->g.batch_size);
    auto tok = text::load_tokenizer(o->model);
    auto chat = text::load_chat_template(o->model, o->chat_template);
    auto lm = o->dev.load(o->model);
    data::GenerateReport rep;
    data::GenerateSettings gs = o->g;
    std::string out = o->output;
    if (group) {
      const auto n = static_cast<int64_t>(data::read_queries(o->input).size());
      const auto mine = dist::slice_of(n, group->rank(), group->size());
      gs.shard_begin = mine.begin;
      gs.shard_end = mine.end;
      out = rank_file(o->output, group->rank(), group->size());
      seed_rank_file(o->output, out, o->input, mine.begin, mine.end);
    }
    runtime::Job job("generate", [&](runtime::JobContext& ctx) {
      rep = data::generate_responses(ctx, *lm, *tok, chat, o->input, out, gs);
      if (group) merge_rank_files(ctx, *group, o->output);
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    if (!root) return kOk;
    if (group)
      fmt::print("{}: merged from {} ranks (rank 0: {} responses, {} generated now, {} already there)\n", o->output,
                 group->size(), rep.total, rep.generated, rep.already_done);
    else
      fmt::print("{}: {} responses ({} generated now, {} already there)\n", o->output, rep.total, rep.generated,
                 rep.already_done);
    return kOk;
  };
}

RegisterCommand reg({"generate", "Generate the training responses: queries JSONL -> {id, question, answer} JSONL",
                     setup, 40, /*distributed=*/true});

}  // namespace
}  // namespace genlens::cli
