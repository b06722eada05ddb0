// DecoderLM: loading an HF directory and the forward pass (Llama / Qwen2 / Qwen3 /
// Mistral), written from the published architecture:
//   h = embed(ids) | inputs_embeds
//   per layer: h += o_proj(attn(rope(q), rope(k), v)) of RMSNorm(h)
//              h += down(silu(gate(x)) * up(x)),  x = RMSNorm(h)
//   last_hidden = RMSNorm(h); logits = lm_head(last_hidden)
// HF details kept: RMSNorm in fp32, cast back, then times weight; RoPE rotate_half
// layout (first half / second half, not interleaved); Qwen3 q/k RMSNorm per head before
// RoPE; Qwen2 bias on q/k/v; llama3 rope scaling by wavelength bands; attention
// softmax in fp32; GQA head h reads kv head h / (heads / kv_heads).
#include "core/model/decoder_lm.h"

#include <dlfcn.h>

#include <cmath>

#include "core/model/checkpoint.h"
#include "core/model/kv_cache.h"
#include "core/util/error.h"

namespace genlens::model {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;
using torch::Tensor;

// ---------------------------------------------------------------- KV cache

void KVCache::clear() {
  k_.clear();
  v_.clear();
  length_ = 0;
  batch_ = -1;
}

std::pair<Tensor, Tensor> KVCache::append(int64_t layer, const Tensor& k, const Tensor& v) {
  if (batch_ >= 0 && k.size(0) != batch_)
    fail("KV cache: batch size {} does not match the cached batch size {}", k.size(0), batch_);
  if (static_cast<int64_t>(k_.size()) <= layer) {
    k_.resize(layer + 1);
    v_.resize(layer + 1);
  }
  const int64_t T = k.size(2), need = length_ + T;
  Tensor& kb = k_[layer];
  Tensor& vb = v_[layer];
  if (torch::GradMode::is_enabled() && (k.requires_grad() || v.requires_grad())) {
    // Keep the autograd graph: concatenate (no in-place writes into shared buffers).
    kb = length_ > 0 ? torch::cat({kb.narrow(2, 0, length_), k}, 2) : k;
    vb = length_ > 0 ? torch::cat({vb.narrow(2, 0, length_), v}, 2) : v;
    return {kb, vb};
  }
  torch::NoGradGuard ng;
  if (!kb.defined() || kb.size(2) < need) {
    int64_t cap = std::max<int64_t>(need, kb.defined() ? 2 * kb.size(2) : std::max(need + 64, reserve_));
    auto nk = torch::empty({k.size(0), k.size(1), cap, k.size(3)}, k.options());
    auto nv = torch::empty({v.size(0), v.size(1), cap, v.size(3)}, v.options());
    if (kb.defined() && length_ > 0) {
      nk.narrow(2, 0, length_).copy_(kb.narrow(2, 0, length_));
      nv.narrow(2, 0, length_).copy_(vb.narrow(2, 0, length_));
    }
    kb = nk;
    vb = nv;
  }
  kb.narrow(2, length_, T).copy_(k);
  vb.narrow(2, length_, T).copy_(v);
  return {kb.narrow(2, 0, need), vb.narrow(2, 0, need)};
}

void KVCache::commit(int64_t n) {
  if (!k_.empty()) batch_ = k_[0].size(0);
  length_ += n;
}

// ---------------------------------------------------------------- weights

namespace {

struct Layer {
  Tensor ln1, wq, bq, wk, bk, wv, bv, wo, bo, qn, kn, ln2, wg, bg, wu, bu, wd, bd;
};

Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  auto h = x.to(torch::kFloat32);
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return w * h.to(x.scalar_type());
}

Tensor rotate_half(const Tensor& x) {
  auto half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  return b.defined() ? F::linear(x, w, b) : F::linear(x, w);
}

// inv_freq exactly as HF computes it (float32), with llama3 / linear scaling.
Tensor rope_inv_freq(const ModelConfig& c) {
  const int64_t dim = c.head_dim;
  auto inv = 1.0 / torch::pow(c.rope_theta, torch::arange(0, dim, 2, torch::kLong).to(torch::kFloat32) / dim);
  const auto& rs = c.rope_scaling;
  if (rs.type == "linear") {
    inv = inv / rs.factor;
  } else if (rs.type == "llama3") {
    const double old_ctx = static_cast<double>(rs.original_max_position_embeddings);
    const double low_wl = old_ctx / rs.low_freq_factor;
    const double high_wl = old_ctx / rs.high_freq_factor;
    auto wavelen = 2 * M_PI / inv;
    auto scaled = torch::where(wavelen > low_wl, inv / rs.factor, inv);
    auto smooth = (old_ctx / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
    auto smoothed = (1 - smooth) * scaled / rs.factor + smooth * scaled;
    auto medium = (wavelen >= high_wl).logical_and(wavelen <= low_wl);
    inv = torch::where(medium, smoothed, scaled);
  }
  return inv;
}

const char* st_dtype_expected = "F32, BF16 or F16";

}  // namespace

struct DecoderLM::Impl {
  ModelConfig cfg;
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat32;
  Tensor embed, norm, head, inv_freq;
  std::vector<Layer> layers;
  std::vector<std::pair<std::string, Tensor>> named;
};

DecoderLM::DecoderLM(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecoderLM::~DecoderLM() = default;

std::shared_ptr<DecoderLM> DecoderLM::load(const fs::path& dir, torch::Device device, torch::ScalarType dtype,
                                           const WeightEdit& edit) {
  return load_impl(dir, device, dtype, /*trainable=*/false, edit);
}

std::shared_ptr<DecoderLM> DecoderLM::load_trainable(const fs::path& dir, torch::Device device) {
  return load_impl(dir, device, torch::kFloat32, /*trainable=*/true, {});
}

std::shared_ptr<DecoderLM> DecoderLM::load_impl(const fs::path& dir, torch::Device device, torch::ScalarType dtype,
                                                bool trainable, const WeightEdit& edit) {
  if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
    fail("DecoderLM::load: dtype must be float32, bfloat16 or float16, found {}", c10::toString(dtype));
  torch::NoGradGuard ng;
  auto impl = std::make_unique<Impl>();
  impl->cfg = ModelConfig::from_dir(dir);
  impl->device = device;
  impl->dtype = dtype;
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
      fail("'{}': tensor '{}' has dtype {}, expected {}", it->second->path().string(), s.name, info.dtype,
           st_dtype_expected);
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

  std::map<std::string, Tensor> t;
  for (auto& s : specs) {
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
    if (view.scalar_type() == dtype && device.is_cpu() && !trainable) {
      x = view;  // zero-copy: the mmap'ed bytes themselves (read-only)
    } else {
      // Convert in slices of rows, dropping each slice's file pages once copied, so
      // the peak stays near one copy of the converted weights even for the embedding.
      x = torch::empty(view.sizes(), torch::TensorOptions().dtype(dtype).device(device));
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
    t[s.name] = x;
    impl->named.emplace_back(s.name, x);
  }
  auto opt = [&](const std::string& n) { return t.count(n) ? t.at(n) : Tensor(); };
  impl->embed = t.at("model.embed_tokens.weight");
  impl->norm = t.at("model.norm.weight");
  impl->head = cfg.tie_word_embeddings ? impl->embed : t.at("lm_head.weight");
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    Layer L;
    L.ln1 = t.at(p + "input_layernorm.weight");
    L.wq = t.at(p + "self_attn.q_proj.weight");
    L.wk = t.at(p + "self_attn.k_proj.weight");
    L.wv = t.at(p + "self_attn.v_proj.weight");
    L.wo = t.at(p + "self_attn.o_proj.weight");
    L.bq = opt(p + "self_attn.q_proj.bias");
    L.bk = opt(p + "self_attn.k_proj.bias");
    L.bv = opt(p + "self_attn.v_proj.bias");
    L.bo = opt(p + "self_attn.o_proj.bias");
    L.qn = opt(p + "self_attn.q_norm.weight");
    L.kn = opt(p + "self_attn.k_norm.weight");
    L.ln2 = t.at(p + "post_attention_layernorm.weight");
    L.wg = t.at(p + "mlp.gate_proj.weight");
    L.wu = t.at(p + "mlp.up_proj.weight");
    L.wd = t.at(p + "mlp.down_proj.weight");
    L.bg = opt(p + "mlp.gate_proj.bias");
    L.bu = opt(p + "mlp.up_proj.bias");
    L.bd = opt(p + "mlp.down_proj.bias");
    impl->layers.push_back(std::move(L));
  }
  impl->inv_freq = rope_inv_freq(cfg).to(device);
  return std::make_shared<DecoderLM>(std::move(impl));
}

const ModelConfig& DecoderLM::config() const { return impl_->cfg; }
torch::Device DecoderLM::device() const { return impl_->device; }
torch::ScalarType DecoderLM::dtype() const { return impl_->dtype; }
const std::vector<std::pair<std::string, Tensor>>& DecoderLM::named_parameters() const { return impl_->named; }

Tensor DecoderLM::embed(const Tensor& ids, bool check_range) const {
  if (!ids.defined() || (ids.scalar_type() != torch::kLong && ids.scalar_type() != torch::kInt))
    fail("DecoderLM::embed: ids must be an int64 tensor");
  // Range check where the ids are (no device sync for CPU ids, one for device ids).
  if (check_range && ids.numel() > 0) {
    auto [min_t, max_t] = torch::aminmax(ids);
    auto lo = min_t.item<int64_t>(), hi = max_t.item<int64_t>();
    if (lo < 0 || hi >= impl_->cfg.vocab_size)
      fail("DecoderLM::embed: token id {} is outside the vocabulary [0, {})", lo < 0 ? lo : hi,
           impl_->cfg.vocab_size);
  }
  auto flat = ids.to(impl_->device, torch::kLong).reshape({-1});
  auto sizes = ids.sizes().vec();
  sizes.push_back(impl_->cfg.hidden_size);
  return impl_->embed.index_select(0, flat).view(sizes);
}

Tensor DecoderLM::final_norm(const Tensor& hidden) const {
  return rms_norm(hidden.to(impl_->dtype), impl_->norm, impl_->cfg.rms_norm_eps);
}

Tensor DecoderLM::lm_head(const Tensor& hidden) const { return F::linear(hidden.to(impl_->dtype), impl_->head); }
const Tensor& DecoderLM::lm_head_weight() const { return impl_->head; }

// ---------------------------------------------------------------- forward

namespace {

// What every layer of one forward call shares: RoPE tables and who may attend to whom.
struct AttnInputs {
  Tensor cos, sin;   // [B, 1, T, hd] in the compute dtype
  Tensor allowed;    // [B, 1, T, Tk] bool; undefined when `causal_only`
  bool causal_only;  // no padding, no cache, no window: plain causal attention (SDPA is_causal)
};

// softmax(q k^T * scale, masked) v with GQA: query head h reads kv head h / rep. The
// kv heads are never expanded: the rep query heads of one kv head are stacked along
// the time axis, so one [rep*T, hd] x [hd, Tk] product serves them all.
Tensor attend(const Tensor& q, const Tensor& k, const Tensor& v, const AttnInputs& a, double scale) {
  const int64_t B = q.size(0), nh = q.size(1), T = q.size(2), hd = q.size(3);
  const int64_t nkv = k.size(1), Tk = k.size(2), rep = nh / nkv;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
  // LibTorch >= 2.5: fused attention, GQA inside the kernel; is_causal without a mask
  // lets the flash kernel run.
  if (a.causal_only) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, true, scale, /*enable_gqa=*/rep > 1);
  return at::scaled_dot_product_attention(q, k, v, a.allowed, 0.0, false, scale, /*enable_gqa=*/rep > 1);
#else
  auto qg = q.reshape({B, nkv, rep * T, hd});
  auto scores = (torch::matmul(qg, k.transpose(-1, -2)) * scale).view({B, nkv, rep, T, Tk});
  Tensor allowed = a.allowed;
  if (a.causal_only) {
    auto i = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(q.device()));
    allowed = (i.unsqueeze(0) <= i.unsqueeze(1)).view({1, 1, T, Tk});
  }
  scores = scores.masked_fill(allowed.logical_not().unsqueeze(1), -std::numeric_limits<float>::infinity());
  auto p = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type()).view({B, nkv, rep * T, Tk});
  return torch::matmul(p, v).view({B, nh, T, hd});
#endif
}

}  // namespace

