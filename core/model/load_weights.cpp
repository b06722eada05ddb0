// DecoderLM::load: an HF model directory (config.json, safetensors) into the weights the
// forward pass reads (decoder_weights.h). Every tensor is checked (present, dtype, the
// shape config.json implies, nothing unexpected) before any is converted; the dtype and
// device names the CLI passes to it are parsed here too.
#include <dlfcn.h>

#include <map>

#include "core/model/checkpoint.h"
#include "core/model/decoder_lm.h"
#include "core/model/decoder_weights.h"
#include "core/util/error.h"

namespace genlens::model {

namespace fs = std::filesystem;
using torch::Tensor;

std::shared_ptr<DecoderLM> DecoderLM::load(const fs::path& dir, torch::Device device, torch::ScalarType dtype,
                                           const WeightEdit& edit, std::optional<torch::ScalarType> matrix_dtype) {
  const auto m = matrix_dtype.value_or(dtype);
  if (m != dtype && !(m == torch::kBFloat16 && dtype == torch::kFloat32 && device.is_cpu()))
    fail("DecoderLM::load: weight matrices in {} with {} compute on {}: only bf16 matrices with float32 compute on "
         "the CPU are supported (the low-memory format); on a GPU compute in bf16 instead",
         dtype_name(m), dtype_name(dtype), device.str());
  return load_impl(dir, device, dtype, /*trainable=*/false, edit, m);
}

std::shared_ptr<DecoderLM> DecoderLM::load_trainable(const fs::path& dir, torch::Device device) {
  return load_impl(dir, device, torch::kFloat32, /*trainable=*/true, {}, torch::kFloat32);
}

std::shared_ptr<DecoderLM> DecoderLM::load_impl(const fs::path& dir, torch::Device device, torch::ScalarType dtype,
                                                bool trainable, const WeightEdit& edit,
                                                torch::ScalarType matrix_dtype) {
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
    fail("DecoderLM::load: dtype must be float32, bfloat16 or float16, found {}", c10::toString(dtype));
  torch::NoGradGuard ng;
  auto impl = std::make_unique<Impl>();
  impl->cfg = ModelConfig::from_dir(dir);
  impl->device = device;
  impl->dtype = dtype;
  impl->matrix_dtype = matrix_dtype;
  const auto& cfg = impl->cfg;
  WeightFiles wf = open_weight_files(dir);
  // The layer count decides how much is built below: check it against the weights first
  // (a config.json from another model, or a corrupted number, fails here at once).
  int64_t layers_in_weights = 0;
  for (auto& [name, file] : wf.by_name) {
    static const std::string prefix = "model.layers.";
    if (name.rfind(prefix, 0) != 0) continue;
    const auto end = name.find('.', prefix.size());
    try {
      layers_in_weights = std::max<int64_t>(layers_in_weights, std::stoll(name.substr(prefix.size(), end - prefix.size())) + 1);
    } catch (const std::exception&) {
      fail("'{}': tensor name '{}' has no layer number after 'model.layers.'", file->path().string(), name);
    }
  }
  if (layers_in_weights != cfg.num_hidden_layers)
    fail("'{}': config.json field 'num_hidden_layers' is {}, but the weights hold {} layers; does config.json belong "
         "to these weights?", dir.string(), cfg.num_hidden_layers, layers_in_weights);
  auto specs = parameter_specs(cfg);

  // Validate everything before converting anything.
  std::map<std::string, const ParamSpec*> wanted;
  for (auto& s : specs) {
    wanted[s.name] = &s;
    auto it = wf.by_name.find(s.name);
    if (it == wf.by_name.end())
      fail("'{}': tensor '{}' is missing from the checkpoint (config.json: model_type {}, {} layers{}{})",
           dir.string(), s.name, cfg.model_type, cfg.num_hidden_layers,
           cfg.attention_bias ? ", attention bias" : "", cfg.qk_norm ? ", q/k norm" : "");
    const auto& info = it->second->info(s.name);
    if (info.dtype != "F32" && info.dtype != "BF16" && info.dtype != "F16")
      fail("'{}': tensor '{}' has dtype {}, expected F32, BF16 or F16", it->second->path().string(), s.name,
           info.dtype);
    if (info.shape != s.shape)
      fail("'{}': tensor '{}' has shape {}, but config.json implies {}", it->second->path().string(), s.name,
           fmt::format("[{}]", fmt::join(info.shape, ", ")), fmt::format("[{}]", fmt::join(s.shape, ", ")));
  }
  for (auto& [name, file] : wf.by_name) {
    if (wanted.count(name)) continue;
    if (name.size() >= 19 && name.compare(name.size() - 19, 19, "rotary_emb.inv_freq") == 0) continue;
    if (name == "lm_head.weight" && cfg.tie_word_embeddings) continue;  // tied: the embedding is used
    fail("'{}': unexpected tensor '{}' (config.json: model_type {}, {} layers, tie_word_embeddings={}); "
         "does config.json belong to these weights?", file->path().string(), name, cfg.model_type,
         cfg.num_hidden_layers, cfg.tie_word_embeddings);
  }

  impl->layers.resize(static_cast<size_t>(cfg.num_hidden_layers));
  for_each_weight(cfg, impl.get(), [&](const ParamSpec& s, Tensor* field) {
    auto& file = wf.by_name.at(s.name);
    Tensor view = file->get(s.name);
    if (edit) {
      Tensor edited = edit(s.name, view);
      if (edited.defined()) {
        if (edited.sizes() != view.sizes())
          fail("'{}': the edit of tensor '{}' changed its shape from [{}] to [{}]", dir.string(), s.name,
               fmt::join(view.sizes(), ", "), fmt::join(edited.sizes(), ", "));
        view = edited;
      }
    }
    Tensor x;
    const auto want = s.shape.size() == 2 ? matrix_dtype : dtype;
    if (view.scalar_type() == want && device.is_cpu() && !trainable) {
      x = view;  // zero-copy: the mmap'ed bytes themselves (read-only)
    } else {
      // Convert in slices of rows, dropping each slice's file pages once copied, so
      // the peak stays near one copy of the converted weights even for the embedding.
      x = torch::empty(view.sizes(), torch::TensorOptions().dtype(want).device(device));
      const int64_t rows = view.dim() > 0 ? view.size(0) : 1;
      const uint64_t row_bytes = rows > 0 ? view.nbytes() / rows : 0;
      const int64_t chunk = std::max<int64_t>(1, (32ll << 20) / std::max<int64_t>(1, row_bytes));
      if (view.dim() == 0 || rows == 0) {
        x.copy_(view);
      } else {
        for (int64_t r = 0; r < rows; r += chunk) {
          const int64_t n = std::min(chunk, rows - r);
          x.narrow(0, r, n).copy_(view.narrow(0, r, n));
          file->release(s.name, r * row_bytes, (r + n) * row_bytes);
        }
      }
    }
    x.requires_grad_(trainable);
    *field = x;
    impl->named.emplace_back(s.name, x);
  });
  if (cfg.tie_word_embeddings) impl->head = impl->embed;
  impl->inv_freq = rope_inv_freq(cfg).to(device);
  return std::make_shared<DecoderLM>(std::move(impl));
}

torch::ScalarType parse_dtype(const std::string& n) {
  if (n == "f32" || n == "float32" || n == "fp32") return torch::kFloat32;
  if (n == "bf16" || n == "bfloat16") return torch::kBFloat16;
  if (n == "f16" || n == "float16" || n == "fp16") return torch::kFloat16;
  fail("dtype '{}' is not supported (expected f32, bf16 or f16)", n);
}

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "f32";
    case torch::kBFloat16: return "bf16";
    case torch::kFloat16: return "f16";
    default: return c10::toString(t);
  }
}

