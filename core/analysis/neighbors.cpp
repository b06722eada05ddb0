#include "core/analysis/neighbors.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/gen/checkpoint.h"
#include "core/util/hash.h"
#include "core/gen/encoder.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace fs = std::filesystem;

std::string corpus_cache_key(const model::DecoderLM& lm, const fs::path& model_dir, const fs::path& adapter_dir,
                             const std::string& mode, const std::string& instruction, int64_t max_length,
                             const std::vector<std::string>& texts) {
  auto id = gen::BaseModelIdentity::of(lm, model_dir);
  std::string head = fmt::format("v1|{}|{}|{}|{}|{}|{}", id.config_hash, id.weights_fingerprint, mode, instruction,
                                 max_length, gen::dtype_name(lm.dtype()));
  uint64_t h = util::fnv1a64(head.data(), head.size());
  if (!adapter_dir.empty()) {
    // The adapter's weights themselves (a retrained checkpoint in the same place differs).
    auto bytes = io::read_file(adapter_dir / "adapter.safetensors");
    h = util::fnv1a64(bytes.data(), bytes.size(), h);
  }
  for (const auto& t : texts) {
    uint64_t n = t.size();
    h = util::fnv1a64(&n, sizeof n, h);
    h = util::fnv1a64(t.data(), t.size(), h);
  }
  return util::hex64(h);
}

namespace {

// The corpus embeddings of `corpus_mode`: from the on-disk cache when it holds them, else
// encoded (and cached). Fills list.cache_path and list.from_cache.
torch::Tensor corpus_embeddings(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                                const text::Tokenizer& tok, const fs::path& model_dir, const fs::path& adapter_dir,
                                const std::vector<std::string>& corpus, const fs::path& corpus_path,
                                gen::EncodeMode corpus_mode, const NeighborsOptions& opt, NeighborList& list) {
  const fs::path cache_dir = opt.cache_dir.empty() ? fs::path(corpus_path.string() + ".genlens-cache") : opt.cache_dir;
  const auto* ad = corpus_mode == gen::EncodeMode::Generative ? adapter : nullptr;
  const fs::path ad_dir = corpus_mode == gen::EncodeMode::Generative ? adapter_dir : fs::path();
  const auto key = corpus_cache_key(lm, model_dir, ad_dir, gen::to_string(corpus_mode), opt.corpus_instruction,
                                    opt.max_length, corpus);
  list.cache_path = (cache_dir / (gen::to_string(corpus_mode) + "-" + key + ".npy")).string();
  torch::Tensor emb;
  if (opt.use_cache && fs::exists(list.cache_path)) {
    emb = io::load_npy(list.cache_path);
    if (emb.dim() != 2 || emb.size(0) != static_cast<int64_t>(corpus.size())) emb = torch::Tensor();
    else list.from_cache = true;
  }
  if (!emb.defined()) {
    gen::EncodeOptions eo;
    eo.mode = corpus_mode;
    eo.batch_size = opt.batch_size;
    eo.max_length = opt.max_length;
    eo.check_cancel = [&] { ctx.check_cancel(); };
    ctx.set_stage(fmt::format("encode corpus ({})", gen::to_string(corpus_mode)), static_cast<int64_t>(corpus.size()),
                  "texts");
    eo.on_progress = [&](int64_t d) { ctx.set_done(d); };
    emb = gen::encode_texts(lm, ad, tok, corpus, opt.corpus_instruction, eo);
    if (opt.use_cache) {
      fs::create_directories(cache_dir);
      io::save_npy(list.cache_path, emb);
    }
  }
  return emb;
}

// The top_k rows of `emb` [N, D] by cosine to `q` [1, D], into list.hits.
void add_hits(const torch::Tensor& emb, const torch::Tensor& q, const std::vector<std::string>& corpus, int64_t top_k,
              NeighborList& list) {
  namespace F = torch::nn::functional;
  auto sims = torch::matmul(F::normalize(emb, F::NormalizeFuncOptions().dim(1)),
                            F::normalize(q, F::NormalizeFuncOptions().dim(1)).t())
                  .squeeze(1);
  auto top = sims.topk(std::min<int64_t>(top_k, sims.size(0)));
  for (int64_t j = 0; j < std::get<0>(top).size(0); ++j) {
    Neighbor n;
    n.index = std::get<1>(top)[j].item<int64_t>();
    n.similarity = std::get<0>(top)[j].item<double>();
    n.text = corpus[static_cast<size_t>(n.index)];
    list.hits.push_back(std::move(n));
  }
}

}  // namespace

