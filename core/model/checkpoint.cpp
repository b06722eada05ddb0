#include "core/model/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <set>

#include "core/io/atomic_file.h"
#include "core/model/decoder_weights.h"
#include "core/util/error.h"

namespace genlens::model {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<ParamSpec> parameter_specs(const ModelConfig& c) {
  std::vector<ParamSpec> specs;
  for_each_weight(c, nullptr, [&](const ParamSpec& s, torch::Tensor*) { specs.push_back(s); });
  return specs;
}

WeightFiles open_weight_files(const fs::path& dir) {
  WeightFiles w;
  auto single = dir / "model.safetensors";
  auto index = dir / "model.safetensors.index.json";
  auto add_file = [&](const fs::path& p) {
    auto f = io::SafetensorsFile::open(p);
    w.total_bytes += fs::file_size(p);
    w.files.push_back(f);
    return f;
  };
  if (fs::exists(index)) {
    const std::string src = "'" + index.string() + "'";
    const json j = io::read_json_file(index);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail("{}: expected an object with a 'weight_map' object", src);
    std::map<std::string, std::shared_ptr<io::SafetensorsFile>> opened;
    for (auto& [name, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail("{}: weight_map['{}'] must be a file name, found {}", src, name, file.dump());
      std::string fname = file.get<std::string>();
      if (fname.empty() || fname.find('/') != std::string::npos || fname == "." || fname == "..")
        fail("{}: weight_map['{}'] = '{}' is not a plain file name in the model directory", src, name, fname);
      auto it = opened.find(fname);
      if (it == opened.end()) {
        if (!fs::exists(dir / fname))
          fail("{}: shard '{}' (holding '{}') does not exist", src, (dir / fname).string(), name);
        it = opened.emplace(fname, add_file(dir / fname)).first;
      }
      if (!it->second->contains(name))
        fail("{}: weight_map says '{}' is in '{}', but that file has no such tensor", src, name, fname);
      w.by_name[name] = it->second;
    }
    return w;
  }
  if (fs::exists(single)) {
    auto f = add_file(single);
    for (auto& t : f->tensors()) w.by_name[t.name] = f;
    return w;
  }
  if (!fs::is_directory(dir)) fail("'{}': not a model directory", dir.string());
  if (fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json"))
    fail("'{}': only pytorch_model.bin weights found; genlens reads safetensors (convert the model "
         "to model.safetensors)", dir.string());
  fail("'{}': no model.safetensors or model.safetensors.index.json", dir.string());
}

void write_random_checkpoint(const ModelConfig& cfg_in, const fs::path& out, const InitOptions& opt) {
  ModelConfig cfg = cfg_in;
  cfg.validate("init-model config");
  if (opt.shards < 1) fail("init-model: --shards must be >= 1, found {}", opt.shards);
  if (!(opt.std > 0)) fail("init-model: init std must be positive, found {}", opt.std);
  const char* dtype_name = opt.dtype == torch::kFloat32    ? "float32"
                           : opt.dtype == torch::kBFloat16 ? "bfloat16"
                           : opt.dtype == torch::kFloat16  ? "float16"
                                                           : nullptr;
  if (!dtype_name) fail("init-model: dtype must be float32, bfloat16 or float16");
  cfg.torch_dtype = dtype_name;
  auto specs = parameter_specs(cfg);

  // One generator consumed in canonical order: values do not depend on the sharding.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
  auto produce = [&](const ParamSpec& s) {
    auto t = torch::empty(s.shape, torch::kFloat32);
    switch (s.kind) {
      case ParamSpec::kWeight: t.normal_(0.0, opt.std, gen); break;
      case ParamSpec::kNorm:
        if (opt.perturb) t.normal_(1.0, 0.1, gen);
        else t.fill_(1.0);
        break;
      case ParamSpec::kBias:
        if (opt.perturb) t.normal_(0.0, opt.std, gen);
        else t.zero_();
        break;
    }
    return t.to(opt.dtype);
  };

  // Contiguous groups of about equal bytes.
  const size_t esize = c10::elementSize(opt.dtype);
  uint64_t total = 0;
  std::vector<uint64_t> bytes;
  for (auto& s : specs) {
    uint64_t n = esize;
    for (auto d : s.shape) n *= static_cast<uint64_t>(d);
    bytes.push_back(n);
    total += n;
  }
  const int shards = std::min<int>(opt.shards, static_cast<int>(specs.size()));
  std::vector<std::vector<size_t>> groups(shards);
  {
    // Each tensor goes to the shard its byte position suggests, never skipping a shard
    // and always leaving one tensor for each shard still to fill.
    uint64_t acc = 0;
    int prev = 0;
    const int n = static_cast<int>(specs.size());
    for (int i = 0; i < n; ++i) {
      int want = static_cast<int>(std::min<uint64_t>(shards - 1, acc * shards / std::max<uint64_t>(total, 1)));
      int g = i == 0 ? 0 : std::clamp(want, prev, prev + 1);
      g = std::max(g, shards - (n - i));
      groups[g].push_back(i);
      prev = g;
      acc += bytes[i];
    }
  }

  io::write_dir_atomic(out, [&](const fs::path& tmp) {
    io::write_file_atomic(tmp / "config.json", cfg.to_json_string());
    io::write_file_atomic(tmp / "generation_config.json", cfg.generation_config_json());
    const std::map<std::string, std::string> meta{{"format", "pt"}};
    if (shards == 1) {
      std::vector<io::TensorSpec> ts;
      for (auto& s : specs) ts.push_back({s.name, opt.dtype, s.shape});
      io::save_safetensors_lazy(tmp / "model.safetensors", ts, [&](size_t i) { return produce(specs[i]); }, meta);
      return;
    }
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", total}};
    nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
    for (int g = 0; g < shards; ++g) {
      std::string fname = fmt::format("model-{:05d}-of-{:05d}.safetensors", g + 1, shards);
      std::vector<io::TensorSpec> ts;
      for (size_t i : groups[g]) {
        ts.push_back({specs[i].name, opt.dtype, specs[i].shape});
        weight_map[specs[i].name] = fname;
      }
      io::save_safetensors_lazy(tmp / fname, ts, [&](size_t k) { return produce(specs[groups[g][k]]); }, meta);
    }
    index["weight_map"] = weight_map;
    io::write_file_atomic(tmp / "model.safetensors.index.json", index.dump(2) + "\n");
  });
}

}  // namespace genlens::model
