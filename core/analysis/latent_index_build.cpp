// The one-process latent-index build (and each part of a sharded one): corpus rows in
// batches through the frozen LLM, the selected tokens' states at the chosen layers
// committed shard by shard, resumable from index.json.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <unordered_map>
#include <unordered_set>

#include "core/analysis/latent_index.h"
#include "core/analysis/latent_index_finish.h"
#include "core/analysis/latent_index_state.h"
#include "core/analysis/layer_state.h"
#include "core/data/corpus.h"
#include "core/util/hash.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/safetensors.h"
#include "core/model/decoder_lm.h"
#include "core/model/padding.h"
#include "core/runtime/job.h"
#include "core/text/readable_piece.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/util/error.h"
#include "core/util/utf8.h"

namespace genlens::analysis {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The corpus field the index reads when none is named: a responses.jsonl's answers, a plain
// corpus's "text", a queries file's "question".
const data::TextField kDefaultField{"answer", {"text", "question"}};

std::string hash_texts(const std::vector<std::string>& texts) {
  uint64_t h = util::fnv1a64("", 0);
  for (const auto& t : texts) {
    h = util::fnv1a64(t.data(), t.size(), h);
    h = util::fnv1a64("\n", 1, h);
  }
  return util::hex64(h);
}

// The snippet stored with an entry: at most `chars` bytes of `text` before byte `end`.
std::string context_before(const std::string& text, size_t end, int64_t chars) {
  const std::string_view before = std::string_view(text).substr(0, std::min(end, text.size()));
  return util::clip_tail(before, static_cast<size_t>(chars), "…");
}

// Which tokens of a row enter the index: not special, prefix not seen before, token
// below its cap. Deterministic in the row order, so a resumed build replays it exactly.
struct Selector {
  int64_t max_per_token;
  std::unordered_set<uint64_t> prefixes;
  std::unordered_map<int32_t, int64_t> per_token;
  std::vector<size_t> select(const text::Tokenizer& tok, const std::vector<int32_t>& ids) {
    std::vector<size_t> keep;
    uint64_t h = util::fnv1a64("", 0);
    for (size_t j = 0; j < ids.size(); ++j) {
      h = util::fnv1a64(&ids[j], sizeof(int32_t), h);
      if (tok.is_special(ids[j])) continue;
      if (!prefixes.insert(h).second) continue;  // the same prefix gives the same states
      auto& n = per_token[ids[j]];
      if (n >= max_per_token) continue;
      ++n;
      keep.push_back(j);
    }
    return keep;
  }
};

// Entries since the last commit.
struct Buffer {
  std::vector<float> vectors;
  std::vector<int32_t> token_ids, positions, layers;
  std::vector<int64_t> rows;
  std::string jsonl;
  int64_t size() const { return static_cast<int64_t>(token_ids.size()); }
};

}  // namespace

