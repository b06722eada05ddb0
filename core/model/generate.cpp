// Batched decoding with a KV cache. Each step feeds one token per row; rows that have
// finished keep feeding a token (their output is ignored) so the batch stays
// rectangular. Sampling happens on the CPU with a seeded generator, so a seed gives the
// same tokens on every device.
#include "core/model/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/model/kv_cache.h"
#include "core/model/padding.h"
#include "core/util/error.h"

namespace genlens::model {

using torch::Tensor;

namespace {

// logits [B, V] float32 on the CPU -> next ids [B].
Tensor pick(const Tensor& logits, const GenerateOptions& opt, at::Generator& gen) {
  if (!opt.sample || opt.temperature <= 0.0f) return logits.argmax(-1);
  auto probs = torch::softmax(logits / static_cast<double>(opt.temperature), -1);
  if (opt.top_p < 1.0f) {
    auto sorted = probs.sort(-1, /*descending=*/true);
    Tensor sp = std::get<0>(sorted), si = std::get<1>(sorted);
    // Drop a token when the tokens ranked above it already reach top_p (the first is
    // always kept).
    auto before = sp.cumsum(-1) - sp;
    sp = sp.masked_fill(before >= opt.top_p, 0.0);
    probs = torch::zeros_like(probs).scatter(-1, si, sp);
  }
  return torch::multinomial(probs, 1, false, gen).squeeze(-1);
}

}  // namespace

void check_options(const GenerateOptions& opt) {
  if (opt.sample && !(opt.top_p > 0.0f && opt.top_p <= 1.0f))
    fail("generate: --top-p must be in (0, 1], found {}", opt.top_p);
  // Temperature 0 means greedy (as the CLI documents); a negative or NaN one is a mistake.
  if (opt.sample && !(opt.temperature >= 0.0f))
    fail("generate: --temperature must be >= 0 when sampling (0 = greedy), found {}", opt.temperature);
  if (opt.max_new_tokens < 0) fail("generate: --max-new-tokens must be >= 0, found {}", opt.max_new_tokens);
}

std::vector<std::vector<int64_t>> generate(const DecoderLM& lm, const Tensor& prefix_embeds,
                                           const Tensor& attention_mask, const GenerateOptions& opt) {
  if (!prefix_embeds.defined() || prefix_embeds.dim() != 3)
    fail("generate: prefix_embeds must be [B, T, H]");
  check_options(opt);
  torch::NoGradGuard ng;
  const int64_t B = prefix_embeds.size(0);
  std::vector<std::vector<int64_t>> out(B);
  if (opt.max_new_tokens == 0 || B == 0) return out;

  auto gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
  auto eos = torch::tensor(opt.eos_ids.empty() ? std::vector<int64_t>{-1} : opt.eos_ids, torch::kLong);
  std::vector<bool> done(B, false);
  int64_t n_done = 0;
  const int64_t T0 = prefix_embeds.size(1);
  KVCache cache;
  cache.reserve(T0 + opt.max_new_tokens);
  ForwardOptions fo;
  fo.cache = &cache;
  // The mask of every position decoding can reach, filled in as it goes (no regrowth).
  Tensor mask_all = torch::ones({B, T0 + opt.max_new_tokens}, torch::TensorOptions().dtype(torch::kLong).device(lm.device()));
  mask_all.narrow(1, 0, T0).copy_(attention_mask.to(lm.device(), torch::kLong));
  auto res = lm.forward(prefix_embeds, mask_all.narrow(1, 0, T0), fo);
  Tensor last = res.last_hidden.select(1, res.last_hidden.size(1) - 1);
  const bool greedy = !opt.sample || opt.temperature <= 0.0f;
  for (int step = 0; step < opt.max_new_tokens; ++step) {
    // Greedy picks on the device and copies B ids back; sampling copies the [B, V]
    // logits and draws on the CPU, so a seed gives the same tokens on every device.
    Tensor next_dev = greedy ? lm.lm_head(last).argmax(-1) : Tensor();
    Tensor next = greedy ? next_dev.to(torch::kCPU) : pick(lm.lm_head(last).to(torch::kCPU, torch::kFloat32), opt, gen);
    Tensor is_eos = torch::isin(next, eos);
    auto nx = next.accessor<int64_t, 1>();
    auto ie = is_eos.accessor<bool, 1>();
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      if (ie[b]) {
        done[b] = true;
        ++n_done;
      } else {
        out[b].push_back(nx[b]);
        if (opt.on_token) opt.on_token(b, nx[b]);
      }
    }
    if (n_done == B || step + 1 == opt.max_new_tokens) break;
    Tensor ids = (greedy ? next_dev : next.to(lm.device())).view({B, 1});
    res = lm.forward(lm.embed(ids, /*check_range=*/false), mask_all.narrow(1, 0, T0 + step + 1), fo);
    last = res.last_hidden.select(1, 0);
  }
  return out;
}

std::vector<std::vector<int64_t>> generate_from_ids(const DecoderLM& lm,
                                                    const std::vector<std::vector<int64_t>>& prompts,
                                                    const GenerateOptions& opt) {
  if (prompts.empty()) return {};
  for (auto& p : prompts)
    if (p.empty()) fail("generate: every prompt needs at least one token");
  auto batch = left_pad(prompts, 0, lm.device());
  torch::NoGradGuard ng;
  return generate(lm, lm.embed(batch.ids), batch.mask, opt);
}

}  // namespace genlens::model
