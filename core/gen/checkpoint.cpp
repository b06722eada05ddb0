#include "core/gen/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/io/atomic_file.h"
#include "core/io/json_check.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "core/util/hash.h"

namespace genlens::gen {

namespace fs = std::filesystem;
using nlohmann::json;

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    case torch::kFloat64: return "float64";
    default: return c10::toString(t);
  }
}

std::string checkpoint_dir_name(int64_t step) { return "checkpoint-" + std::to_string(step); }

// ---------------------------------------------------------------- base model identity

BaseModelIdentity BaseModelIdentity::of(const model::DecoderLM& lm, const fs::path& dir) {
  const auto& c = lm.config();
  BaseModelIdentity id;
  std::error_code ec;
  auto abs = fs::weakly_canonical(dir, ec);
  id.path = (ec ? dir : abs).string();
  id.model_type = c.model_type;
  id.hidden_size = c.hidden_size;
  id.vocab_size = c.vocab_size;
  id.num_hidden_layers = c.num_hidden_layers;
  // Only what shapes the network (not torch_dtype, which changes when a model is converted).
  std::string arch = fmt::format(
      "{}|V{}|H{}|I{}|L{}|A{}|KV{}|D{}|eps{:.3g}|theta{:.6g}|rope:{}:{:.6g}|tie{}|bias{}|qk{}", c.model_type,
      c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads,
      c.num_key_value_heads, c.head_dim, c.rms_norm_eps, c.rope_theta, c.rope_scaling.type, c.rope_scaling.factor,
      c.tie_word_embeddings ? 1 : 0, c.attention_bias ? 1 : 0, c.qk_norm ? 1 : 0);
  id.config_hash = util::hex64(util::fnv1a64(arch.data(), arch.size()));

  // Weights fingerprint: a few rows of tensors every family has, rounded to bf16.
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](const torch::Tensor& t) {
    auto v = t.detach().to(torch::kCPU).to(torch::kBFloat16).to(torch::kFloat32).contiguous();
    h = util::fnv1a64(v.data_ptr<float>(), static_cast<size_t>(v.numel()) * sizeof(float), h);
  };
  const std::string last = "model.layers." + std::to_string(c.num_hidden_layers - 1) + ".mlp.down_proj.weight";
  for (auto& [name, t] : lm.named_parameters()) {
    if (name == "model.embed_tokens.weight") {
      const int64_t V = t.size(0);
      for (int64_t r : {int64_t{0}, V / 3, (2 * V) / 3, V - 1}) mix(t[r]);
    } else if (name == last) {
      mix(t[0]);
    } else if (name == "model.norm.weight") {
      mix(t);
    }
  }
  id.weights_fingerprint = util::hex64(h);
  return id;
}

// ---------------------------------------------------------------- write / read

void write_checkpoint(const fs::path& dir, const CheckpointFiles& f) {
  if (!f.adapter || !f.meta) fail("write_checkpoint {}: adapter and metadata are required", dir.string());
  io::write_dir_atomic(dir, [&](const fs::path& tmp) {
    io::NamedTensors tensors;
    for (auto& [n, t] : f.adapter->named_parameters()) tensors.emplace_back(n, t.detach().to(torch::kCPU));
    io::save_safetensors(tmp / "adapter.safetensors", tensors,
                         {{"format", "genlens-adapter"}, {"step", std::to_string(f.meta->step)}});
    if (f.optimizer) {
      io::NamedTensors opt;
      for (auto& [n, t] : *f.optimizer) opt.emplace_back(n, t.detach().to(torch::kCPU));
      io::save_safetensors(tmp / "optimizer.safetensors", opt, {{"step", std::to_string(f.meta->step)}});
    }
    if (f.trainer_state) io::write_file_atomic(tmp / "trainer_state.json", f.trainer_state->dump(2) + "\n");
    // genlens.json last: a directory with it is complete (write_dir_atomic makes the
    // whole directory appear at once anyway).
    io::write_file_atomic(tmp / "genlens.json", f.meta->to_json().dump(2) + "\n");
  });
}

