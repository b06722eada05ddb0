// `genlens import llm2vec-gen --checkpoint DIR --model BASE --out ADAPTER`: an official
// LLM2Vec-Gen checkpoint (docs/ARCHITECTURE.md §7.3) -> a genlens adapter directory, so every genlens
// command (encode, lens, decode, studio) works on it.
#include <fmt/format.h>

#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "core/interop/official.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string format, checkpoint, model, out;
  bool json = false;
  DeviceArgs dev;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("format", o->format, "Source format: llm2vec-gen (the official release's checkpoints)")
      ->required()
      ->check(CLI::IsMember({"llm2vec-gen"}));
  add_model_option(sub, "--checkpoint", o->checkpoint,
                   "Official checkpoint directory (encoder/, reconstruction_mlp, alignment_mlp, "
                   "encoder_decoder_config.json, run_config.yml)")
      ->required();
  add_model_option(sub, "--model", o->model, "Base model directory the checkpoint was trained on (HF layout)")
      ->required();
  sub.add_option("--out", o->out, "genlens adapter directory to write (replaced atomically)")->required();
  sub.add_flag("--json", o->json, "Print what was imported as JSON");
  return [o] {
    auto lm = model::DecoderLM::load(o->model, torch::kCPU, torch::kFloat32);
    auto meta = interop::import_official(o->checkpoint, *lm, o->model, o->out);
    const auto& s = meta.shape;
    if (o->json) {
      fmt::print("{}\n", meta.to_json().dump(2));
      return 0;
    }
    fmt::print("imported {} -> {}\n", o->checkpoint, o->out);
    fmt::print("  special tokens   {} ({} thought + {} compression, {}), ids {}\n", s.n_special(), s.n_thought,
               s.n_compression, s.encoding_mode(), meta.training.value("special_tokens_ids", nlohmann::json()).dump());
    fmt::print("  heads            recon {}x{}, align {}x{}\n", s.hidden, s.hidden, s.teacher_dim, s.hidden);
    fmt::print("  special rows     {}\n", meta.training.value("special_rows_from", std::string()));
    fmt::print("  base model       {} ({} layers, hidden {})\n", meta.base.path, meta.base.num_hidden_layers,
               meta.base.hidden_size);
    fmt::print("next: genlens encode --model {} --adapter {} --input texts.jsonl --output emb.npy\n", o->model, o->out);
    return 0;
  };
}

RegisterCommand reg({"import", "Import an official LLM2Vec-Gen checkpoint as a genlens adapter", setup, 45});

}  // namespace
}  // namespace genlens::cli
