#include "core/analysis/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/analysis/decode.h"
#include "core/analysis/layer_state.h"
#include "core/analysis/lens.h"
#include "core/analysis/points_tensor.h"
#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/text/readable_piece.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace F = torch::nn::functional;
using torch::Tensor;

std::vector<TraceCell> TraceResult::top_cells(size_t k) const {
  std::vector<TraceCell> all;
  for (size_t li = 0; li < layers.size(); ++li)
    for (size_t p = 0; p < positions.size(); ++p) all.push_back({layers[li], p, effect[li][p]});
  std::stable_sort(all.begin(), all.end(), [](const TraceCell& a, const TraceCell& b) { return a.effect > b.effect; });
  if (all.size() > k) all.resize(k);
  return all;
}

int64_t TraceResult::first_layer_reaching(PositionKind kind, double threshold) const {
  for (size_t li = 0; li < layers.size(); ++li)
    for (size_t p = 0; p < positions.size(); ++p)
      if (positions[p].kind == kind && effect[li][p] >= threshold) return layers[li];
  return -1;
}

namespace {

// S = recon(C) of a run's final states, C the last n_compression positions in float32 (as
// gen::encode_queries makes them).
Tensor soft_prompts_of_last(const gen::Adapter& adapter, const Tensor& last_hidden) {
  const int64_t nc = adapter.shape().n_compression, T = last_hidden.size(1);
  return gen::soft_prompts_of(adapter, last_hidden.narrow(1, T - nc, nc).to(torch::kFloat32));
}

}  // namespace

Tensor embedding_of_last_hidden(const gen::Adapter& adapter, const Tensor& last_hidden) {
  return gen::embedding_of(adapter, soft_prompts_of_last(adapter, last_hidden));
}

std::string decode_last_hidden(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                               const Tensor& last_hidden, int64_t max_new_tokens, int64_t row) {
  const Tensor S = soft_prompts_of_last(adapter, last_hidden.narrow(0, row, 1));
  DecodeOptions dopt;
  dopt.max_new_tokens = static_cast<int>(max_new_tokens);
  dopt.model_answer = false;
  return decode_soft_prompts(lm, &tok, S, dopt).at(0).text;
}

Tensor embedding_from_layer(const model::DecoderLM& lm, const gen::Adapter& adapter, const Tensor& stream,
                            int64_t layer) {
  torch::NoGradGuard ng;
  const int64_t P = stream.size(0), T = stream.size(1);
  model::ForwardOptions fo;
  fo.start_layer = layer;
  auto out = lm.forward(stream, torch::ones({P, T}, torch::TensorOptions().dtype(torch::kLong).device(lm.device())), fo);
  return embedding_of_last_hidden(adapter, out.last_hidden);
}

Tensor trace_effect(const Tensor& patched, const Tensor& e_base, const Tensor& e_source) {
  auto cos = [](const Tensor& a, const Tensor& b) {
    return F::cosine_similarity(a, b.unsqueeze(0).expand_as(a), F::CosineSimilarityFuncOptions().dim(1));
  };
  const Tensor e_x = e_base.reshape({1, -1}), e_y = e_source.reshape({-1});
  const Tensor c0 = cos(e_x, e_y);  // [1]
  return (cos(patched, e_y) - c0) / (1 - c0);
}

