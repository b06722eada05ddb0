#include "core/analysis/ablate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/analysis/layer_state.h"
#include "core/analysis/lens.h"
#include "core/analysis/trace.h"
#include "core/analysis/neighbors.h"
#include "core/analysis/points_tensor.h"
#include "core/gen/adapter.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace F = torch::nn::functional;
using torch::Tensor;

AblationKind parse_ablation_kind(const std::string& s) {
  if (s == "zero") return AblationKind::Zero;
  if (s == "mean") return AblationKind::Mean;
  if (s == "resample") return AblationKind::Resample;
  fail("--kind: expected zero, mean or resample, found \"{}\"", s);
}

const char* to_string(AblationKind k) {
  switch (k) {
    case AblationKind::Zero: return "zero";
    case AblationKind::Mean: return "mean";
    case AblationKind::Resample: return "resample";
  }
  return "?";
}

Tensor special_states(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                      const std::string& text, const std::string& instruction, int64_t max_length) {
  torch::NoGradGuard ng;
  LensOptions lo;
  lo.instruction = instruction;
  lo.max_length = max_length;
  const auto qs = query_states(lm, &adapter, lens_query_ids(tok, text, lo));
  const int64_t S = qs.n_thought + qs.n_compression;
  std::vector<Tensor> per_layer;
  for (const auto& h : qs.out.hidden_states) per_layer.push_back(h[0].narrow(0, h.size(1) - S, S));
  return torch::stack(per_layer).to(torch::kCPU, torch::kFloat32);
}

Tensor mean_special_states(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                           const std::vector<std::string>& texts, const std::string& instruction, int64_t max_length,
                           runtime::JobContext* ctx) {
  if (texts.empty()) fail("mean ablation: the corpus has no texts to average over");
  if (ctx) ctx->set_stage("mean special-token states", static_cast<int64_t>(texts.size()), "texts");
  Tensor sum;  // float64: thousands of texts without drift
  for (const auto& t : texts) {
    if (ctx) ctx->check_cancel();
    Tensor s = special_states(lm, adapter, tok, t, instruction, max_length).to(torch::kDouble);
    sum = sum.defined() ? sum.add_(s) : s;
    if (ctx) ctx->advance();
  }
  return (sum / static_cast<double>(texts.size())).to(torch::kFloat32);
}

Tensor cached_mean_special_states(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                                  const std::filesystem::path& model_dir, const std::filesystem::path& adapter_dir,
                                  const std::vector<std::string>& texts, const std::filesystem::path& corpus_path,
                                  const std::string& instruction, int64_t max_length, bool use_cache,
                                  std::string* note, runtime::JobContext* ctx) {
  namespace fs = std::filesystem;
  const fs::path cache = fs::path(corpus_path.string() + ".genlens-cache") /
                         ("special-states-" +
                          corpus_cache_key(lm, model_dir, adapter_dir, "special-states", instruction, max_length, texts) +
                          ".npy");
  const auto& c = lm.config();
  if (use_cache && fs::exists(cache)) {
    Tensor rep = io::load_npy(cache);
    if (rep.dim() == 3 && rep.size(0) == c.num_hidden_layers + 1 && rep.size(1) == adapter.shape().n_special() &&
        rep.size(2) == c.hidden_size) {  // else not what this key should hold: computed again
      if (note) *note = fmt::format("the mean over {} corpus texts (from the cache {})", texts.size(), cache.string());
      return rep;
    }
  }
  Tensor rep = mean_special_states(lm, adapter, tok, texts, instruction, max_length, ctx);
  if (use_cache) {
    fs::create_directories(cache.parent_path());
    io::save_npy(cache, rep);
  }
  if (note)
    *note = use_cache ? fmt::format("the mean over {} corpus texts (cached in {})", texts.size(), cache.string())
                      : fmt::format("the mean over {} corpus texts", texts.size());
  return rep;
}

