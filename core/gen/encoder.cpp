#include "core/gen/encoder.h"

#include <algorithm>
#include <numeric>

#include "core/model/generate.h"
#include "core/text/chat_template.h"
#include "core/text/prompt.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::gen {

EncodeMode parse_encode_mode(const std::string& n) {
  if (n == "generative" || n == "gen") return EncodeMode::Generative;
  if (n == "mean") return EncodeMode::Mean;
  if (n == "last") return EncodeMode::Last;
  if (n == "hyde") return EncodeMode::Hyde;
  fail("--mode: expected generative, mean, last or hyde, found \"{}\"", n);
}

std::string to_string(EncodeMode m) {
  switch (m) {
    case EncodeMode::Generative: return "generative";
    case EncodeMode::Mean: return "mean";
    case EncodeMode::Last: return "last";
    case EncodeMode::Hyde: return "hyde";
  }
  return "?";
}

torch::Tensor encode_ids(const model::DecoderLM& lm, const Adapter* adapter, const std::vector<TokenRow>& rows,
                         const EncodeOptions& opt) {
  if (opt.mode == EncodeMode::Hyde)
    fail("encode: mode hyde generates an answer from the text first; it needs texts (encode_texts), not token ids");
  if (opt.mode == EncodeMode::Generative && !adapter)
    fail("encode: mode generative needs an adapter (--adapter CKPT); the baselines mean and last do not");
  const int64_t N = static_cast<int64_t>(rows.size());
  if (opt.cuts) {
    opt.cuts->max_length = opt.max_length;
    for (const auto& r : rows) opt.cuts->add(static_cast<int64_t>(r.size()));
  }
  const int64_t D = opt.mode == EncodeMode::Generative ? adapter->shape().teacher_dim : lm.config().hidden_size;
  auto out = torch::zeros({N, D}, torch::kFloat32);
  // Longest first, the largest batch first (an out-of-memory error shows up at once, not
  // at the end), and a batch only ever holds texts of one length: no padding, so a text's
  // embedding does not depend on how long the other texts of its batch are. (Left padding
  // to another length moved every float by rounding, ~1e-6, so `eval --batch-size 16` and
  // the demo's batches of 64 scored differently.) The row count of a batch can still pick
  // another kernel for a small matrix product, and so another rounding.
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  auto len = [&](int64_t i) {
    auto n = static_cast<int64_t>(rows[static_cast<size_t>(i)].size());
    return opt.max_length > 0 ? std::min(n, opt.max_length) : n;
  };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return len(a) > len(b); });
  torch::NoGradGuard ng;
  const int64_t bs = std::max<int64_t>(1, opt.batch_size);
  for (int64_t start = 0, end = 0; start < N; start = end) {
    if (opt.check_cancel) opt.check_cancel();
    const int64_t n_start = len(order[static_cast<size_t>(start)]);
    end = start + 1;
    while (end < N && end - start < bs && len(order[static_cast<size_t>(end)]) == n_start) ++end;
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
    if (opt.mode == EncodeMode::Generative && opt.on_special_states) {
      std::vector<torch::Tensor> hs;
      emb = encode_queries(lm, *adapter, pb, /*recompute=*/false, &hs).embedding;
      const int64_t S = adapter->shape().n_special(), T = hs.front().size(1);
      std::vector<torch::Tensor> per_layer;
      for (const auto& h : hs) per_layer.push_back(h.narrow(1, T - S, S));
      opt.on_special_states(idx, torch::stack(per_layer, 1).to(torch::kCPU, torch::kFloat32));
    } else if (opt.mode == EncodeMode::Generative) {
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
  if (opt.mode != EncodeMode::Hyde) return encode_ids(lm, adapter, tokenize_queries(tok, texts, instruction), opt);
  // HyDE: generate, then mean-pool the generated answers.
  EncodeOptions mean = opt;
  mean.mode = EncodeMode::Mean;
  mean.cuts = nullptr;  // what is counted is the query, not the generated answer
  if (opt.cuts) {
    opt.cuts->max_length = opt.max_length;
    for (const auto& r : tokenize_queries(tok, texts, instruction)) opt.cuts->add(static_cast<int64_t>(r.size()));
  }
  auto answers = hyde_answers(lm, tok, texts, instruction, opt);
  mean.on_progress = nullptr;
  return encode_ids(lm, nullptr, tokenize_queries(tok, answers, ""), mean);
}

std::vector<std::string> hyde_answers(const model::DecoderLM& lm, const text::Tokenizer& tok,
                                      const std::vector<std::string>& texts, const std::string& instruction,
                                      const EncodeOptions& opt) {
  text::ChatTemplate loaded;
  const text::ChatTemplate* chat = opt.hyde_chat;
  if (!chat) {
    if (lm.config().source_dir.empty())
      fail("encode: mode hyde needs the model's chat template; this model was not loaded from a directory "
           "(pass EncodeOptions::hyde_chat)");
    loaded = text::load_chat_template(lm.config().source_dir);
    chat = &loaded;
  }
  model::GenerateOptions g;
  g.max_new_tokens = opt.hyde_max_new_tokens;
  g.eos_ids = lm.config().eos_token_ids;
  if (auto e = tok.eos_id()) g.eos_ids.push_back(*e);
  std::vector<std::string> answers(texts.size());
  const size_t bs = static_cast<size_t>(std::max<int64_t>(1, opt.batch_size));
  for (size_t start = 0; start < texts.size(); start += bs) {
    if (opt.check_cancel) opt.check_cancel();
    const size_t end = std::min(texts.size(), start + bs);
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = start; i < end; ++i) {
      auto ids = text::prompt_ids(tok, *chat, instruction + texts[i], opt.max_length > 0 ? opt.max_length : 1024);
      prompts.emplace_back(ids.begin(), ids.end());
    }
    auto out = model::generate_from_ids(lm, prompts, g);
    for (size_t i = start; i < end; ++i) {
      const auto& ids = out[i - start];
      auto a = tok.decode(std::vector<text::TokenId>(ids.begin(), ids.end()), /*skip_special=*/true);
      // Trimmed as `generate` trims its answers (the template ends the prompt with blank lines).
      answers[i] = std::string(text::unicode::py_strip(a));
      // An empty answer still needs a token to pool: fall back to the text itself.
      if (tok.encode(answers[i], true).empty()) answers[i] = instruction + texts[i];
    }
    if (opt.on_progress) opt.on_progress(static_cast<int64_t>(end));
  }
  return answers;
}

}  // namespace genlens::gen
