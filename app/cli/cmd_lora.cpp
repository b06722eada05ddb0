// `genlens lora inspect|merge`: PEFT LoRA adapters on a base model. inspect lists the
// adapter's modules unmerged (rank, scale, norms of B@A against the base weight);
// merge writes the base model with the LoRAs merged in order as a new model directory
// (the LLM2Vec teacher merges them the same way at load: --teacher llm2vec:...).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/cli/command.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/model/decoder_lm.h"
#include "core/model/lora.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;

struct Opts {
  std::string action, model, out;
  std::vector<std::string> loras;
  bool json = false;
};

int inspect(const Opts& o) {
  auto cfg = model::ModelConfig::from_dir(o.model);
  auto lm = model::DecoderLM::load(o.model, torch::kCPU, torch::kFloat32);
  std::map<std::string, torch::Tensor> base;
  for (auto& [n, t] : lm->named_parameters()) base[n] = t;
  nlohmann::json out = nlohmann::json::array();
  for (auto& dir : o.loras) {
    auto ad = model::load_lora(dir, cfg);
    nlohmann::json mods = nlohmann::json::array();
    if (!o.json)
      fmt::print("{}: LoRA r={} alpha={}{} scale={:.4g}, {} modules ({})\n", dir, ad.r, ad.alpha,
                 ad.rslora ? " rslora" : "", ad.scale(), ad.modules.size(), fmt::join(ad.target_modules, ", "));
    if (!o.json) fmt::print("  {:<42} {:>10} {:>12} {:>10}\n", "module", "|B@A|*s", "|W|", "ratio");
    for (auto& m : ad.modules) {
      double dn = m.delta().norm().item<double>(), wn = base.at(m.weight_name).norm().item<double>();
      mods.push_back({{"weight", m.weight_name}, {"delta_norm", dn}, {"weight_norm", wn}});
      if (!o.json) fmt::print("  {:<42} {:>10.4g} {:>12.4g} {:>10.3g}\n", m.weight_name, dn, wn, dn / wn);
    }
    out.push_back({{"dir", dir}, {"r", ad.r}, {"lora_alpha", ad.alpha}, {"use_rslora", ad.rslora},
                   {"scale", ad.scale()}, {"target_modules", ad.target_modules}, {"modules", mods}});
  }
  if (o.json) fmt::print("{}\n", out.dump(2));
  return 0;
}

int merge(const Opts& o) {
  if (o.out.empty()) fail("lora merge: --out MERGED_DIR is required");
  std::vector<fs::path> dirs(o.loras.begin(), o.loras.end());
  auto lm = model::load_with_lora(o.model, dirs, torch::kCPU, torch::kFloat32);
  io::write_dir_atomic(o.out, [&](const fs::path& tmp) {
    io::NamedTensors tensors;
    for (auto& [n, t] : lm->named_parameters()) tensors.emplace_back(n, t);
    io::save_safetensors(tmp / "model.safetensors", tensors, {{"format", "pt"}});
    std::error_code ec;
    for (auto& e : fs::directory_iterator(o.model, ec)) {
      auto name = e.path().filename().string();
      if (name.find("safetensors") != std::string::npos || !e.is_regular_file()) continue;
      fs::copy_file(e.path(), tmp / name);
    }
  });
  fmt::print("wrote {}: {} with {} LoRA adapter(s) merged (float32)\n", o.out, o.model, dirs.size());
  return 0;
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("action", o->action, "inspect (list the modules, unmerged) or merge (write a merged model)")
      ->required()
      ->check(CLI::IsMember({"inspect", "merge"}));
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout)")->required();
  add_model_option(sub, "--lora", o->loras,
                   "PEFT LoRA directory (adapter_config.json + adapter_model.safetensors); repeat to merge several "
                   "in order")
      ->required();
  sub.add_option("--out", o->out, "merge: the merged model directory to write (replaced atomically)");
  sub.add_flag("--json", o->json, "inspect: print JSON");
  return [o] { return o->action == "inspect" ? inspect(*o) : merge(*o); };
}

RegisterCommand reg({"lora", "Inspect PEFT LoRA adapters, or merge them into a base model", setup, 47});

}  // namespace
}  // namespace genlens::cli
