#include "core/model/lora.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>
#include <set>

#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/util/error.h"

namespace genlens::model {

namespace fs = std::filesystem;
using nlohmann::json;
using torch::Tensor;

torch::Tensor LoraModule::delta() const {
  return (B.to(torch::kFloat64).matmul(A.to(torch::kFloat64)) * scale).to(torch::kFloat32);
}

double LoraAdapter::scale() const { return alpha / (rslora ? std::sqrt(static_cast<double>(r)) : static_cast<double>(r)); }

namespace {

const std::set<std::string>& known_targets() {
  static const std::set<std::string> s{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return s;
}

}  // namespace

LoraAdapter load_lora(const fs::path& dir, const ModelConfig& base) {
  LoraAdapter ad;
  ad.dir = dir;
  const auto cfg_path = dir / "adapter_config.json";
  std::error_code ec;
  if (!fs::is_regular_file(cfg_path, ec))
    fail("{}: missing (expected a PEFT adapter directory with adapter_config.json and adapter_model.safetensors)",
         cfg_path.string());
  const json c = io::read_json_file(cfg_path);
  const std::string src = cfg_path.string();
  const std::string type = c.value("peft_type", std::string());
  if (type != "LORA")
    fail("{}: \"peft_type\": genlens loads LoRA adapters (\"LORA\"), found \"{}\"", src, type);
  auto num = [&](const char* key) -> double {
    if (!c.contains(key) || !c[key].is_number()) fail("{}: \"{}\": expected a number, found {}", src, key,
                                                      c.contains(key) ? c[key].dump() : "nothing");
    return c[key].get<double>();
  };
  ad.r = static_cast<int64_t>(num("r"));
  ad.alpha = num("lora_alpha");
  if (ad.r < 1) fail("{}: \"r\": expected >= 1, found {}", src, ad.r);
  ad.rslora = c.value("use_rslora", false);
  for (const char* unsupported : {"use_dora"})
    if (c.value(unsupported, false)) fail("{}: \"{}\" is true; genlens supports plain LoRA (and rslora) only", src, unsupported);
  if (c.contains("rank_pattern") && c["rank_pattern"].is_object() && !c["rank_pattern"].empty())
    fail("{}: \"rank_pattern\": per-module ranks are not supported, found {}", src, c["rank_pattern"].dump());
  if (c.contains("alpha_pattern") && c["alpha_pattern"].is_object() && !c["alpha_pattern"].empty())
    fail("{}: \"alpha_pattern\": per-module alphas are not supported, found {}", src, c["alpha_pattern"].dump());
  if (c.value("fan_in_fan_out", false)) fail("{}: \"fan_in_fan_out\" is true (Conv1D layers); not supported", src);
  if (c.contains("bias") && c["bias"].is_string() && c["bias"].get<std::string>() != "none")
    fail("{}: \"bias\": expected \"none\" (genlens merges lora_A/lora_B only), found \"{}\"", src,
         c["bias"].get<std::string>());
  if (c.contains("modules_to_save") && c["modules_to_save"].is_array() && !c["modules_to_save"].empty())
    fail("{}: \"modules_to_save\" {}: fully trained extra modules are not supported", src, c["modules_to_save"].dump());
  const auto& tm = c.contains("target_modules") ? c["target_modules"] : json();
  if (tm.is_string()) {
    if (tm.get<std::string>() == "all-linear") ad.target_modules.assign(known_targets().begin(), known_targets().end());
    else fail("{}: \"target_modules\": expected a list of module names, found the pattern \"{}\"", src, tm.get<std::string>());
  } else if (tm.is_array()) {
    for (auto& t : tm) {
      if (!t.is_string()) fail("{}: \"target_modules\": expected names, found {}", src, t.dump());
      auto n = t.get<std::string>();
      if (!known_targets().count(n))
        fail("{}: \"target_modules\": \"{}\" is not a linear layer genlens can merge into (expected among q_proj, "
             "k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)", src, n);
      ad.target_modules.push_back(n);
    }
  } else {
    fail("{}: \"target_modules\": expected a list, found {}", src, tm.dump());
  }
  const double scale = ad.scale();

  const auto st_path = dir / "adapter_model.safetensors";
  if (!fs::exists(st_path, ec)) {
    if (fs::exists(dir / "adapter_model.bin", ec))
      fail("{}: only adapter_model.bin found; genlens reads safetensors (re-save with safe_serialization=True)",
           dir.string());
    fail("{}: missing (the LoRA weights)", st_path.string());
  }
  auto st = io::SafetensorsFile::open(st_path);
  static const std::regex key_re(
      R"(^base_model\.model\.(?:model\.)?layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_([AB])(?:\.default)?\.weight$)");
  std::map<std::string, LoraModule> by_name;
  auto specs = parameter_specs(base);
  std::map<std::string, std::vector<int64_t>> shape_of;
  for (auto& s : specs) shape_of[s.name] = s.shape;
  for (auto& t : st->tensors()) {
    std::smatch m;
    if (!std::regex_match(t.name, m, key_re)) {
      if (t.name.find("lora_embedding") != std::string::npos || t.name.find("embed_tokens") != std::string::npos)
        fail("{}: tensor \"{}\": LoRA on the embeddings is not supported", st_path.string(), t.name);
      fail("{}: unexpected tensor \"{}\" (expected base_model.model.[model.]layers.N.<self_attn|mlp>.<proj>."
           "lora_A/lora_B.weight)", st_path.string(), t.name);
    }
    const int64_t layer = std::stoll(m[1].str());
    const std::string module = m[3].str();
    if (!known_targets().count(module))
      fail("{}: tensor \"{}\": module \"{}\" is not a linear layer genlens can merge into", st_path.string(), t.name,
           module);
    if (layer >= base.num_hidden_layers)
      fail("{}: tensor \"{}\": layer {} but the base model has {} layers", st_path.string(), t.name, layer,
           base.num_hidden_layers);
    const std::string wname = fmt::format("model.layers.{}.{}.{}.weight", layer, m[2].str(), module);
    if (!shape_of.count(wname))
      fail("{}: tensor \"{}\": the base model has no weight \"{}\"", st_path.string(), t.name, wname);
    auto& mod = by_name[wname];
    mod.weight_name = wname;
    mod.scale = scale;
    Tensor v = st->get(t.name).to(torch::kFloat32).clone();
    const auto& ws = shape_of[wname];
    const bool is_a = m[4].str() == "A";
    std::vector<int64_t> want = is_a ? std::vector<int64_t>{ad.r, ws[1]} : std::vector<int64_t>{ws[0], ad.r};
    if (v.sizes() != c10::IntArrayRef(want))
      fail("{}: tensor \"{}\": expected shape [{}] (r = {}, weight {} is [{}]), found [{}]", st_path.string(), t.name,
           fmt::join(want, ", "), ad.r, wname, fmt::join(ws, ", "), fmt::join(v.sizes(), ", "));
    if (!torch::isfinite(v).all().item<bool>())
      fail("{}: tensor \"{}\": contains NaN or infinite values", st_path.string(), t.name);
    (is_a ? mod.A : mod.B) = v;
  }
  if (by_name.empty()) fail("{}: no lora_A/lora_B tensors", st_path.string());
  for (auto& [n, mod] : by_name) {
    if (!mod.A.defined() || !mod.B.defined())
      fail("{}: {} has lora_{} but no lora_{}", st_path.string(), n, mod.A.defined() ? "A" : "B",
           mod.A.defined() ? "B" : "A");
    ad.modules.push_back(mod);
  }
  // Layer order (the map orders "layers.10" before "layers.2").
  auto layer_of = [](const std::string& n) { return std::stoll(n.substr(13, n.find('.', 13) - 13)); };
  std::stable_sort(ad.modules.begin(), ad.modules.end(),
                   [&](const LoraModule& a, const LoraModule& b) { return layer_of(a.weight_name) < layer_of(b.weight_name); });
  return ad;
}

WeightEdit merge_edit(std::vector<LoraAdapter> adapters) {
  auto deltas = std::make_shared<std::map<std::string, std::vector<const LoraModule*>>>();
  auto owned = std::make_shared<std::vector<LoraAdapter>>(std::move(adapters));
  for (auto& a : *owned)
    for (auto& m : a.modules) (*deltas)[m.weight_name].push_back(&m);
  return [deltas, owned](const std::string& name, const Tensor& stored) -> Tensor {
    auto it = deltas->find(name);
    if (it == deltas->end()) return {};
    // Merged in float32 (PEFT merges in the weight's dtype; float32 keeps the sum exact
    // enough for bf16 weights converted afterwards).
    Tensor w = stored.to(torch::kFloat32).clone();
    for (auto* m : it->second) w.add_(m->delta());
    return w;
  };
}

std::shared_ptr<DecoderLM> load_with_lora(const fs::path& base_dir, const std::vector<fs::path>& lora_dirs,
                                          torch::Device device, torch::ScalarType dtype) {
  if (lora_dirs.empty()) return DecoderLM::load(base_dir, device, dtype);
  auto cfg = ModelConfig::from_dir(base_dir);
  std::vector<LoraAdapter> ads;
  for (auto& d : lora_dirs) ads.push_back(load_lora(d, cfg));
  return DecoderLM::load(base_dir, device, dtype, merge_edit(std::move(ads)));
}

}  // namespace genlens::model
