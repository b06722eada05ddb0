#include "core/analysis/attribution.h"

#include <algorithm>
#include <cmath>

#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace F = torch::nn::functional;
using torch::Tensor;

const char* to_string(BaselineKind k) { return k == BaselineKind::Zeros ? "zeros" : "token"; }

double AttributionResult::score_sum() const {
  double s = 0;
  for (double v : scores) s += v;
  return s;
}

double AttributionResult::completeness_abs() const { return std::abs(score_sum() - (f_input - f_baseline)); }

double AttributionResult::completeness_rel() const {
  const double d = std::abs(f_input - f_baseline);
  return d > 0 ? completeness_abs() / d : (completeness_abs() == 0 ? 0.0 : INFINITY);
}

int32_t neutral_token_id(const text::Tokenizer& tok) {
  if (auto p = tok.pad_id()) return *p;
  if (auto u = tok.unk_id()) return *u;
  if (auto e = tok.eos_id()) return *e;
  fail("attribute: the tokenizer has no pad, unk or eos token to build the baseline from; use --baseline zeros");
}

Tensor embedding_of_inputs(const model::DecoderLM& lm, const gen::Adapter* adapter, gen::EncodeMode mode,
                           const Tensor& query_embeds) {
  if (query_embeds.dim() != 3 || query_embeds.size(2) != lm.config().hidden_size)
    fail("attribute: expected query input embeddings [B, L, {}], found [{}]", lm.config().hidden_size,
         fmt::join(query_embeds.sizes(), ", "));
  const int64_t B = query_embeds.size(0), L = query_embeds.size(1);
  auto dev = lm.device();
  auto long_ones = [&](int64_t n) { return torch::ones({B, n}, torch::TensorOptions().dtype(torch::kLong).device(dev)); };
  if (mode == gen::EncodeMode::Generative) {
    if (!adapter) fail("attribute: mode generative needs an adapter (--adapter CKPT)");
    const auto& s = adapter->shape();
    if (s.hidden != lm.config().hidden_size)
      fail("adapter hidden size {} does not match the base model's hidden_size {}", s.hidden, lm.config().hidden_size);
    // The special rows and the heads are constants here: only the query is differentiated.
    Tensor special =
        adapter->special_tokens.detach().to(dev, lm.dtype()).unsqueeze(0).expand({B, s.n_special(), s.hidden});
    Tensor in = torch::cat({query_embeds.to(dev, lm.dtype()), special}, 1);
    auto out = lm.forward(in, long_ones(L + s.n_special()));
    // As gen::encode_queries: C in float32, S = recon(C), embedding = mean(align(S)).
    Tensor C = out.last_hidden.narrow(1, out.last_hidden.size(1) - s.n_compression, s.n_compression)
                   .to(torch::kFloat32);
    return gen::embedding_of(*adapter, gen::soft_prompts_of(*adapter, C));
  }
  if (mode == gen::EncodeMode::Mean) {
    if (L < 1) fail("attribute: mode mean needs at least one query token");
    auto out = lm.forward(query_embeds.to(dev, lm.dtype()), long_ones(L));
    return out.last_hidden.to(torch::kFloat32).mean(1);  // gen::masked_mean with no padding
  }
  fail("attribute: --mode: expected generative, mean or both, found \"{}\"", gen::to_string(mode));
}

Tensor attribution_objective(const model::DecoderLM& lm, const gen::Adapter* adapter, gen::EncodeMode mode,
                             const Tensor& query_embeds, const Tensor& target) {
  Tensor e = embedding_of_inputs(lm, adapter, mode, query_embeds);
  Tensor t = target.reshape({-1}).to(e.device(), e.scalar_type());
  if (t.size(0) != e.size(1))
    fail("attribute: the target has {} dimensions but the {} embedding has {}", t.size(0), gen::to_string(mode),
         e.size(1));
  return F::cosine_similarity(e, t.unsqueeze(0).expand_as(e), F::CosineSimilarityFuncOptions().dim(1));
}

Tensor baseline_embeddings(const model::DecoderLM& lm, int64_t n, const AttributionOptions& opt) {
  auto dev = lm.device();
  if (opt.baseline == BaselineKind::Zeros)
    return torch::zeros({n, lm.config().hidden_size}, torch::TensorOptions().dtype(lm.dtype()).device(dev));
  if (opt.baseline_id < 0) fail("attribute: a token baseline needs the neutral token's id (neutral_token_id)");
  auto ids = torch::full({1, n}, static_cast<int64_t>(opt.baseline_id), torch::kLong).to(dev);
  return lm.embed(ids).squeeze(0);
}

AttributionResult integrated_gradients(const model::DecoderLM& lm, const gen::Adapter* adapter, gen::EncodeMode mode,
                                       const std::vector<int32_t>& ids, const Tensor& target,
                                       const AttributionOptions& opt) {
  if (opt.steps < 1) fail("--steps: expected >= 1, found {}", opt.steps);
  if (opt.batch_size < 1) fail("--batch-size: expected >= 1, found {}", opt.batch_size);
  if (ids.empty()) fail("attribute: the query has no tokens");
  const int64_t L = static_cast<int64_t>(ids.size());
  auto dev = lm.device();
  Tensor x, base;
  {
    torch::NoGradGuard ng;
    std::vector<int64_t> ids64(ids.begin(), ids.end());
    x = lm.embed(torch::tensor(ids64, torch::kLong).unsqueeze(0).to(dev)).squeeze(0);  // [L, H]
    base = baseline_embeddings(lm, L, opt);
  }
  // The gradients are summed in float64 on the CPU: 64 terms of float32 lose nothing then.
  Tensor diff = (x - base);
  Tensor grad_sum = torch::zeros({L, x.size(1)}, torch::kDouble);

  AttributionResult r;
  r.mode = gen::to_string(mode);
  r.ids = ids;
  r.baseline = opt.baseline;
  r.baseline_id = opt.baseline == BaselineKind::Token ? opt.baseline_id : -1;
  r.steps = opt.steps;
  {
    torch::NoGradGuard ng;
    auto f = attribution_objective(lm, adapter, mode, torch::stack({x, base}), target).to(torch::kCPU, torch::kDouble);
    r.f_input = f[0].item<double>();
    r.f_baseline = f[1].item<double>();
  }
  const int64_t m = opt.steps;
  for (int64_t start = 0; start < m; start += opt.batch_size) {
    if (opt.check_cancel) opt.check_cancel();
    const int64_t n = std::min(opt.batch_size, m - start);
    std::vector<double> alphas;
    for (int64_t k = start; k < start + n; ++k) alphas.push_back((static_cast<double>(k) + 0.5) / static_cast<double>(m));
    Tensor a = torch::tensor(alphas, torch::kDouble).to(dev, x.scalar_type()).view({n, 1, 1});
    Tensor path = (base.unsqueeze(0) + a * diff.unsqueeze(0)).detach().requires_grad_(true);  // [n, L, H]
    Tensor f = attribution_objective(lm, adapter, mode, path, target);
    auto g = torch::autograd::grad({f.sum()}, {path})[0];
    grad_sum += g.detach().to(torch::kCPU, torch::kDouble).sum(0);
    if (opt.on_progress) opt.on_progress(start + n);
  }
  Tensor scores = (diff.detach().to(torch::kCPU, torch::kDouble) * grad_sum).sum(1) / static_cast<double>(m);
  auto acc = scores.accessor<double, 1>();
  for (int64_t i = 0; i < L; ++i) r.scores.push_back(acc[i]);
  return r;
}

}  // namespace genlens::analysis