AblateResult ablate(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                    const std::string& query, const AblateOptions& opt, const Tensor& replacement,
                    const std::string& replacement_note, runtime::JobContext* ctx) {
  torch::NoGradGuard ng;
  if (opt.batch_size < 1) fail("--batch-size: expected >= 1, found {}", opt.batch_size);
  const int64_t L = lm.config().num_hidden_layers, H = lm.config().hidden_size;
  const int64_t n_thought = adapter.shape().n_thought, n_special = adapter.shape().n_special();
  AblateResult r;
  r.kind = to_string(opt.kind);
  r.layers = parse_layer_range(opt.layers, L, "--layers");
  const auto chosen = parse_special_positions(opt.positions, n_thought, adapter.shape().n_compression);
  if (opt.kind == AblationKind::Zero) {
    r.replacement = "zeros";
  } else {
    if (!replacement.defined() || replacement.dim() != 3 || replacement.size(0) != L + 1 ||
        replacement.size(1) != n_special || replacement.size(2) != H)
      fail("{} ablation: the replacement states must be [{}, {}, {}] (layers 0..L, special positions, hidden), found {}",
           r.kind, L + 1, n_special, H,
           replacement.defined() ? fmt::format("[{}]", fmt::join(replacement.sizes(), ", ")) : "none");
    r.replacement = replacement_note;
  }

  LensOptions lo;
  lo.instruction = opt.instruction;
  lo.max_length = opt.max_length;
  const auto ids = lens_query_ids(tok, query, lo);
  const auto qs = query_states(lm, &adapter, ids);
  const int64_t T = static_cast<int64_t>(ids.size()) + n_special, first = T - n_special;
  const auto labels = query_positions(tok, ids, qs, first);
  for (int64_t i : chosen) r.positions.push_back(labels[static_cast<size_t>(i)]);
  const Tensor e_orig = embedding_of_last_hidden(adapter, qs.out.last_hidden);  // [1, D]

  // Rows: 0 = every chosen position together, then (importance) each one alone. A row's
  // positions are replaced in the stream entering each chosen layer.
  std::vector<std::vector<int64_t>> rows = {chosen};
  if (opt.importance && chosen.size() > 1)
    for (int64_t i : chosen) rows.push_back({i});
  const int64_t l0 = r.layers.front();
  const Tensor rep = replacement.defined() ? replacement.to(lm.device(), lm.dtype()) : Tensor();
  std::vector<double> cosines;
  std::string decoded_ablated;
  const int64_t R = static_cast<int64_t>(rows.size());
  if (ctx) ctx->set_stage("ablate", (R + opt.batch_size - 1) / opt.batch_size, "forwards");
  for (int64_t c0 = 0; c0 < R; c0 += opt.batch_size) {
    if (ctx) ctx->check_cancel();
    const int64_t n = std::min(opt.batch_size, R - c0);
    model::ForwardOptions fo;
    fo.start_layer = l0;
    fo.edit_stream = [&](int64_t layer, const Tensor& stream) -> Tensor {
      if (!std::binary_search(r.layers.begin(), r.layers.end(), layer)) return {};
      Tensor s = stream.clone();
      for (int64_t k = 0; k < n; ++k)
        for (int64_t i : rows[static_cast<size_t>(c0 + k)]) {
          auto cell = s[k][first + i];
          if (rep.defined()) cell.copy_(rep[layer][i]);
          else cell.zero_();
        }
      return s;
    };
    const Tensor& start = qs.out.hidden_states[static_cast<size_t>(l0)];
    auto out = lm.forward(start.expand({n, T, start.size(2)}).contiguous(),
                          torch::ones({n, T}, torch::TensorOptions().dtype(torch::kLong).device(lm.device())), fo);
    ++r.forwards;
    const Tensor e = embedding_of_last_hidden(adapter, out.last_hidden);  // [n, D]
    const Tensor cos = F::cosine_similarity(e, e_orig.expand_as(e), F::CosineSimilarityFuncOptions().dim(1))
                           .to(torch::kCPU, torch::kDouble);
    for (int64_t k = 0; k < n; ++k) cosines.push_back(cos[k].item<double>());
    if (c0 == 0) {
      r.embedding_ablated = to_floats(e[0]);
      r.decoded_ablated = decode_last_hidden(lm, adapter, tok, out.last_hidden, opt.decode_tokens, 0);
    }
    if (ctx) ctx->advance();
  }
  r.cosine = cosines[0];
  if (opt.importance) {
    if (chosen.size() == 1) r.importance = {1 - cosines[0]};
    else
      for (size_t k = 1; k < cosines.size(); ++k) r.importance.push_back(1 - cosines[k]);
  }
  r.embedding = to_floats(e_orig);
  r.decoded = decode_last_hidden(lm, adapter, tok, qs.out.last_hidden, opt.decode_tokens);
  return r;
}

}  // namespace genlens::analysis
