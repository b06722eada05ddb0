#include "core/analysis/decode.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/analysis/lens.h"
#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"
#include "core/model/generate.h"
#include "core/text/chat_template.h"
#include "core/text/prompt.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

using torch::Tensor;

std::vector<int64_t> stop_ids(const model::DecoderLM& lm, const text::Tokenizer* tok, const std::vector<int64_t>& extra) {
  std::vector<int64_t> ids = lm.config().eos_token_ids;
  if (tok)
    if (auto e = tok->eos_id()) ids.push_back(*e);
  ids.insert(ids.end(), extra.begin(), extra.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

namespace {

DecodedText decoded(const text::Tokenizer* tok, const std::vector<int64_t>& ids, int max_new_tokens) {
  DecodedText d;
  d.ids.assign(ids.begin(), ids.end());
  if (tok) d.text = tok->decode(d.ids, /*skip_special=*/true);
  d.stopped_at_eos = static_cast<int64_t>(ids.size()) < max_new_tokens;
  return d;
}

// `which` names the stream the caller's on_token hears about (the text so far of a row,
// re-decoded whole each token so multi-token characters come out right).
model::GenerateOptions generate_options(const model::DecoderLM& lm, const text::Tokenizer* tok,
                                        const DecodeOptions& opt, DecodeOptions::Stream which) {
  if (opt.max_new_tokens < 1) fail("--max-new-tokens: expected >= 1, found {}", opt.max_new_tokens);
  model::GenerateOptions g;
  g.max_new_tokens = opt.max_new_tokens;
  g.sample = opt.sample;
  g.temperature = opt.temperature;
  g.top_p = opt.top_p;
  g.seed = opt.seed;
  g.eos_ids = stop_ids(lm, tok, opt.extra_eos_ids);
  if (opt.on_token) {
    auto so_far = std::make_shared<std::vector<std::vector<int64_t>>>();
    g.on_token = [so_far, tok, which, cb = opt.on_token](int64_t row, int64_t id) {
      const auto r = static_cast<size_t>(row);
      if (so_far->size() <= r) so_far->resize(r + 1);
      (*so_far)[r].push_back(id);
      auto d = decoded(tok, (*so_far)[r], /*max_new_tokens=*/0);  // not finished: stopped_at_eos false
      cb(r, which, d);
    };
  }
  return g;
}

// Soft prompts S [B, n_c, H] float32 of query id rows (left padded; positions from the mask).
Tensor soft_prompts(const model::DecoderLM& lm, const gen::Adapter& adapter,
                    const std::vector<std::vector<int32_t>>& rows) {
  return gen::encode_queries(lm, adapter, model::left_pad(rows, 0, lm.device())).soft_prompts;
}

}  // namespace

// Greedy/sampled decoding from [S] alone: no BOS, no chat template (the training path).
std::vector<DecodedText> decode_soft_prompts(const model::DecoderLM& lm, const text::Tokenizer* tok, const Tensor& S,
                                             const DecodeOptions& opt) {
  auto g = generate_options(lm, tok, opt, DecodeOptions::Stream::FromEmbedding);
  auto mask = torch::ones({S.size(0), S.size(1)}, torch::kLong);
  auto out = model::generate(lm, S.to(lm.device(), lm.dtype()), mask, g);
  std::vector<DecodedText> res;
  for (const auto& ids : out) res.push_back(decoded(tok, ids, opt.max_new_tokens));
  return res;
}

namespace {

std::vector<std::vector<int32_t>> query_rows(const text::Tokenizer& tok, const std::vector<std::string>& queries,
                                             const DecodeOptions& opt) {
  LensOptions lo;
  lo.instruction = opt.instruction;
  lo.max_length = opt.max_length;
  std::vector<std::vector<int32_t>> rows;
  for (const auto& q : queries) rows.push_back(lens_query_ids(tok, q, lo));
  return rows;
}

}  // namespace

std::vector<DecodedText> decode_query_ids(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                          const text::Tokenizer* tok, const std::vector<std::vector<int32_t>>& rows,
                                          const DecodeOptions& opt) {
  if (rows.empty()) return {};
  torch::NoGradGuard ng;
  return decode_soft_prompts(lm, tok, soft_prompts(lm, adapter, rows), opt);
}

std::vector<InterpolationStep> interpolate_ids(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                               const text::Tokenizer* tok, const std::vector<int32_t>& a,
                                               const std::vector<int32_t>& b, int64_t steps, const DecodeOptions& opt) {
  if (steps < 2) fail("--steps: expected >= 2 (t runs from 0 to 1 inclusive), found {}", steps);
  torch::NoGradGuard ng;
  auto S = soft_prompts(lm, adapter, {a, b});
  std::vector<Tensor> mixed;
  std::vector<double> ts;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(steps - 1);
    ts.push_back(t);
    // Exactly S_a at t = 0 and S_b at t = 1 (no rounding from the blend).
    mixed.push_back(i == 0 ? S[0] : i == steps - 1 ? S[1] : S[0] * (1.0 - t) + S[1] * t);
  }
  auto texts = decode_soft_prompts(lm, tok, torch::stack(mixed), opt);
  std::vector<InterpolationStep> out;
  for (size_t i = 0; i < ts.size(); ++i) out.push_back({ts[i], std::move(texts[i])});
  return out;
}

std::vector<DecodeResult> decode_queries(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                         const text::Tokenizer& tok, const std::vector<std::string>& queries,
                                         const DecodeOptions& opt) {
  if (queries.empty()) return {};
  auto texts = decode_query_ids(lm, adapter, &tok, query_rows(tok, queries, opt), opt);
  std::vector<DecodeResult> res(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    res[i].query = queries[i];
    res[i].from_embedding = std::move(texts[i]);
  }
  if (opt.model_answer) {
    if (!opt.chat) fail("decode: the model's own answer needs the model's chat template (DecodeOptions::chat)");
    // The LLM answering the query itself, as `generate` builds its training responses.
    torch::NoGradGuard ng;
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& q : queries) {
      auto ids = text::prompt_ids(tok, *opt.chat, q, /*max_input_length=*/1024);
      prompts.emplace_back(ids.begin(), ids.end());
    }
    auto out = model::generate_from_ids(lm, prompts, generate_options(lm, &tok, opt, DecodeOptions::Stream::ModelAnswer));
    for (size_t i = 0; i < queries.size(); ++i) {
      res[i].has_model_answer = true;
      res[i].model_answer = decoded(&tok, out[i], opt.max_new_tokens);
    }
  }
  return res;
}

Tensor query_soft_prompts(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                          const std::vector<std::string>& queries, const DecodeOptions& opt) {
  torch::NoGradGuard ng;
  return soft_prompts(lm, adapter, query_rows(tok, queries, opt));
}

InterpolationResult interpolate(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                                const std::string& query_a, const std::string& query_b, int64_t steps,
                                const DecodeOptions& opt) {
  auto rows = query_rows(tok, {query_a, query_b}, opt);
  InterpolationResult r;
  r.query_a = query_a;
  r.query_b = query_b;
  r.steps = interpolate_ids(lm, adapter, &tok, rows[0], rows[1], steps, opt);
  return r;
}

}  // namespace genlens::analysis