namespace {

// The input token positions of `ids` (whose byte spans in `text`, offset by `skip` bytes
// of instruction) overlap an occurrence of one of the words (case-insensitive, whole word).
std::vector<int64_t> word_positions(const text::Encoding& enc, const std::string& text, size_t skip,
                                    const std::vector<std::string>& words) {
  const std::string lower = text::unicode::ascii_lower(text);
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  std::vector<int64_t> out;
  for (const auto& w0 : words) {
    const std::string w = text::unicode::ascii_lower(w0);
    bool found = false;
    for (size_t at = lower.find(w, skip); !w.empty() && at != std::string::npos; at = lower.find(w, at + 1)) {
      const bool left = at == 0 || !is_word(lower[at - 1]);
      const bool right = at + w.size() >= lower.size() || !is_word(lower[at + w.size()]);
      if (!left || !right) continue;
      found = true;
      for (size_t i = 0; i < enc.offsets.size(); ++i)
        if (enc.offsets[i].begin < at + w.size() && enc.offsets[i].end > at) out.push_back(static_cast<int64_t>(i));
    }
    if (!found) fail("--noise-words: \"{}\" is not a word of the query \"{}\"", w0, text.substr(skip));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

TraceResult causal_trace(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                         const std::string& query, const TraceOptions& opt, runtime::JobContext* ctx) {
  torch::NoGradGuard ng;
  if (opt.batch_size < 1) fail("--batch-size: expected >= 1, found {}", opt.batch_size);
  if (opt.noise_scale <= 0 || !std::isfinite(opt.noise_scale))
    fail("--noise-scale: expected a positive number, found {}", opt.noise_scale);
  const int64_t L = lm.config().num_hidden_layers;
  const int64_t n_special = adapter.shape().n_special();
  TraceResult r;
  r.mode = opt.contrast.empty() ? "noise" : "contrast";
  r.layers = parse_layer_range(opt.layers, L, "--layers");

  LensOptions lo;
  lo.instruction = opt.instruction;
  lo.max_length = opt.max_length;
  const auto ids_a = lens_query_ids(tok, query, lo);
  const auto states_a = query_states(lm, &adapter, ids_a);
  const auto& ha = states_a.out.hidden_states;  // clean A: [1, Ta, H] per layer
  const int64_t Ta = static_cast<int64_t>(ids_a.size()) + n_special;

  // X (base) and Y (source) hidden states, and which X position takes which Y position.
  std::vector<Tensor> hx, hy;
  Tensor last_x, last_y;
  std::vector<int64_t> src_of;  // per traced X position: its Y position
  std::vector<LensPosition> all_positions = query_positions(tok, ids_a, states_a, 0);
  if (r.mode == "contrast") {
    const auto ids_b = lens_query_ids(tok, opt.contrast, lo);
    const auto states_b = query_states(lm, &adapter, ids_b);
    hx = ha;
    hy = states_b.out.hidden_states;
    last_x = states_a.out.last_hidden;
    last_y = states_b.out.last_hidden;
    const int64_t Tb = static_cast<int64_t>(ids_b.size()) + n_special;
    const bool aligned = ids_b.size() == ids_a.size();
    if (opt.input_positions && !aligned)
      r.notes.push_back(fmt::format("input positions not traced: A has {} tokens, B {} (only the thought and "
                                    "compression positions pair up)",
                                    ids_a.size(), ids_b.size()));
    for (const auto& p : all_positions) {
      if (p.kind == PositionKind::Ordinary && !(opt.input_positions && aligned)) continue;
      r.positions.push_back(p);
      src_of.push_back(p.index + (Tb - Ta));  // special positions pair up from the end
    }
  } else {
    // Noise on the chosen words' input embeddings (instruction tokens stay clean).
    const auto enc = tok.encode_with_offsets(opt.instruction + query, /*add_special=*/true);
    std::vector<int64_t> noisy;
    if (opt.noise_words.empty()) {
      for (size_t i = 0; i < ids_a.size(); ++i)
        if (i < enc.offsets.size() && enc.offsets[i].end > opt.instruction.size() &&
            enc.offsets[i].end > enc.offsets[i].begin)
          noisy.push_back(static_cast<int64_t>(i));
    } else {
      noisy = word_positions(enc, opt.instruction + query, opt.instruction.size(), opt.noise_words);
    }
    noisy.erase(std::remove_if(noisy.begin(), noisy.end(), [&](int64_t i) { return i >= static_cast<int64_t>(ids_a.size()); }),
                noisy.end());
    if (noisy.empty()) fail("--noise-words: no token of the query to corrupt");
    for (int64_t i : noisy) r.noised.push_back(text::readable_piece(tok, ids_a[static_cast<size_t>(i)]));
    const double sd = opt.noise_scale * gen::embedding_std(lm);
    auto gen = at::detail::createCPUGenerator(opt.seed);
    Tensor noise = torch::zeros({1, Ta, lm.config().hidden_size}, torch::kFloat32);
    for (int64_t i : noisy) noise[0][i].normal_(0, sd, gen);
    Tensor x_in = (ha[0].to(torch::kFloat32) + noise).to(lm.device(), lm.dtype());
    model::ForwardOptions fo;
    fo.output_hidden_states = true;
    auto out_x = lm.forward(x_in, torch::ones({1, Ta}, torch::TensorOptions().dtype(torch::kLong).device(lm.device())), fo);
    hx = out_x.hidden_states;
    hy = ha;
    last_x = out_x.last_hidden;
    last_y = states_a.out.last_hidden;
    r.notes.push_back(fmt::format("noise (std {:.3g} = {} x the embedding std) on {} token(s) of A, seed {}", sd,
                                  opt.noise_scale, noisy.size(), opt.seed));
    for (const auto& p : all_positions) {
      if (p.kind == PositionKind::Ordinary && !opt.input_positions) continue;
      r.positions.push_back(p);
      src_of.push_back(p.index);
    }
  }
  const Tensor e_x = embedding_of_last_hidden(adapter, last_x).reshape({-1}),
               e_y = embedding_of_last_hidden(adapter, last_y).reshape({-1});
  r.cos_base_source = F::cosine_similarity(e_x.unsqueeze(0), e_y.unsqueeze(0)).item<double>();
  if (r.cos_base_source > 1 - 1e-6)
    r.notes.push_back("X and Y give the same embedding direction (cosine 1): every effect is undefined (NaN)");

  const int64_t P = static_cast<int64_t>(r.positions.size());
  const int64_t chunks = (P + opt.batch_size - 1) / opt.batch_size;
  if (ctx) ctx->set_stage("trace", static_cast<int64_t>(r.layers.size()) * chunks, "forwards");
  r.effect.assign(r.layers.size(), std::vector<double>(static_cast<size_t>(P), NAN));
  for (size_t li = 0; li < r.layers.size(); ++li) {
    const int64_t l = r.layers[li];
    const Tensor& base = hx[static_cast<size_t>(l)];    // [1, Ta, H]
    const Tensor& source = hy[static_cast<size_t>(l)];  // [1, Tb, H]
    for (int64_t c0 = 0; c0 < P; c0 += opt.batch_size) {
      if (ctx) ctx->check_cancel();
      const int64_t n = std::min(opt.batch_size, P - c0);
      Tensor stream = base.expand({n, Ta, base.size(2)}).clone();
      for (int64_t k = 0; k < n; ++k) {
        const size_t pi = static_cast<size_t>(c0 + k);
        stream[k][r.positions[pi].index].copy_(source[0][src_of[pi]]);
      }
      Tensor eff = trace_effect(embedding_from_layer(lm, adapter, stream, l), e_x, e_y).to(torch::kCPU, torch::kDouble);
      auto acc = eff.accessor<double, 1>();
      for (int64_t k = 0; k < n; ++k) r.effect[li][static_cast<size_t>(c0 + k)] = acc[k];
      ++r.forwards;
      if (ctx) ctx->advance();
    }
  }
  auto top = r.top_cells(1);
  if (!top.empty()) r.strongest = top[0];
  r.embedding_base = to_floats(e_x);
  r.embedding_source = to_floats(e_y);
  r.decoded_base = decode_last_hidden(lm, adapter, tok, last_x, opt.decode_tokens);
  r.decoded_source = decode_last_hidden(lm, adapter, tok, last_y, opt.decode_tokens);
  if (r.strongest.layer >= 0) {
    const size_t pi = r.strongest.position;
    Tensor stream = hx[static_cast<size_t>(r.strongest.layer)].clone();
    stream[0][r.positions[pi].index].copy_(hy[static_cast<size_t>(r.strongest.layer)][0][src_of[pi]]);
    model::ForwardOptions fo;
    fo.start_layer = r.strongest.layer;
    auto out = lm.forward(stream, torch::ones({1, Ta}, torch::TensorOptions().dtype(torch::kLong).device(lm.device())), fo);
    r.decoded_strongest = decode_last_hidden(lm, adapter, tok, out.last_hidden, opt.decode_tokens);
    r.embedding_strongest = to_floats(embedding_of_last_hidden(adapter, out.last_hidden));
  }
  return r;
}

}  // namespace genlens::analysis
