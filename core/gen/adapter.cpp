#include "core/gen/adapter.h"

#include <cmath>

#include "core/gen/linear_ce.h"
#include "core/util/error.h"

namespace genlens::gen {

namespace F = torch::nn::functional;
using torch::Tensor;

Adapter::Adapter(const AdapterShape& shape, torch::Device device) : shape_(shape) {
  if (shape.n_thought < 0 || shape.n_compression < 1)
    fail("adapter: expected n_thought >= 0 and n_compression >= 1, found {} and {}", shape.n_thought,
         shape.n_compression);
  if (shape.hidden < 1 || shape.teacher_dim < 1)
    fail("adapter: expected hidden size and teacher dimension >= 1, found {} and {}", shape.hidden,
         shape.teacher_dim);
  auto o = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  special_tokens = torch::zeros({shape.n_special(), shape.hidden}, o).requires_grad_(true);
  recon_w = torch::zeros({shape.hidden, shape.hidden}, o).requires_grad_(true);
  recon_b = torch::zeros({shape.hidden}, o).requires_grad_(true);
  align_w = torch::zeros({shape.teacher_dim, shape.hidden}, o).requires_grad_(true);
  align_b = torch::zeros({shape.teacher_dim}, o).requires_grad_(true);
}

double embedding_std(const model::DecoderLM& lm) {
  for (auto& [name, t] : lm.named_parameters())
    if (name == "model.embed_tokens.weight") return t.to(torch::kFloat32).std().item<double>();
  fail("base model has no model.embed_tokens.weight (needed to scale the special tokens' init)");
}

void Adapter::init_random(const model::DecoderLM& lm, uint64_t seed, double special_std) {
  if (special_std <= 0) special_std = embedding_std(lm);
  // Drawn on the CPU with a private generator so the values do not depend on the device
  // or on anything else that used the global RNG.
  auto gen = at::detail::createCPUGenerator(seed);
  auto cpu = torch::TensorOptions().dtype(torch::kFloat32);
  auto normal = [&](std::vector<int64_t> shape, double std) {
    return at::normal(0.0, std, shape, gen, cpu);
  };
  auto uniform = [&](std::vector<int64_t> shape, double bound) {
    return at::empty(shape, cpu).uniform_(-bound, bound, gen);
  };
  const double hb = 1.0 / std::sqrt(static_cast<double>(shape_.hidden));
  torch::NoGradGuard ng;
  special_tokens.copy_(normal({shape_.n_special(), shape_.hidden}, special_std));
  recon_w.copy_(uniform({shape_.hidden, shape_.hidden}, hb));
  recon_b.copy_(uniform({shape_.hidden}, hb));
  align_w.copy_(uniform({shape_.teacher_dim, shape_.hidden}, hb));
  align_b.copy_(uniform({shape_.teacher_dim}, hb));
}

std::vector<Tensor> Adapter::parameters() const { return {special_tokens, recon_w, recon_b, align_w, align_b}; }

std::vector<std::pair<std::string, Tensor>> Adapter::named_parameters() const {
  return {{"special_tokens.weight", special_tokens},
          {"recon_head.weight", recon_w},
          {"recon_head.bias", recon_b},
          {"align_head.weight", align_w},
          {"align_head.bias", align_b}};
}

void Adapter::assign(const std::string& name, const Tensor& value, const std::string& source) {
  for (auto& [n, t] : named_parameters()) {
    if (n != name) continue;
    if (value.sizes() != t.sizes())
      fail("{}: tensor \"{}\": expected shape [{}], found [{}]", source, name, fmt::join(t.sizes(), ", "),
           fmt::join(value.sizes(), ", "));
    if (!value.is_floating_point())
      fail("{}: tensor \"{}\": expected a floating-point tensor, found {}", source, name,
           c10::toString(value.scalar_type()));
    torch::NoGradGuard ng;
    auto v = value.to(t.device(), torch::kFloat32);
    if (!torch::isfinite(v).all().item<bool>())
      fail("{}: tensor \"{}\": contains NaN or infinite values", source, name);
    Tensor dst = t;
    dst.copy_(v);
    return;
  }
  fail("{}: unexpected tensor \"{}\" (expected special_tokens.weight, recon_head.weight/.bias, "
       "align_head.weight/.bias)", source, name);
}

int64_t Adapter::num_parameters() const {
  int64_t n = 0;
  for (auto& p : parameters()) n += p.numel();
  return n;
}

EncoderInput encoder_input(const model::DecoderLM& lm, const Adapter& adapter, const PaddedBatch& query) {
  const auto& s = adapter.shape();
  if (s.hidden != lm.config().hidden_size)
    fail("adapter hidden size {} does not match the base model's hidden_size {}", s.hidden, lm.config().hidden_size);
  const int64_t B = query.ids.size(0);
  auto dev = lm.device();
  Tensor text = lm.embed(query.ids.to(dev));  // [B, L, H]
  Tensor special = adapter.special_tokens.to(dev, lm.dtype()).unsqueeze(0).expand({B, s.n_special(), s.hidden});
  EncoderInput in;
  in.embeds = torch::cat({text, special}, 1);
  in.mask = torch::cat({query.mask.to(dev), torch::ones({B, s.n_special()}, query.mask.options().device(dev))}, 1);
  return in;
}

Tensor soft_prompts_of(const Adapter& adapter, const Tensor& compression) {
  auto dev = compression.device();
  return F::linear(compression, adapter.recon_w.to(dev), adapter.recon_b.to(dev));
}

Tensor embedding_of(const Adapter& adapter, const Tensor& soft_prompts) {
  auto dev = soft_prompts.device();
  return F::linear(soft_prompts, adapter.align_w.to(dev), adapter.align_b.to(dev)).mean(1);
}

EncodeOutput encode_queries(const model::DecoderLM& lm, const Adapter& adapter, const PaddedBatch& query,
                            bool recompute, std::vector<torch::Tensor>* hidden_states) {
  const auto& s = adapter.shape();
  auto in = encoder_input(lm, adapter, query);
  model::ForwardOptions fo;
  fo.recompute = recompute;
  fo.output_hidden_states = hidden_states != nullptr;
  auto out = lm.forward(in.embeds, in.mask, fo);
  if (hidden_states) *hidden_states = std::move(out.hidden_states);
  EncodeOutput r;
  r.compression = out.last_hidden.narrow(1, out.last_hidden.size(1) - s.n_compression, s.n_compression)
                      .to(torch::kFloat32);
  r.soft_prompts = soft_prompts_of(adapter, r.compression);
  r.embedding = embedding_of(adapter, r.soft_prompts);
  return r;
}

Tensor recon_loss(const model::DecoderLM& lm, const Tensor& soft_prompts, const std::vector<TokenRow>& targets,
                  int64_t* n_target_tokens, bool recompute) {
  const int64_t B = soft_prompts.size(0), nc = soft_prompts.size(1), H = soft_prompts.size(2);
  if (static_cast<int64_t>(targets.size()) != B)
    fail("recon_loss: {} soft prompts but {} target rows", B, targets.size());
  auto dev = lm.device();
  int64_t R = 0, total = 0;
  for (auto& t : targets) {
    R = std::max<int64_t>(R, static_cast<int64_t>(t.size()));
    total += static_cast<int64_t>(t.size());
  }
  if (n_target_tokens) *n_target_tokens = total;
  if (total == 0) return torch::zeros({}, soft_prompts.options());
  const int64_t T = nc + R;

  // Targets right-aligned: row b = [pads][S_b][target_b], pads before S (left padding).
  auto ids = torch::zeros({B, R}, torch::kLong);
  auto mask = torch::zeros({B, T}, torch::kLong);
  std::vector<int64_t> positions, labels;
  positions.reserve(static_cast<size_t>(total));
  labels.reserve(static_cast<size_t>(total));
  {
    auto ia = ids.accessor<int64_t, 2>();
    auto ma = mask.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const auto& t = targets[static_cast<size_t>(b)];
      const int64_t n = static_cast<int64_t>(t.size()), pad = R - n;
      for (int64_t j = pad; j < T; ++j) ma[b][j] = 1;
      for (int64_t j = 0; j < n; ++j) {
        ia[b][R - n + j] = t[static_cast<size_t>(j)];
        // The state at position p predicts the token at p + 1: the last soft prompt
        // (pad + nc - 1) predicts target token 0.
        positions.push_back(b * T + pad + nc - 1 + j);
        labels.push_back(t[static_cast<size_t>(j)]);
      }
    }
  }
  Tensor tgt_embeds = lm.embed(ids.to(dev));                      // [B, R, H]
  Tensor S = soft_prompts.to(dev, lm.dtype());
  // [B, T, H]: rows are built as pads ++ S ++ target so the pads sit before S.
  std::vector<Tensor> rows;
  rows.reserve(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(targets[static_cast<size_t>(b)].size()), pad = R - n;
    std::vector<Tensor> parts;
    if (pad > 0) parts.push_back(torch::zeros({pad, H}, tgt_embeds.options()));
    parts.push_back(S[b]);
    if (n > 0) parts.push_back(tgt_embeds[b].narrow(0, pad, n));
    rows.push_back(torch::cat(parts, 0));
  }
  Tensor inputs = torch::stack(rows, 0);
  model::ForwardOptions fo;
  fo.recompute = recompute;
  auto out = lm.forward(inputs, mask.to(dev), fo);
  auto pos = torch::tensor(positions, torch::kLong).to(dev);
  Tensor h = out.last_hidden.reshape({B * T, H}).index_select(0, pos);  // [N, H]
  // CE over the head's [N, V] logits, a chunk of rows at a time (core/gen/linear_ce.h):
  // the same value and gradient as cross_entropy(lm_head(h)) without holding [N, V].
  return linear_cross_entropy(h.to(lm.dtype()), lm.lm_head_weight(), torch::tensor(labels, torch::kLong).to(dev));
}

Tensor align_loss(const Tensor& embedding, const Tensor& teacher) {
  if (embedding.sizes() != teacher.sizes())
    fail("align_loss: student embeddings [{}] and teacher embeddings [{}] differ in shape",
         fmt::join(embedding.sizes(), ", "), fmt::join(teacher.sizes(), ", "));
  return F::mse_loss(embedding, teacher.to(embedding.device(), torch::kFloat32));
}

Tensor masked_mean(const Tensor& hidden, const Tensor& mask) {
  auto m = mask.to(hidden.device()).to(torch::kFloat32).unsqueeze(-1);  // [B, T, 1]
  auto sum = (hidden.to(torch::kFloat32) * m).sum(1);
  return sum / m.sum(1).clamp_min(1.0);
}

}  // namespace genlens::gen
