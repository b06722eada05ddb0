// An opened latent index: shards memory-mapped, entry text read per hit, and the top-k
// search (exact blocked products, or hnswlib with a layer filter).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>

#include "core/analysis/ann_index.h"
#include "core/analysis/latent_index.h"
#include "core/analysis/latent_index_state.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace fs = std::filesystem;
using json = nlohmann::json;
using torch::Tensor;

SearchKind parse_search_kind(const std::string& s) {
  if (s == "auto") return SearchKind::Auto;
  if (s == "exact") return SearchKind::Exact;
  if (s == "hnsw") return SearchKind::Hnsw;
  fail("--search: expected auto, exact or hnsw, found \"{}\"", s);
}

struct LatentIndex::Impl {
  fs::path dir;
  LatentIndexInfo info;
  struct Shard {
    std::shared_ptr<io::SafetensorsFile> file;
    Tensor vectors, token_ids, rows, positions, layers;  // layers: int32
    int64_t first = 0, n = 0;
  };
  std::vector<Shard> shards;
  std::vector<uint64_t> line_offsets;  // entries.jsonl byte offset of each entry
  mutable std::mutex mu;
  mutable std::unique_ptr<AnnIndex> ann;

  const Shard& shard_of(int64_t e) const {
    auto it = std::upper_bound(shards.begin(), shards.end(), e, [](int64_t v, const Shard& s) { return v < s.first; });
    return *(it - 1);
  }
  // The LLM layer of entry `e`, from the shard in memory (the layer filter asks this of
  // every approximate candidate).
  int32_t layer_of(int64_t e) const {
    const auto& s = shard_of(e);
    return s.layers.data_ptr<int32_t>()[e - s.first];
  }
};

LatentIndex::LatentIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LatentIndex::~LatentIndex() = default;

std::unique_ptr<LatentIndex> LatentIndex::open(const fs::path& dir) {
  const auto state = LatentIndexState::read(dir);
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->info = state.info(dir);
  if (!impl->info.complete)
    fail("{}: the index build has not finished (rerun the same `genlens latent-index` command to resume it)",
         dir.string());
  int64_t first = 0;
  for (const auto& s : state.shards) {
    Impl::Shard sh;
    auto path = dir / s.file;
    sh.file = io::SafetensorsFile::open(path);
    sh.vectors = sh.file->get("vectors");
    sh.token_ids = sh.file->get("token_ids");
    sh.rows = sh.file->get("rows");
    sh.positions = sh.file->get("positions");
    sh.layers = sh.file->get("layers").to(torch::kInt32).contiguous();  // no copy when the file holds int32
    sh.n = sh.vectors.size(0);
    if (sh.n != s.n || sh.vectors.size(1) != impl->info.hidden)
      fail("{}: expected {} x {} vectors, found {} x {}", path.string(), s.n, impl->info.hidden, sh.n,
           sh.vectors.size(1));
    if (sh.layers.size(0) != sh.n)
      fail("{}: expected {} layers, found {}", path.string(), sh.n, sh.layers.size(0));
    sh.first = first;
    first += sh.n;
    impl->shards.push_back(std::move(sh));
  }
  if (first != impl->info.n_entries)
    fail("{}: index.json says {} entries, the shards hold {}", dir.string(), impl->info.n_entries, first);
  // Line offsets of entries.jsonl (the text is read on demand, per hit).
  std::ifstream f(dir / "entries.jsonl", std::ios::binary);
  if (!f) fail("{}: missing entries.jsonl", dir.string());
  uint64_t off = 0;
  std::string line;
  while (std::getline(f, line)) {
    impl->line_offsets.push_back(off);
    off += line.size() + 1;
  }
  if (static_cast<int64_t>(impl->line_offsets.size()) < first)
    fail("{}: entries.jsonl has {} lines, the shards hold {} entries", dir.string(), impl->line_offsets.size(), first);
  return std::unique_ptr<LatentIndex>(new LatentIndex(std::move(impl)));
}

const LatentIndexInfo& LatentIndex::info() const { return impl_->info; }
int64_t LatentIndex::size() const { return impl_->info.n_entries; }
int64_t LatentIndex::dim() const { return impl_->info.hidden; }

std::vector<float> LatentIndex::vector(int64_t e) const {
  if (e < 0 || e >= size()) fail("latent index: entry {} is out of range (0..{})", e, size() - 1);
  const auto& s = impl_->shard_of(e);
  auto v = s.vectors[e - s.first].contiguous();
  return std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
}

