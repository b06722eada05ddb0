// `genlens encode`: texts JSONL -> embeddings .npy float32 [N, D] (row order = input
// order). generative: the LLM2Vec-Gen adapter; mean / last: input-centric baselines on
// the same frozen model (no adapter needed). Streams: the input is read and encoded a
// window of rows at a time into a pre-sized .npy (core/data/encode_file.h); resumable;
// sharded over ranks under `genlens launch` / torchrun / srun.
#include <fmt/format.h>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "core/data/encode_file.h"
#include "core/data/responses.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/gen/query_length.h"
#include "core/io/npy.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, input, output, mode = "generative", instruction, field = "text";
  std::string hidden_states, hidden_dtype = "f32";
  int64_t batch_size = 16, max_length = 0, window = 4096;
  DeviceArgs dev;
  bool quiet = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint, or a training run directory (its newest checkpoint)");
  sub.add_option("--input", o->input, "Texts JSONL: a \"text\" (or \"question\") field per line")->required();
  sub.add_option("--output", o->output, "Embeddings .npy, float32 [N, D]")->required();
  sub.add_option("--mode", o->mode, "generative (needs --adapter), mean, last, or hyde (the LLM's answer, mean-pooled)")->capture_default_str();
  sub.add_option("--instruction", o->instruction,
                 "Text put before every input (default: the adapter's training instruction, from its genlens.json)");
  sub.add_option("--field", o->field, "JSONL field holding the text")->capture_default_str();
  sub.add_option("--batch-size", o->batch_size, "Texts per batch")->check(kAtLeastOne)->capture_default_str();
  add_max_length_option(sub, o->max_length);
  sub.add_option("--window", o->window,
                 "Rows read, encoded and written at a time (memory bound; ranks share out whole windows)")
      ->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--hidden-states", o->hidden_states,
                 "Also write every text's thought and compression states, [N, layers+1, n_special, H] .npy "
                 "(residual stream: 0 = input embeddings, the last before the final norm), for your own probes");
  sub.add_option("--hidden-dtype", o->hidden_dtype, "dtype of --hidden-states: f32 or f16")
      ->check(CLI::IsMember({"f32", "f16"}))
      ->capture_default_str();
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    dist::Group* group = dist::process_group(o->dev.resolve_device());
    const bool root = !group || group->is_root();
    const bool quiet = quiet_requested(sub, o->quiet) || !root;
    auto mode = gen::parse_encode_mode(o->mode);
    if (mode == gen::EncodeMode::Generative && o->adapter.empty())
      fail("--mode generative needs --adapter CKPT (or use --mode mean / last / hyde for the baselines)");
    if (mode != gen::EncodeMode::Generative && !o->adapter.empty())
      fail("--adapter is only used by --mode generative (found --mode {})", o->mode);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    std::optional<gen::LoadedAdapter> adapter;
    if (!o->adapter.empty()) adapter = gen::load_adapter(gen::resolve_adapter_dir(o->adapter), *lm, o->model);
    // The adapter learned with one instruction and query length (its genlens.json): use
    // them unless told otherwise, and say so when told otherwise (a silent mismatch
    // between training and encoding degrades every embedding).
    std::string instruction = o->instruction;
    const int64_t max_length = query_max_length_of(sub, o->max_length, adapter);
    if (adapter) {
      const auto& m = adapter->meta;
      if (sub.count("--instruction") == 0) instruction = m.instruction;
      else if (o->instruction != m.instruction && !quiet)
        fmt::print(stderr, "note: --instruction \"{}\" differs from the adapter's training instruction \"{}\"\n",
                   o->instruction, m.instruction);
      if (max_length != m.query_max_length && !quiet)
        fmt::print(stderr, "note: --max-length {} differs from the adapter's training query length {}\n",
                   max_length, m.query_max_length);
    }
    gen::QueryCuts cuts;
    data::EncodeFileReport rep;
    runtime::Job job("encode", [&](runtime::JobContext& ctx) {
      data::EncodeFileSettings es;
      es.encode.mode = mode;
      es.encode.batch_size = o->batch_size;
      es.encode.max_length = max_length;
      es.encode.cuts = &cuts;
      es.field = o->field;
      es.instruction = instruction;
      es.window = o->window;
      es.hidden_states = o->hidden_states;
      es.hidden_dtype = o->hidden_dtype == "f16" ? torch::kFloat16 : torch::kFloat32;
      es.identity = {{"model", std::filesystem::absolute(o->model).string()},
                     {"adapter", adapter ? std::filesystem::absolute(adapter->dir).string() : std::string()}};
      rep = data::encode_file(ctx, *lm, adapter ? &adapter->adapter : nullptr, *tok, o->input, o->output, es, group);
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    if (!root) return kOk;
    warn_cuts("encode", cuts, quiet);
    fmt::print("{}: {} x {} float32 ({} mode{})\n", o->output, rep.rows, rep.cols, o->mode,
               adapter ? ", adapter " + adapter->dir.string() : std::string());
    if (!o->hidden_states.empty() && adapter)
      fmt::print("{}: {} x {} x {} x {} {} (texts, layers 0..{}, thought + compression positions, hidden)\n",
                 o->hidden_states, rep.rows, lm->config().num_hidden_layers + 1, adapter->adapter.shape().n_special(),
                 lm->config().hidden_size, o->hidden_dtype == "f16" ? "float16" : "float32",
                 lm->config().num_hidden_layers);
    return kOk;
  };
}

RegisterCommand reg({"encode", "Embed texts: generative (adapter) or the mean / last baselines -> .npy", setup, 42,
                     /*distributed=*/true});

}  // namespace
}  // namespace genlens::cli