NeighborsResult find_neighbors(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                               const text::Tokenizer& tok, const fs::path& model_dir, const fs::path& adapter_dir,
                               const std::vector<std::string>& corpus, const fs::path& corpus_path,
                               const std::string& query, const NeighborsOptions& opt) {
  if (corpus.empty()) fail("{}: the corpus has no texts", corpus_path.string());
  if (opt.top_k < 1) fail("--top-k: expected >= 1, found {}", opt.top_k);
  std::vector<gen::EncodeMode> modes;
  for (const auto& m : opt.modes) {
    modes.push_back(gen::parse_encode_mode(m));
    if (modes.back() == gen::EncodeMode::Generative && !adapter)
      fail("--modes: generative needs --adapter CKPT (or leave it out: --modes mean,last,hyde)");
  }
  if (modes.empty()) fail("--modes: give at least one of generative, mean, last, hyde");

  NeighborsResult res;
  res.query = query;
  torch::NoGradGuard ng;
  for (size_t mi = 0; mi < modes.size(); ++mi) {
    const auto mode = modes[mi];
    // HyDE generates for the query only; the corpus is embedded as it is (mean pooling).
    const auto corpus_mode = mode == gen::EncodeMode::Hyde ? gen::EncodeMode::Mean : mode;
    NeighborList list;
    list.mode = gen::to_string(mode);
    auto emb = corpus_embeddings(ctx, lm, adapter, tok, model_dir, adapter_dir, corpus, corpus_path, corpus_mode, opt,
                                 list);
    ctx.set_stage(fmt::format("encode query ({})", gen::to_string(mode)), 1, "texts");
    gen::EncodeOptions eo;
    eo.mode = mode;
    eo.batch_size = opt.batch_size;
    eo.max_length = opt.max_length;
    eo.check_cancel = [&] { ctx.check_cancel(); };
    auto q = gen::encode_texts(lm, mode == gen::EncodeMode::Generative ? adapter : nullptr, tok, {query},
                               opt.instruction, eo);
    ctx.set_done(1);
    add_hits(emb, q, corpus, opt.top_k, list);
    res.per_mode.push_back(std::move(list));
  }
  return res;
}

NeighborList neighbors_of_embedding(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                                    const text::Tokenizer& tok, const fs::path& model_dir, const fs::path& adapter_dir,
                                    const std::vector<std::string>& corpus, const fs::path& corpus_path,
                                    const std::vector<float>& embedding, const std::string& mode,
                                    const NeighborsOptions& opt) {
  if (corpus.empty()) fail("{}: the corpus has no texts", corpus_path.string());
  if (opt.top_k < 1) fail("--top-k: expected >= 1, found {}", opt.top_k);
  const auto m = gen::parse_encode_mode(mode);
  if (m == gen::EncodeMode::Hyde) fail("neighbors of an embedding: mode hyde has no corpus space of its own (use mean)");
  if (m == gen::EncodeMode::Generative && !adapter) fail("neighbors in the generative space need --adapter CKPT");
  torch::NoGradGuard ng;
  NeighborList list;
  list.mode = gen::to_string(m);
  auto emb = corpus_embeddings(ctx, lm, adapter, tok, model_dir, adapter_dir, corpus, corpus_path, m, opt, list);
  if (static_cast<int64_t>(embedding.size()) != emb.size(1))
    fail("neighbors of an embedding: it has {} dimensions but the corpus's {} embeddings have {}", embedding.size(),
         list.mode, emb.size(1));
  auto q = torch::tensor(embedding, torch::kFloat32).unsqueeze(0);
  add_hits(emb, q, corpus, opt.top_k, list);
  return list;
}

}  // namespace genlens::analysis
