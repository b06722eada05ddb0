#include "core/analysis/latent_lens.h"

#include <torch/torch.h>

#include "core/analysis/layer_state.h"
#include "core/analysis/lens.h"
#include "core/gen/adapter.h"
#include "core/gen/checkpoint.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

LatentLensResult latent_lens(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                             const LatentIndex& index, const std::string& query, const LatentLensOptions& opt) {
  const int64_t L = lm.config().num_hidden_layers;
  const auto& info = index.info();
  if (info.hidden != lm.config().hidden_size)
    fail("{}: the index holds states of size {}, the model's hidden size is {} (built from another model: {})",
         info.dir, info.hidden, lm.config().hidden_size, info.model_path);
  auto fp = gen::BaseModelIdentity::of(lm, {}).weights_fingerprint;
  if (!info.weights_fingerprint.empty() && fp != info.weights_fingerprint)
    fail("{}: the index was built from another model ({}, weights fingerprint {}); this model's is {}", info.dir,
         info.model_path, info.weights_fingerprint, fp);
  int64_t layer = opt.encoder_layer < 0 ? L + 1 + opt.encoder_layer : opt.encoder_layer;
  if (layer < 0 || layer > L)
    fail("--encoder-layer: {} is out of range: the model has layers 0..{} (negatives count from the end)",
         opt.encoder_layer, L);

  LensOptions lo;
  lo.instruction = opt.instruction;
  lo.max_length = opt.max_length;
  auto ids = lens_query_ids(tok, query, lo);
  const int64_t T = static_cast<int64_t>(ids.size());
  torch::NoGradGuard ng;
  auto qs = query_states(lm, adapter, ids);
  const auto& out = qs.out;
  LatentLensResult res;
  res.query = query;
  res.encoder_layer = layer;
  res.index_layer = opt.index_layer;
  const int64_t first = adapter ? T + (opt.compression_only ? qs.n_thought : 0) : 0;
  const std::vector<LensPosition> positions = query_positions(tok, ids, qs, first);
  const int64_t P = static_cast<int64_t>(positions.size());
  auto states = layer_state(lm, out, layer)[0].narrow(0, first, P).to(torch::kFloat32).cpu().contiguous();
  std::vector<float> q(states.data_ptr<float>(), states.data_ptr<float>() + states.numel());
  SearchKind kind = opt.search;
  if (kind == SearchKind::Auto) kind = info.has_hnsw && index.size() >= 100000 ? SearchKind::Hnsw : SearchKind::Exact;
  res.search = kind == SearchKind::Hnsw ? "hnsw" : "exact";
  auto found = index.search(q, P, opt.top_k, opt.index_layer, kind, opt.ef);
  for (int64_t i = 0; i < P; ++i) {
    LatentQueryPosition qp;
    qp.position = positions[static_cast<size_t>(i)];
    for (auto& [e, sim] : found[static_cast<size_t>(i)]) qp.hits.push_back(index.hit(e, sim));
    res.positions.push_back(std::move(qp));
  }
  return res;
}

}  // namespace genlens::analysis