std::vector<int64_t> default_index_layers(int64_t n) {
  std::vector<int64_t> out;
  for (int64_t l : {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{8}, int64_t{16}, int64_t{24}, n - 2, n - 1})
    if (l >= 1 && l <= n) out.push_back(l);
  if (out.empty()) out.push_back(n);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

LatentIndexInfo build_latent_index(runtime::JobContext& ctx, const model::DecoderLM& lm, const text::Tokenizer& tok,
                                   const fs::path& model_dir, const LatentIndexSpec& spec) {
  const int64_t L = lm.config().num_hidden_layers, H = lm.config().hidden_size;
  std::vector<int64_t> layers = spec.layers.empty() ? default_index_layers(L) : spec.layers;
  for (auto l : layers)
    if (l < 0 || l > L) fail("--layers: layer {} is out of range: the model has layers 0..{}", l, L);
  if (spec.max_per_token < 1) fail("--max-per-token: expected >= 1, found {}", spec.max_per_token);
  if (spec.batch_size < 1) fail("--batch-size: expected >= 1, found {}", spec.batch_size);
  ctx.set_stage("read corpus");
  auto texts = data::read_texts(spec.corpus, data::text_field(spec.field, kDefaultField), spec.max_rows);
  const LatentIndexSettings settings{fs::absolute(spec.corpus).string(), hash_texts(texts), spec.field, layers,
                                     spec.max_per_token, spec.max_tokens_per_row, spec.context_chars, spec.max_rows};
  const auto identity = gen::BaseModelIdentity::of(lm, model_dir);
  const int64_t n_texts = static_cast<int64_t>(texts.size());
  const bool is_part = spec.part >= 0;
  if (is_part && !(spec.parts >= 1 && spec.part < spec.parts))
    fail("latent-index: part {} of {} does not exist", spec.part, spec.parts);
  // Parts are cut at batch boundaries, so every batch (and its padding) is the one the
  // one-process build runs: the same vectors to the bit.
  const int64_t n_batches = (n_texts + spec.batch_size - 1) / spec.batch_size;
  const int64_t row_begin = is_part ? std::min(n_texts, n_batches * spec.part / spec.parts * spec.batch_size) : 0;
  const int64_t row_end = is_part ? std::min(n_texts, n_batches * (spec.part + 1) / spec.parts * spec.batch_size) : n_texts;

  // State: a fresh build, or the committed part of a stopped one.
  LatentIndexState state;
  state.hidden = H;
  state.layers = layers;
  state.n_rows = n_texts;
  state.rows_done = row_begin;
  state.model = identity;
  state.settings = settings;
  if (is_part) state.part = LatentIndexPart{spec.part, spec.parts, row_begin, row_end};
  fs::create_directories(spec.out);
  const auto index_json = spec.out / "index.json";
  if (fs::exists(index_json)) {
    auto old = LatentIndexState::read(spec.out);
    if (!spec.resume)
      fail("{}: an index is already there; pick another --out or remove it", spec.out.string());
    if (old.settings != settings || old.model.weights_fingerprint != identity.weights_fingerprint || old.part != state.part)
      fail("{}: an index built with other settings, corpus or model is already there; remove it or pick another --out "
           "(found settings {}, now {})",
           index_json.string(), old.to_json()["settings"].dump(), state.to_json()["settings"].dump());
    if (old.complete) return old.info(spec.out);
    state = old;
  }
  const auto entries_path = spec.out / "entries.jsonl";
  if (fs::exists(entries_path)) io::truncate_file(entries_path, state.entries_bytes);  // past the last commit
  else std::ofstream(entries_path, std::ios::binary);
  const int64_t rows_done = state.rows_done;

  Selector sel{spec.max_per_token, {}, {}};
  auto encode_row = [&](size_t i) {
    auto enc = tok.encode_with_offsets(texts[i], /*add_special=*/true);
    if (spec.max_tokens_per_row > 0 && static_cast<int64_t>(enc.ids.size()) > spec.max_tokens_per_row) {
      enc.ids.resize(static_cast<size_t>(spec.max_tokens_per_row));
      enc.offsets.resize(static_cast<size_t>(spec.max_tokens_per_row));
    }
    return enc;
  };
  if (rows_done > 0) {
    ctx.set_stage("replay", rows_done, "rows");
    for (int64_t i = 0; i < rows_done; ++i) {
      sel.select(tok, encode_row(static_cast<size_t>(i)).ids);
      ctx.advance();
    }
  }

  Buffer buf;
  auto commit = [&](int64_t rows_now) {
    if (buf.size() > 0) {
      const size_t shard = state.shards.size();
      const int64_t n = buf.size();
      io::save_safetensors(spec.out / latent_shard_name(shard),
                           {{"vectors", torch::from_blob(buf.vectors.data(), {n, H}, torch::kFloat32)},
                            {"token_ids", torch::from_blob(buf.token_ids.data(), {n}, torch::kInt32)},
                            {"rows", torch::from_blob(buf.rows.data(), {n}, torch::kLong)},
                            {"positions", torch::from_blob(buf.positions.data(), {n}, torch::kInt32)},
                            {"layers", torch::from_blob(buf.layers.data(), {n}, torch::kInt32)}});
      std::ofstream f(entries_path, std::ios::app | std::ios::binary);
      f << buf.jsonl;
      f.close();
      if (!f) fail("{}: could not append the entries", entries_path.string());
      io::fsync_path(entries_path);
      state.shards.push_back({latent_shard_name(shard), n});
      state.n_entries += n;
      state.entries_bytes += buf.jsonl.size();
      buf = Buffer{};
    }
    state.rows_done = rows_now;
    state.write(spec.out);
  };

  ctx.set_stage("index", row_end - row_begin, "rows", rows_done - row_begin);
  auto last_commit = std::chrono::steady_clock::now();
  torch::NoGradGuard ng;
  model::ForwardOptions fo;
  fo.output_hidden_states = true;
  for (int64_t start = rows_done; start < row_end; start += spec.batch_size) {
    ctx.check_cancel();
    const int64_t end = std::min<int64_t>(row_end, start + spec.batch_size);
    std::vector<text::Encoding> encs;
    std::vector<std::vector<size_t>> keep;
    std::vector<std::vector<int32_t>> rows;
    for (int64_t i = start; i < end; ++i) {
      encs.push_back(encode_row(static_cast<size_t>(i)));
      keep.push_back(sel.select(tok, encs.back().ids));
      rows.push_back(encs.back().ids);
    }
    bool any = false;
    for (auto& k : keep) any = any || !k.empty();
    if (any) {
      auto pb = model::left_pad(rows, 0, lm.device());
      auto out = lm.forward(lm.embed(pb.ids), pb.mask, fo);
      const int64_t T = pb.ids.size(1);
      for (size_t b = 0; b < rows.size(); ++b) {
        if (keep[b].empty()) continue;
        const int64_t pad = T - static_cast<int64_t>(rows[b].size());
        std::vector<int64_t> pos;
        for (auto j : keep[b]) pos.push_back(pad + static_cast<int64_t>(j));
        auto idx = torch::tensor(pos, torch::kLong).to(lm.device());
        for (auto layer : layers) {
          auto h = layer_state(lm, out, layer)[static_cast<int64_t>(b)].index_select(0, idx).to(torch::kFloat32);
          h = torch::nn::functional::normalize(h, torch::nn::functional::NormalizeFuncOptions().dim(1)).cpu().contiguous();
          const float* p = h.data_ptr<float>();
          buf.vectors.insert(buf.vectors.end(), p, p + h.numel());
          for (auto j : keep[b]) {
            const int32_t id = rows[b][j];
            const int64_t e = state.n_entries + buf.size();
            const int64_t row = start + static_cast<int64_t>(b);
            buf.token_ids.push_back(id);
            buf.rows.push_back(row);
            buf.positions.push_back(static_cast<int32_t>(j));
            buf.layers.push_back(static_cast<int32_t>(layer));
            json line{{"e", e},
                      {"token", id},
                      {"text", text::readable_piece(tok, id)},
                      {"row", row},
                      {"pos", j},
                      {"layer", layer},
                      {"context", context_before(texts[static_cast<size_t>(row)], encs[b].offsets[j].end,
                                                 spec.context_chars)}};
            buf.jsonl += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
          }
        }
      }
    }
    ctx.set_done(end - row_begin);
    // Commit when a shard is full, and at least every 30 s: rows whose tokens are all
    // capped or deduplicated add no entries, and a kill should not lose a long stretch.
    if (buf.size() >= spec.shard_entries || std::chrono::steady_clock::now() - last_commit > std::chrono::seconds(30)) {
      commit(end);
      last_commit = std::chrono::steady_clock::now();
    }
  }
  commit(row_end);
  if (is_part) {
    state.complete = true;
    state.write(spec.out);
    return state.info(spec.out);
  }
  return finish_latent_index(ctx, spec, state);
}

}  // namespace genlens::analysis
