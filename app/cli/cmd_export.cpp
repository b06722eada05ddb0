// `genlens export llm2vec-gen --model BASE --adapter CKPT --out DIR`: a genlens adapter in
// the official LLM2Vec-Gen layout (docs/ARCHITECTURE.md §7.4), so the official Python code's
// EncoderDecoderModel.from_pretrained(DIR) loads it and evaluates there.
#include <fmt/format.h>

#include "app/cli/command.h"
#include "core/gen/checkpoint.h"
#include "core/interop/official.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string format, model, adapter, out, base_name;
  model::ModelLocation model_found;  // --model as resolved (a Hugging Face id: its repo id names the base)
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("format", o->format, "Target format: llm2vec-gen (the official release's layout)")
      ->required()
      ->check(CLI::IsMember({"llm2vec-gen"}));
  add_model_option(sub, "--model", o->model, "Base model directory the adapter belongs to (HF layout)",
                   &o->model_found)
      ->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint, or a training run directory (its newest)")->required();
  sub.add_option("--out", o->out, "Directory to write (replaced atomically)")->required();
  sub.add_option("--model-name", o->base_name,
                 "run_config.yml model_name_or_path, e.g. Qwen/Qwen3-0.6B (default: the --model id, or its path)");
  return [o] {
    auto lm = model::DecoderLM::load(o->model, torch::kCPU, torch::kFloat32);
    auto la = gen::load_adapter(gen::resolve_adapter_dir(o->adapter), *lm, o->model);
    interop::ExportOptions eo;
    eo.model_name_or_path = o->base_name;
    if (eo.model_name_or_path.empty() && o->model_found.from_hf_cache()) eo.model_name_or_path = o->model_found.repo_id;
    interop::export_official(la, o->model, o->out, eo);
    const auto& s = la.adapter.shape();
    fmt::print("exported {} -> {} (llm2vec-gen layout: {} special tokens, {}, heads {}x{} / {}x{})\n",
               la.dir.string(), o->out, s.n_special(), s.encoding_mode(), s.hidden, s.hidden, s.teacher_dim, s.hidden);
    return 0;
  };
}

RegisterCommand reg({"export", "Write a genlens adapter in the official LLM2Vec-Gen checkpoint layout", setup, 46});

}  // namespace
}  // namespace genlens::cli
