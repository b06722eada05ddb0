// `genlens init-model --config CFG.json --out DIR`: a random-initialised checkpoint in
// the HF layout (config.json, generation_config.json, model.safetensors or shards).
#include <fmt/format.h>

#include "app/cli/command.h"
#include "core/model/checkpoint.h"
#include "core/model/config.h"
#include "core/model/decoder_lm.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string config, out, dtype = "f32";
  uint64_t seed = 0;
  int shards = 1;
  int64_t vocab_size = 0;
  double std = 0.02;
  bool perturb = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--config", o->config, "HF-style config.json describing the model")->required();
  sub.add_option("--out", o->out, "Output model directory (replaced atomically)")->required();
  sub.add_option("--seed", o->seed, "Random seed")->capture_default_str();
  sub.add_option("--dtype", o->dtype, "Weight dtype: f32, bf16 or f16")->capture_default_str();
  sub.add_option("--shards", o->shards, "Split weights into N shards + model.safetensors.index.json")
      ->capture_default_str();
  sub.add_option("--vocab-size", o->vocab_size, "Override vocab_size (e.g. to match a real tokenizer)");
  sub.add_option("--init-std", o->std, "Std of the normal weight init (HF initializer_range)")
      ->capture_default_str();
  sub.add_flag("--perturb", o->perturb,
               "Norm weights 1+N(0,0.1) and biases N(0,std) instead of 1 and 0 (tests see every tensor)");
  return [o] {
    auto cfg = model::ModelConfig::from_json_file(o->config);
    if (o->vocab_size > 0) {
      cfg.vocab_size = o->vocab_size;
      // Special ids of the original vocabulary may not exist in a cut one: say so, drop them.
      std::vector<int64_t> kept;
      for (auto id : cfg.eos_token_ids)
        if (id < cfg.vocab_size) kept.push_back(id);
      if (kept.size() != cfg.eos_token_ids.size() || (cfg.bos_token_id && *cfg.bos_token_id >= cfg.vocab_size) ||
          (cfg.pad_token_id && *cfg.pad_token_id >= cfg.vocab_size))
        fmt::print("note: bos/eos/pad ids outside --vocab-size {} are dropped from the config\n", cfg.vocab_size);
      cfg.eos_token_ids = kept;
      if (cfg.bos_token_id && *cfg.bos_token_id >= cfg.vocab_size) cfg.bos_token_id.reset();
      if (cfg.pad_token_id && *cfg.pad_token_id >= cfg.vocab_size) cfg.pad_token_id.reset();
    }
    model::InitOptions io;
    io.seed = o->seed;
    io.dtype = model::parse_dtype(o->dtype);
    io.shards = o->shards;
    io.std = o->std;
    io.perturb = o->perturb;
    model::write_random_checkpoint(cfg, o->out, io);
    fmt::print("wrote {} ({} {}, {:.1f}M parameters, {}, {} shard{})\n", o->out, cfg.model_type,
               cfg.tie_word_embeddings ? "tied" : "untied", cfg.num_parameters() / 1e6, o->dtype, o->shards,
               o->shards == 1 ? "" : "s");
    return 0;
  };
}

RegisterCommand reg({"init-model", "Write a random-initialised model directory (HF layout)", setup, 20});

}  // namespace
}  // namespace genlens::cli