namespace {
// Whether this process's LibTorch was built with CUDA, GPU or not: a CPU-only build's
// "cuda" error says so instead of "not available".
bool libtorch_has_cuda() {
  // LibTorch's CUDA half is its own library, loaded with the process when the build has it.
  for (const char* lib : {"libtorch_cuda.so", "libc10_cuda.so"})
    if (void* h = ::dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) {
      ::dlclose(h);
      return true;
    }
  return false;
}
}  // namespace

torch::Device parse_device(const std::string& n) {
  if (n == "cpu") return torch::kCPU;
  if (n.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available()) {
      if (!libtorch_has_cuda())
        fail("device '{}' was asked for, but this genlens is built with a CPU-only LibTorch: use --device cpu, or "
             "build against a CUDA LibTorch (README: Building for CUDA)",
             n);
      fail("device '{}' was asked for, but CUDA is not available: this LibTorch has CUDA support, yet no GPU is "
           "visible (check nvidia-smi and CUDA_VISIBLE_DEVICES)",
           n);
    }
    try {
      return torch::Device(n);
    } catch (const std::exception&) {
      fail("device '{}' is not a valid device (expected cpu, cuda or cuda:N)", n);
    }
  }
  fail("device '{}' is not supported (expected cpu, cuda or cuda:N)", n);
}

}  // namespace genlens::model