LatentHit LatentIndex::hit(int64_t e, float similarity) const {
  if (e < 0 || e >= size()) fail("latent index: entry {} is out of range (0..{})", e, size() - 1);
  const auto& s = impl_->shard_of(e);
  const int64_t i = e - s.first;
  LatentHit h;
  h.entry = e;
  h.similarity = similarity;
  h.token_id = s.token_ids[i].item<int32_t>();
  h.row = s.rows[i].item<int64_t>();
  h.position = s.positions[i].item<int32_t>();
  h.layer = s.layers[i].item<int32_t>();
  std::ifstream f(impl_->dir / "entries.jsonl", std::ios::binary);
  f.seekg(static_cast<std::streamoff>(impl_->line_offsets[static_cast<size_t>(e)]));
  std::string line;
  std::getline(f, line);
  auto j = json::parse(line, nullptr, false);
  if (!j.is_discarded()) {
    h.token_text = j.value("text", "");
    h.context = j.value("context", "");
  }
  return h;
}

std::vector<std::vector<std::pair<int64_t, float>>> LatentIndex::search(const std::vector<float>& queries, int64_t nq,
                                                                        int64_t k, int64_t layer, SearchKind kind,
                                                                        int64_t ef) const {
  const int64_t D = dim();
  if (nq < 1 || static_cast<int64_t>(queries.size()) != nq * D)
    fail("latent index: expected {} queries of dimension {}, found {} values", nq, D, queries.size());
  if (k < 1) fail("--top-k: expected >= 1, found {}", k);
  if (layer >= 0 && std::find(info().layers.begin(), info().layers.end(), layer) == info().layers.end())
    fail("--index-layer: layer {} is not in the index (it holds layers {})", layer, fmt::join(info().layers, ", "));
  torch::NoGradGuard ng;
  auto Q = torch::nn::functional::normalize(
      torch::from_blob(const_cast<float*>(queries.data()), {nq, D}, torch::kFloat32).clone(),
      torch::nn::functional::NormalizeFuncOptions().dim(1));
  if (kind == SearchKind::Auto) kind = info().has_hnsw && size() >= 100000 ? SearchKind::Hnsw : SearchKind::Exact;
  std::vector<std::vector<std::pair<int64_t, float>>> out(static_cast<size_t>(nq));
  if (kind == SearchKind::Hnsw) {
    if (!info().has_hnsw)
      fail("{}: this index has no hnsw.bin (build it with `genlens latent-index` without --no-hnsw, or use --search exact)",
           impl_->dir.string());
    {
      std::lock_guard<std::mutex> lk(impl_->mu);
      if (!impl_->ann) impl_->ann = AnnIndex::load(impl_->dir / "hnsw.bin", D);
    }
    // A layer filter oversamples (one layer holds about 1/n of the entries) and filters.
    const int64_t want = layer < 0 ? k : k * static_cast<int64_t>(info().layers.size()) * 4;
    for (int64_t q = 0; q < nq; ++q) {
      auto hits = impl_->ann->search(Q[q].data_ptr<float>(), std::min(want, size()), std::max(ef, want));
      for (auto& [e, sim] : hits) {
        if (layer >= 0 && impl_->layer_of(e) != layer) continue;
        out[static_cast<size_t>(q)].emplace_back(e, sim);
        if (static_cast<int64_t>(out[static_cast<size_t>(q)].size()) == k) break;
      }
    }
    return out;
  }
  // Exact: blocked products over the memory-mapped shards, a running top-k.
  Tensor best_v = torch::empty({nq, 0}), best_i = torch::empty({nq, 0}, torch::kLong);
  constexpr int64_t kBlock = 65536;
  for (const auto& s : impl_->shards) {
    for (int64_t b = 0; b < s.n; b += kBlock) {
      const int64_t c = std::min(kBlock, s.n - b);
      auto sims = torch::matmul(Q, s.vectors.narrow(0, b, c).t());
      if (layer >= 0) {
        auto wrong = s.layers.narrow(0, b, c).ne(static_cast<int32_t>(layer));
        sims.masked_fill_(wrong.unsqueeze(0), -std::numeric_limits<float>::infinity());
      }
      auto top = sims.topk(std::min(k, c), 1);
      auto v = torch::cat({best_v, std::get<0>(top)}, 1);
      auto i = torch::cat({best_i, std::get<1>(top) + (s.first + b)}, 1);
      auto m = v.topk(std::min<int64_t>(k, v.size(1)), 1);
      best_v = std::get<0>(m);
      best_i = i.gather(1, std::get<1>(m));
    }
  }
  auto va = best_v.accessor<float, 2>();
  auto ia = best_i.accessor<int64_t, 2>();
  for (int64_t q = 0; q < nq; ++q)
    for (int64_t j = 0; j < best_v.size(1); ++j)
      if (std::isfinite(va[q][j])) out[static_cast<size_t>(q)].emplace_back(ia[q][j], va[q][j]);
  return out;
}

}  // namespace genlens::analysis