// One decoder layer: h [B, T, H] -> h [B, T, H]. Appends this layer's K/V to `cache`.
static Tensor layer_forward(const DecoderLM::Impl& m, size_t l, const Tensor& h_in, const AttnInputs& a,
                            KVCache* cache) {
  const auto& c = m.cfg;
  const Layer& L = m.layers[l];
  const int64_t B = h_in.size(0), T = h_in.size(1);
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads, hd = c.head_dim;
  const double eps = c.rms_norm_eps;
  Tensor h = h_in;
  auto x = rms_norm(h, L.ln1, eps);
  auto q = linear(x, L.wq, L.bq).view({B, T, nh, hd});
  auto k = linear(x, L.wk, L.bk).view({B, T, nkv, hd});
  auto v = linear(x, L.wv, L.bv).view({B, T, nkv, hd}).transpose(1, 2);
  if (c.qk_norm) {
    q = rms_norm(q, L.qn, eps);
    k = rms_norm(k, L.kn, eps);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  q = q * a.cos + rotate_half(q) * a.sin;
  k = k * a.cos + rotate_half(k) * a.sin;
  if (cache) std::tie(k, v) = cache->append(static_cast<int64_t>(l), k, v);
  auto att = attend(q, k, v, a, 1.0 / std::sqrt(static_cast<double>(hd)));
  att = att.transpose(1, 2).reshape({B, T, nh * hd});
  h = h + linear(att, L.wo, L.bo);
  x = rms_norm(h, L.ln2, eps);
  auto mlp = torch::silu(linear(x, L.wg, L.bg)) * linear(x, L.wu, L.bu);
  return h + linear(mlp, L.wd, L.bd);
}

namespace {

// Activation recomputation for the frozen backbone: the forward keeps only the layer's
// input; the backward runs the layer again with autograd on and back-propagates through
// that copy. Memory per layer drops from every intermediate (q, k, v, attention
// weights, the MLP's [B, T, I] tensors) to one [B, T, H]; compute grows by one layer
// forward. Only for frozen weights: the gradient returned is the input's alone.
struct RecomputedLayer : public torch::autograd::Function<RecomputedLayer> {
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& h, int64_t impl_ptr, int64_t layer,
                        const Tensor& cos, const Tensor& sin, const Tensor& allowed, bool causal_only) {
    const auto* m = reinterpret_cast<const DecoderLM::Impl*>(impl_ptr);
    ctx->save_for_backward({h, cos, sin, allowed});  // allowed: empty when causal_only
    ctx->saved_data["impl"] = impl_ptr;
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["causal_only"] = causal_only;
    return layer_forward(*m, static_cast<size_t>(layer), h, AttnInputs{cos, sin, causal_only ? Tensor() : allowed, causal_only},
                         nullptr);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_out) {
    const auto* m = reinterpret_cast<const DecoderLM::Impl*>(ctx->saved_data["impl"].toInt());
    auto saved = ctx->get_saved_variables();
    const bool causal_only = ctx->saved_data["causal_only"].toBool();
    AttnInputs a{saved[1], saved[2], causal_only ? Tensor() : saved[3], causal_only};
    Tensor h = saved[0].detach().requires_grad_(true);
    Tensor out;
    {
      torch::AutoGradMode on(true);
      out = layer_forward(*m, static_cast<size_t>(ctx->saved_data["layer"].toInt()), h, a, nullptr);
    }
    Tensor g = torch::autograd::grad({out}, {h}, {grad_out[0]})[0];
    return {g, Tensor(), Tensor(), Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

ForwardOutput DecoderLM::forward(const Tensor& inputs_embeds, const Tensor& attention_mask,
                                 const ForwardOptions& opt) const {
  const auto& c = impl_->cfg;
  if (!inputs_embeds.defined() || inputs_embeds.dim() != 3 || inputs_embeds.size(2) != c.hidden_size)
    fail("DecoderLM::forward: inputs_embeds must be [B, T, {}], found {}", c.hidden_size,
         inputs_embeds.defined() ? fmt::format("[{}]", fmt::join(inputs_embeds.sizes(), ", ")) : "undefined");
  if (inputs_embeds.device() != impl_->device)
    fail("DecoderLM::forward: inputs_embeds are on {}, the model on {}", inputs_embeds.device().str(),
         impl_->device.str());
  const int64_t B = inputs_embeds.size(0), T = inputs_embeds.size(1);
  const int64_t past = opt.cache ? opt.cache->length() : 0, Tk = past + T;
  if (!attention_mask.defined() || attention_mask.dim() != 2 || attention_mask.size(0) != B ||
      attention_mask.size(1) != Tk)
    fail("DecoderLM::forward: attention_mask must be [{}, {}] (batch, cached + new positions), found {}", B, Tk,
         attention_mask.defined() ? fmt::format("[{}]", fmt::join(attention_mask.sizes(), ", ")) : "undefined");
  if (opt.cache && opt.cache->length() > 0 && opt.cache->batch_size() != B)
    fail("DecoderLM::forward: batch size {} does not match the KV cache's {}", B, opt.cache->batch_size());
  const auto dev = impl_->device;
  const auto dt = impl_->dtype;

  auto mask = attention_mask.to(dev).to(torch::kLong);
  // Positions from the mask (left padding): real tokens count 0, 1, 2, ...; pads get 1.
  auto pos_all = mask.cumsum(1) - 1;
  pos_all.masked_fill_(mask == 0, 1);
  auto pos = pos_all.narrow(1, past, T);
  auto freqs = pos.unsqueeze(-1).to(torch::kFloat32) * impl_->inv_freq;  // [B, T, hd/2]
  auto emb = torch::cat({freqs, freqs}, -1);
  AttnInputs a;
  a.cos = emb.cos().to(dt).unsqueeze(1);  // [B, 1, T, hd]
  a.sin = emb.sin().to(dt).unsqueeze(1);

  // Plain causal attention needs no mask tensor at all. Whether a row is padded is read
  // where the caller's mask lives (free for CPU masks: one small sync for device masks).
  const bool window_cuts = c.sliding_window > 0 && Tk > c.sliding_window;
  a.causal_only = opt.causal && past == 0 && !window_cuts && attention_mask.numel() > 0 &&
                  attention_mask.min().item<int64_t>() != 0;
  if (!a.causal_only) {
    // allowed[b, 0, i, j]: query i (absolute past+i) may attend key j.
    auto qidx = torch::arange(past, Tk, torch::TensorOptions().dtype(torch::kLong).device(dev)).unsqueeze(1);
    auto kidx = torch::arange(0, Tk, torch::TensorOptions().dtype(torch::kLong).device(dev)).unsqueeze(0);
    auto allowed = (mask != 0).view({B, 1, 1, Tk});
    if (opt.causal) {
      auto cm = kidx <= qidx;
      if (c.sliding_window > 0) cm = cm.logical_and(kidx > qidx - c.sliding_window);
      allowed = allowed.logical_and(cm.view({1, 1, T, Tk}));
    }
    // A query always sees itself, so a pad row never has an empty softmax (no NaN that
    // could leak into real rows through 0 * NaN); real rows are unaffected.
    a.allowed = allowed.logical_or((kidx == qidx).view({1, 1, T, Tk}));
  }

  // Recompute layers in backward only where it can help and is exact: a gradient is
  // wanted, the weights are frozen, and no KV cache is being filled.
  const bool recompute = opt.recompute && !opt.cache && torch::GradMode::is_enabled() &&
                         inputs_embeds.requires_grad() && !impl_->embed.requires_grad();

  ForwardOutput out;
  Tensor h = inputs_embeds.to(dt);
  if (opt.output_hidden_states) out.hidden_states.push_back(h);
  // LibTorch 1.13's Function::apply refuses undefined tensor arguments: an empty mask
  // stands in for "no mask" (causal_only says which).
  const Tensor allowed_arg = a.allowed.defined() ? a.allowed : torch::empty({0}, torch::TensorOptions().dtype(torch::kBool).device(dev));
  for (size_t l = 0; l < impl_->layers.size(); ++l) {
    if (recompute)
      h = RecomputedLayer::apply(h, reinterpret_cast<int64_t>(impl_.get()), static_cast<int64_t>(l), a.cos, a.sin,
                                 allowed_arg, a.causal_only);
    else
      h = layer_forward(*impl_, l, h, a, opt.cache);
    if (opt.output_hidden_states) out.hidden_states.push_back(h);
  }
  if (opt.cache) opt.cache->commit(T);
  out.last_hidden = rms_norm(h, impl_->norm, c.rms_norm_eps);
  return out;
}

}  // namespace genlens::model

namespace genlens::model {

torch::ScalarType parse_dtype(const std::string& n) {
  if (n == "f32" || n == "float32" || n == "fp32") return torch::kFloat32;
  if (n == "bf16" || n == "bfloat16") return torch::kBFloat16;
  if (n == "f16" || n == "float16" || n == "fp16") return torch::kFloat16;
  fail("dtype '{}' is not supported (expected f32, bf16 or f16)", n);
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
