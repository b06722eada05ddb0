// DecoderLM's forward pass (Llama / Qwen2 / Qwen3 / Mistral), written from the published
// architecture (loading: load_weights.cpp; the KV cache: kv_cache.cpp):
//   h = embed(ids) | inputs_embeds
//   per layer: h += o_proj(attn(rope(q), rope(k), v)) of RMSNorm(h)
//              h += down(silu(gate(x)) * up(x)),  x = RMSNorm(h)
//   last_hidden = RMSNorm(h); logits = lm_head(last_hidden)
// HF details kept: RMSNorm in fp32, cast back, then times weight; RoPE rotate_half
// layout (first half / second half, not interleaved); Qwen3 q/k RMSNorm per head before
// RoPE; Qwen2 bias on q/k/v; llama3 rope scaling by wavelength bands; attention
// softmax in fp32; GQA head h reads kv head h / (heads / kv_heads).
#include "core/model/decoder_lm.h"

#include <cmath>

#include "core/model/decoder_weights.h"
#include "core/model/kv_cache.h"
#include "core/model/linear.h"
#include "core/util/error.h"

namespace genlens::model {

namespace F = torch::nn::functional;
using torch::Tensor;

namespace {

Tensor rms_norm(const Tensor& x, const Tensor& w, double eps) {
  auto h = x.to(torch::kFloat32);
  h = h * torch::rsqrt(h.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return w * h.to(x.scalar_type());
}

Tensor rotate_half(const Tensor& x) {
  auto half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

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

DecoderLM::DecoderLM(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecoderLM::~DecoderLM() = default;

const ModelConfig& DecoderLM::config() const { return impl_->cfg; }
torch::Device DecoderLM::device() const { return impl_->device; }
torch::ScalarType DecoderLM::dtype() const { return impl_->dtype; }
torch::ScalarType DecoderLM::matrix_dtype() const { return impl_->matrix_dtype; }
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
  // (A bf16-stored table in the low-memory format gives rows in the compute dtype.)
  return impl_->embed.index_select(0, flat).view(sizes).to(impl_->dtype);
}

Tensor DecoderLM::final_norm(const Tensor& hidden) const {
  return rms_norm(hidden.to(impl_->dtype), impl_->norm, impl_->cfg.rms_norm_eps);
}

Tensor DecoderLM::lm_head(const Tensor& hidden) const { return model::linear(hidden.to(impl_->dtype), impl_->head); }
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
  const LayerWeights& L = m.layers[l];
  const int64_t B = h_in.size(0), T = h_in.size(1);
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads, hd = c.head_dim;
  const double eps = c.rms_norm_eps;
  Tensor h = h_in;
  auto x = rms_norm(h, L.ln1, eps);
  auto q = model::linear(x, L.wq, L.bq).view({B, T, nh, hd});
  auto k = model::linear(x, L.wk, L.bk).view({B, T, nkv, hd});
  auto v = model::linear(x, L.wv, L.bv).view({B, T, nkv, hd}).transpose(1, 2);
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
  h = h + model::linear(att, L.wo, L.bo);
  x = rms_norm(h, L.ln2, eps);
  auto mlp = torch::silu(model::linear(x, L.wg, L.bg)) * model::linear(x, L.wu, L.bu);
  return h + model::linear(mlp, L.wd, L.bd);
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
  const auto n_layers = static_cast<int64_t>(impl_->layers.size());
  if (opt.start_layer < 0 || opt.start_layer > n_layers)
    fail("DecoderLM::forward: start_layer must be 0 to {} (the model's layers), found {}", n_layers, opt.start_layer);
  if (opt.start_layer > 0 && opt.cache) fail("DecoderLM::forward: start_layer > 0 cannot fill a KV cache");
  if (opt.edit_stream && opt.cache) fail("DecoderLM::forward: edit_stream cannot fill a KV cache");
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
  auto edit = [&](int64_t l) {
    if (!opt.edit_stream) return;
    if (Tensor e = opt.edit_stream(l, h); e.defined()) {
      if (e.sizes() != h.sizes())
        fail("DecoderLM::forward: edit_stream at layer {} returned [{}] for a [{}] stream", l, fmt::join(e.sizes(), ", "),
             fmt::join(h.sizes(), ", "));
      h = e.to(dev, dt);
    }
  };
  edit(opt.start_layer);
  if (opt.output_hidden_states) out.hidden_states.push_back(h);
  // LibTorch 1.13's Function::apply refuses undefined tensor arguments: an empty mask
  // stands in for "no mask" (causal_only says which).
  const Tensor allowed_arg = a.allowed.defined() ? a.allowed : torch::empty({0}, torch::TensorOptions().dtype(torch::kBool).device(dev));
  for (auto l = static_cast<size_t>(opt.start_layer); l < impl_->layers.size(); ++l) {
    if (recompute)
      h = RecomputedLayer::apply(h, reinterpret_cast<int64_t>(impl_.get()), static_cast<int64_t>(l), a.cos, a.sin,
                                 allowed_arg, a.causal_only);
    else
      h = layer_forward(*impl_, l, h, a, opt.cache);
    edit(static_cast<int64_t>(l) + 1);
    if (opt.output_hidden_states) out.hidden_states.push_back(h);
  }
  if (opt.cache) opt.cache->commit(T);
  out.last_hidden = rms_norm(h, impl_->norm, c.rms_norm_eps);
  return out;
}

}  // namespace genlens::model