AdapterMeta read_adapter_meta(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("{}: expected an adapter checkpoint directory (with genlens.json and adapter.safetensors), found {}",
         dir.string(), fs::exists(dir, ec) ? "a file" : "nothing");
  auto meta_path = dir / "genlens.json";
  if (!fs::exists(meta_path, ec))
    fail("{}: not an adapter checkpoint: genlens.json is missing", dir.string());
  return AdapterMeta::from_json(io::read_json_file(meta_path), meta_path.string());
}

namespace {
// adapter.safetensors of `dir`, checked against its (already read) genlens.json.
LoadedAdapter load_adapter_tensors(const fs::path& dir, AdapterMeta meta, torch::Device device) {
  LoadedAdapter out;
  out.dir = dir;
  out.meta = std::move(meta);
  auto st_path = dir / "adapter.safetensors";
  std::error_code ec;
  if (!fs::exists(st_path, ec)) fail("{}: not an adapter checkpoint: adapter.safetensors is missing", dir.string());
  auto file = io::SafetensorsFile::open(st_path);
  out.adapter = Adapter(out.meta.shape, device);
  std::vector<std::string> names;
  for (auto& [n, t] : out.adapter.named_parameters()) {
    if (!file->contains(n))
      fail("{}: tensor \"{}\" is missing (genlens.json says {} special tokens, hidden {}, teacher dim {})",
           st_path.string(), n, out.meta.shape.n_special(), out.meta.shape.hidden, out.meta.shape.teacher_dim);
    names.push_back(n);
  }
  for (auto& n : names) out.adapter.assign(n, file->get(n), st_path.string());
  return out;
}

}  // namespace

LoadedAdapter load_adapter_unchecked(const fs::path& dir, torch::Device device) {
  return load_adapter_tensors(dir, read_adapter_meta(dir), device);
}

LoadedAdapter load_adapter(const fs::path& dir, const BaseModelIdentity& base, torch::Device device) {
  auto meta = read_adapter_meta(dir);
  meta.base.check_matches(base, (dir / "genlens.json").string());  // before any tensor is read
  return load_adapter_tensors(dir, std::move(meta), device);
}

LoadedAdapter load_adapter(const fs::path& dir, const model::DecoderLM& lm, const fs::path& model_dir) {
  return load_adapter(dir, BaseModelIdentity::of(lm, model_dir.empty() ? fs::path("(the model given)") : model_dir),
                      lm.device());
}

json read_trainer_state(const fs::path& path) {
  json st = io::read_json_file(path);
  const io::JsonCheck check(path.string());
  check.object(st, "");
  if (const json* s = check.object_field(st, "settings", "")) {
    check.string_field(*s, "teacher", "settings");
    check.string_field(*s, "instruction", "settings");
  }
  check.whole_field(st, "step", "");
  if (const json* d = check.object_field(st, "data", "")) {
    check.whole_field(*d, "n_rows", "data");
    check.string_field(*d, "fingerprint", "data");
  }
  if (const json* o = check.object_field(st, "optimizer", "")) check.whole_field(*o, "steps_taken", "optimizer");
  return st;
}

std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& run_dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return out;
  for (auto& e : fs::directory_iterator(run_dir, ec)) {
    auto name = e.path().filename().string();
    const std::string prefix = "checkpoint-";
    if (name.rfind(prefix, 0) != 0 || !e.is_directory()) continue;
    auto num = name.substr(prefix.size());
    if (num.empty() || !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    if (!fs::exists(e.path() / "genlens.json", ec)) continue;
    out.emplace_back(std::stoll(num), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path resolve_adapter_dir(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path / "genlens.json", ec)) return path;
  auto cps = list_checkpoints(path);
  if (!cps.empty()) return cps.back().second;
  if (!fs::exists(path, ec)) fail("{}: no such adapter directory", path.string());
  fail("{}: expected an adapter checkpoint (genlens.json + adapter.safetensors) or a training run directory "
       "with checkpoint-<step>/ inside, found neither", path.string());
}

void prune_checkpoints(const fs::path& run_dir, int64_t keep) {
  if (keep <= 0) return;
  auto cps = list_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < cps.size(); ++i) {
    std::error_code ec;
    fs::remove_all(cps[i].second, ec);
  }
}

}  // namespace genlens::gen
