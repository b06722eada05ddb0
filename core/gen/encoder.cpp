#include "core/gen/encoder.h"

#include <algorithm>
#include <numeric>

#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::gen {

EncodeMode parse_encode_mode(const std::string& n) {
  if (n == "generative" || n == "gen") return EncodeMode::Generative;
  if (n == "mean") return EncodeMode::Mean;
  if (n == "last") return EncodeMode::Last;
  fail("--mode: expected generative, mean or last, found \"{}\"", n);
}

std::string to_string(EncodeMode m) {
  switch (m) {
    case EncodeMode::Generative: return "generative";
    case EncodeMode::Mean: return "mean";
    case EncodeMode::Last: return "last";
  }
  return "?";
}

torch::Tensor encode_ids(const model::DecoderLM& lm, const Adapter* adapter, const std::vector<TokenRow>& rows,
                         const EncodeOptions& opt) {
  if (opt.mode == EncodeMode::Generative && !adapter)
    fail("encode: mode generative needs an adapter (--adapter CKPT); the baselines mean and last do not");
  const int64_t N = static_cast<int64_t>(rows.size());
  const int64_t D = opt.mode == EncodeMode::Generative ? adapter->shape().teacher_dim : lm.config().hidden_size;
  auto out = torch::zeros({N, D}, torch::kFloat32);
  // Longest first: little padding per batch, and the largest batch comes first (an
  // out-of-memory error shows up at once, not at the end).
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  auto len = [&](int64_t i) {
    auto n = static_cast<int64_t>(rows[static_cast<size_t>(i)].size());
    return opt.max_length > 0 ? std::min(n, opt.max_length) : n;
  };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return len(a) > len(b); });
  torch::NoGradGuard ng;
  const int64_t bs = std::max<int64_t>(1, opt.batch_size);
  for (int64_t start = 0; start < N; start += bs) {
    if (opt.check_cancel) opt.check_cancel();
    const int64_t end = std::min(N, start + bs);
    std::vector<TokenRow> batch_rows;
    std::vector<int64_t> idx;
    for (int64_t k = start; k < end; ++k) {
      idx.push_back(order[static_cast<size_t>(k)]);
      batch_rows.push_back(rows[static_cast<size_t>(idx.back())]);
      if (opt.mode != EncodeMode::Generative && len(idx.back()) == 0)
        fail("encode: text {} has no tokens; mode {} needs at least one (generative mode does not)", idx.back(),
             to_string(opt.mode));
    }
    auto pb = left_pad(batch_rows, opt.max_length, lm.device());
    torch::Tensor emb;
    if (opt.mode == EncodeMode::Generative) {
      emb = encode_queries(lm, *adapter, pb).embedding;
    } else {
      auto h = lm.forward(lm.embed(pb.ids), pb.mask).last_hidden;
      if (opt.mode == EncodeMode::Mean) emb = masked_mean(h, pb.mask);
      else emb = h.select(1, h.size(1) - 1).to(torch::kFloat32);  // left padded: last = real last token
    }
    out.index_copy_(0, torch::tensor(idx, torch::kLong), emb.to(torch::kCPU, torch::kFloat32));
    if (opt.on_progress) opt.on_progress(end);
  }
  return out;
}

std::vector<TokenRow> tokenize_queries(const text::Tokenizer& tok, const std::vector<std::string>& texts,
                                       const std::string& instruction) {
  std::vector<TokenRow> rows;
  rows.reserve(texts.size());
  for (auto& t : texts) {
    auto ids = tok.encode(instruction + t, /*add_special=*/true);
    rows.emplace_back(ids.begin(), ids.end());
  }
  return rows;
}

torch::Tensor encode_texts(const model::DecoderLM& lm, const Adapter* adapter, const text::Tokenizer& tok,
                           const std::vector<std::string>& texts, const std::string& instruction,
                           const EncodeOptions& opt) {
  return encode_ids(lm, adapter, tokenize_queries(tok, texts, instruction), opt);
}

}  // namespace genlens::gen
