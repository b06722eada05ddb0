// `genlens complete --model DIR --ids 1,2,3 | --prompt TEXT [--text]`: a continuation
// (greedy by default) with the KV cache, stopping at the model's EOS ids. Prints the new
// ids on one line; with --text also their decoded text (the model directory's
// tokenizer). --prompt tokenizes raw text with the model's special-token rules (BOS).
#include <fmt/format.h>

#include "app/cli/command.h"
#include "app/cli/model_args.h"
#include "core/model/decoder_lm.h"
#include "core/model/generate.h"
#include "core/text/tokenizer.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, ids, prompt, dtype = "f32", device = "cpu", eos;
  int max_new_tokens = 32;
  bool sample = false, no_eos = false, text = false;
  float temperature = 1.0f, top_p = 1.0f;
  uint64_t seed = 0;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Model directory (HF layout)")->required();
  auto* ids = sub.add_option("--ids", o->ids, "Prompt token ids, e.g. 1,2,3");
  auto* prompt = sub.add_option("--prompt", o->prompt, "Prompt text (tokenized with the model's tokenizer)");
  ids->excludes(prompt);
  sub.add_flag("--text", o->text, "Also print the continuation as text (the model's tokenizer)");
  sub.add_option("--max-new-tokens", o->max_new_tokens, "Most tokens to generate")->check(kAtLeastOne)->capture_default_str();
  sub.add_flag("--sample", o->sample, "Sample instead of greedy decoding");
  sub.add_option("--temperature", o->temperature, "Sampling temperature")->capture_default_str();
  sub.add_option("--top-p", o->top_p, "Nucleus sampling mass")->capture_default_str();
  sub.add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
  sub.add_option("--eos", o->eos, "Stop ids (default: config.json + generation_config.json)");
  sub.add_flag("--no-eos", o->no_eos, "Never stop early");
  sub.add_option("--dtype", o->dtype, "Compute dtype: f32, bf16 or f16")->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  return [o] {
    if (o->ids.empty() && o->prompt.empty()) fail("give the prompt as --ids 1,2,3 or as --prompt TEXT");
    std::unique_ptr<text::Tokenizer> tok;
    if (o->text || !o->prompt.empty()) tok = text::load_tokenizer(o->model);
    std::vector<int64_t> ids;
    if (!o->prompt.empty()) {
      for (auto id : tok->encode(o->prompt, /*add_special=*/true)) ids.push_back(id);
      if (ids.empty()) fail("--prompt: the text encodes to no tokens");
    } else {
      ids = parse_ids(o->ids);
    }
    auto lm = model::DecoderLM::load(o->model, model::parse_device(o->device), model::parse_dtype(o->dtype));
    model::GenerateOptions g;
    g.max_new_tokens = o->max_new_tokens;
    g.sample = o->sample;
    g.temperature = o->temperature;
    g.top_p = o->top_p;
    g.seed = o->seed;
    if (!o->no_eos) g.eos_ids = o->eos.empty() ? lm->config().eos_token_ids : parse_ids(o->eos);
    auto out = model::generate_from_ids(*lm, {ids}, g);
    fmt::print("{}\n", fmt::join(out.at(0), ","));
    if (o->text) {
      std::vector<text::TokenId> t(out.at(0).begin(), out.at(0).end());
      fmt::print("{}\n", tok->decode(t, /*skip_special=*/true));
    }
    return 0;
  };
}

RegisterCommand reg({"complete", "Continue token ids with the model (greedy or sampled)", setup, 22});

}  // namespace
}  // namespace genlens::cli
