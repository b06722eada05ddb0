#include "core/analysis/latent_index.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <fstream>
#include <limits>
#include <optional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/analysis/ann_index.h"
#include "core/analysis/layer_state.h"
#include "core/gen/checkpoint.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/safetensors.h"
#include "core/model/decoder_lm.h"
#include "core/model/padding.h"
#include "core/runtime/job.h"
#include "core/text/readable_piece.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace fs = std::filesystem;
using json = nlohmann::json;
using torch::Tensor;

namespace {

constexpr const char* kFormat = "genlens-latent-index";
constexpr int kVersion = 1;

std::string shard_name(size_t i) { return fmt::format("shard-{:05d}.safetensors", i); }

// The settings a resumed build must share with the stopped one.
json settings_json(const LatentIndexSpec& s, const std::vector<int64_t>& layers, const std::string& corpus_hash) {
  return {{"corpus", fs::absolute(s.corpus).string()}, {"corpus_hash", corpus_hash}, {"field", s.field},
          {"layers", layers},           {"max_per_token", s.max_per_token},
          {"max_tokens_per_row", s.max_tokens_per_row}, {"context_chars", s.context_chars},
          {"max_rows", s.max_rows}};
}

// Texts of the corpus: `field`, else "text", else "question".
std::vector<std::string> read_corpus(const fs::path& path, const std::string& field, int64_t max_rows) {
  io::JsonlReader r(path);
  std::vector<std::string> out;
  io::Json row;
  while (r.next(row)) {
    std::optional<std::string> t;
    for (const std::string& f : {field, std::string("text"), std::string("question")})
      if ((t = r.get_string_opt(row, f))) break;
    if (!t) fail("{}: expected a string field \"{}\" (or \"text\" / \"question\")", r.where(), field);
    out.push_back(std::move(*t));
    if (max_rows > 0 && static_cast<int64_t>(out.size()) >= max_rows) break;
  }
  if (out.empty()) fail("{}: no rows", path.string());
  return out;
}

std::string hash_texts(const std::vector<std::string>& texts) {
  uint64_t h = gen::fnv1a64("", 0);
  for (const auto& t : texts) {
    h = gen::fnv1a64(t.data(), t.size(), h);
    h = gen::fnv1a64("\n", 1, h);
  }
  return gen::hex64(h);
}

// The tail of `text` ending at byte `end`, at most `chars` bytes, cut on a UTF-8 boundary.
std::string context_before(const std::string& text, size_t end, int64_t chars) {
  end = std::min(end, text.size());
  size_t b = end > static_cast<size_t>(chars) ? end - static_cast<size_t>(chars) : 0;
  while (b < end && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) ++b;
  return (b > 0 ? "…" : "") + text.substr(b, end - b);
}

// Which tokens of a row enter the index: not special, prefix not seen before, token
// below its cap. Deterministic in the row order, so a resumed build replays it exactly.
struct Selector {
  int64_t max_per_token;
  std::unordered_set<uint64_t> prefixes;
  std::unordered_map<int32_t, int64_t> per_token;
  std::vector<size_t> select(const text::Tokenizer& tok, const std::vector<int32_t>& ids) {
    std::vector<size_t> keep;
    uint64_t h = gen::fnv1a64("", 0);
    for (size_t j = 0; j < ids.size(); ++j) {
      h = gen::fnv1a64(&ids[j], sizeof(int32_t), h);
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

struct Buffer {
  std::vector<float> vectors;
  std::vector<int32_t> token_ids, positions, layers;
  std::vector<int64_t> rows;
  std::string jsonl;
  int64_t size() const { return static_cast<int64_t>(token_ids.size()); }
};

LatentIndexInfo info_from_json(const json& j, const fs::path& dir) {
  LatentIndexInfo info;
  info.dir = dir.string();
  info.n_entries = j.value("n_entries", int64_t{0});
  info.hidden = j.value("hidden", int64_t{0});
  info.layers = j.value("layers", std::vector<int64_t>{});
  info.n_rows = j.value("n_rows", int64_t{0});
  info.complete = j.value("complete", false);
  info.has_hnsw = j.value("has_hnsw", false);
  if (j.contains("model")) {
    info.model_path = j["model"].value("path", "");
    info.weights_fingerprint = j["model"].value("weights_fingerprint", "");
  }
  return info;
}

json read_index_json(const fs::path& dir) {
  auto p = dir / "index.json";
  if (!fs::exists(p)) fail("{}: not a latent index (no index.json; build one with `genlens latent-index`)", dir.string());
  auto j = io::read_json_file(p);
  if (j.value("format", "") != kFormat)
    fail("{}: field format: expected \"{}\", found {}", p.string(), kFormat, j.value("format", std::string("none")));
  if (j.value("version", 0) != kVersion)
    fail("{}: field version: expected {}, found {}", p.string(), kVersion, j.value("version", 0));
  return j;
}

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

SearchKind parse_search_kind(const std::string& s) {
  if (s == "auto") return SearchKind::Auto;
  if (s == "exact") return SearchKind::Exact;
  if (s == "hnsw") return SearchKind::Hnsw;
  fail("--search: expected auto, exact or hnsw, found \"{}\"", s);
}

LatentIndexInfo read_latent_index_info(const fs::path& dir) { return info_from_json(read_index_json(dir), dir); }

namespace {
// hnsw.bin over the committed shards (when asked for), then index.json marked complete.
LatentIndexInfo finish_index(runtime::JobContext& ctx, const LatentIndexSpec& spec, json& state);
}  // namespace

LatentIndexInfo build_latent_index(runtime::JobContext& ctx, const model::DecoderLM& lm, const text::Tokenizer& tok,
                                   const fs::path& model_dir, const LatentIndexSpec& spec) {
  const int64_t L = lm.config().num_hidden_layers, H = lm.config().hidden_size;
  std::vector<int64_t> layers = spec.layers.empty() ? default_index_layers(L) : spec.layers;
  for (auto l : layers)
    if (l < 0 || l > L) fail("--layers: layer {} is out of range: the model has layers 0..{}", l, L);
  if (spec.max_per_token < 1) fail("--max-per-token: expected >= 1, found {}", spec.max_per_token);
  if (spec.batch_size < 1) fail("--batch-size: expected >= 1, found {}", spec.batch_size);
  ctx.set_stage("read corpus");
  auto texts = read_corpus(spec.corpus, spec.field, spec.max_rows);
  const json settings = settings_json(spec, layers, hash_texts(texts));
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
  json state{{"format", kFormat},          {"version", kVersion},
             {"hidden", H},                {"layers", layers},
             {"n_entries", 0},             {"n_rows", n_texts},
             {"rows_done", row_begin},     {"entries_bytes", 0},
             {"complete", false},          {"has_hnsw", false},
             {"model", identity.to_json()}, {"settings", settings},
             {"shards", json::array()}};
  if (is_part) state["part"] = {{"part", spec.part}, {"parts", spec.parts}, {"row_begin", row_begin}, {"row_end", row_end}};
  fs::create_directories(spec.out);
  const auto index_json = spec.out / "index.json";
  if (fs::exists(index_json)) {
    auto old = read_index_json(spec.out);
    if (!spec.resume)
      fail("{}: an index is already there; pick another --out or remove it", spec.out.string());
    if (old["settings"] != settings || old["model"].value("weights_fingerprint", "") != identity.weights_fingerprint ||
        old.value("part", json()) != state.value("part", json()))
      fail("{}: an index built with other settings, corpus or model is already there; remove it or pick another --out "
           "(found settings {}, now {})",
           index_json.string(), old["settings"].dump(), settings.dump());
    if (old.value("complete", false)) return info_from_json(old, spec.out);
    state = old;
  }
  const auto entries_path = spec.out / "entries.jsonl";
  if (fs::exists(entries_path)) io::truncate_file(entries_path, state["entries_bytes"].get<uint64_t>());  // past the last commit
  else std::ofstream(entries_path, std::ios::binary);
  const int64_t rows_done = state["rows_done"].get<int64_t>();

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
      const size_t shard = state["shards"].size();
      const int64_t n = buf.size();
      io::save_safetensors(spec.out / shard_name(shard),
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
      state["shards"].push_back({{"file", shard_name(shard)}, {"n", n}});
      state["n_entries"] = state["n_entries"].get<int64_t>() + n;
      state["entries_bytes"] = state["entries_bytes"].get<uint64_t>() + buf.jsonl.size();
      buf = Buffer{};
    }
    state["rows_done"] = rows_now;
    io::write_file_atomic(index_json, state.dump(1));
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
            const int64_t e = state["n_entries"].get<int64_t>() + buf.size();
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
    state["complete"] = true;
    io::write_file_atomic(index_json, state.dump(1));
    return info_from_json(state, spec.out);
  }
  return finish_index(ctx, spec, state);
}

LatentIndexInfo merge_latent_index_parts(runtime::JobContext& ctx, const LatentIndexSpec& spec,
                                         const std::vector<fs::path>& parts) {
  if (parts.empty()) fail("latent-index: no parts to merge");
  const auto index_json = spec.out / "index.json";
  // (A merged index.json, finished or not, is the one-process build's to finish.)
  if (fs::exists(index_json)) fail("{}: an index is already there; the parts are not merged over it", index_json.string());
  ctx.set_stage("merge", static_cast<int64_t>(parts.size()), "parts");
  std::vector<json> heads;
  for (size_t k = 0; k < parts.size(); ++k) {
    auto h = read_index_json(parts[k]);
    const auto part = h.value("part", json());
    if (!h.value("complete", false) || part.value("part", -1) != static_cast<int>(k) ||
        part.value("parts", -1) != static_cast<int>(parts.size()))
      fail("{}: not the finished part {} of {} of this build", parts[k].string(), k, parts.size());
    if (k > 0 && (h["settings"] != heads.front()["settings"] || h["model"] != heads.front()["model"]))
      fail("{}: built with other settings or another model than {}", parts[k].string(), parts[0].string());
    heads.push_back(std::move(h));
  }
  // The one-process state, filled part by part.
  json state = heads.front();
  state.erase("part");
  state["n_entries"] = 0;
  state["entries_bytes"] = 0;
  state["rows_done"] = state["n_rows"];
  state["complete"] = false;
  state["has_hnsw"] = false;
  state["shards"] = json::array();
  fs::create_directories(spec.out);
  // entries.jsonl streams into a temporary file, renumbered part by part, and is renamed
  // into place when whole: memory stays one line, whatever the index's size.
  int64_t first = 0;
  uint64_t entries_bytes = 0;
  io::write_file_atomic_with(spec.out / "entries.jsonl", [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    for (size_t k = 0; k < parts.size(); ++k) {
      ctx.check_cancel();
      for (const auto& sh : heads[k]["shards"]) {
        const auto name = shard_name(state["shards"].size());
        const auto shard_tmp = spec.out / (name + ".merge-tmp");
        fs::copy_file(parts[k] / sh["file"].get<std::string>(), shard_tmp, fs::copy_options::overwrite_existing);
        fs::rename(shard_tmp, spec.out / name);
        state["shards"].push_back({{"file", name}, {"n", sh["n"]}});
      }
      std::ifstream f(parts[k] / "entries.jsonl", std::ios::binary);
      int64_t n = 0;
      for (std::string line; std::getline(f, line);) {
        if (line.empty()) continue;
        auto e = json::parse(line);
        e["e"] = first + n++;
        const std::string row = e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        out.write(row.data(), static_cast<std::streamsize>(row.size()));
        entries_bytes += row.size();
      }
      if (n != heads[k]["n_entries"].get<int64_t>())
        fail("{}: entries.jsonl holds {} entries, index.json says {}", parts[k].string(), n,
             heads[k]["n_entries"].get<int64_t>());
      first += n;
      ctx.advance();
    }
    out.close();
    if (!out) fail("{}: could not write the merged entries (disk full?)", (spec.out / "entries.jsonl").string());
  });
  state["n_entries"] = first;
  state["entries_bytes"] = entries_bytes;
  io::write_file_atomic(index_json, state.dump(1));
  auto info = finish_index(ctx, spec, state);
  std::error_code ec;
  for (auto& p : parts) fs::remove_all(p, ec);
  return info;
}

namespace {
LatentIndexInfo finish_index(runtime::JobContext& ctx, const LatentIndexSpec& spec, json& state) {
  const auto index_json = spec.out / "index.json";
  const int64_t H = state["hidden"].get<int64_t>();
  if (spec.hnsw && state["n_entries"].get<int64_t>() > 0) {
    const int64_t n = state["n_entries"].get<int64_t>();
    ctx.set_stage("hnsw", n, "entries");
    AnnIndex ann(H, n, spec.hnsw_m, spec.hnsw_ef_construction);
    int64_t first = 0;
    const int threads = std::max(1u, std::thread::hardware_concurrency());
    for (const auto& s : state["shards"]) {
      auto f = io::SafetensorsFile::open(spec.out / s["file"].get<std::string>());
      auto v = f->get("vectors").contiguous();
      const int64_t m = v.size(0);
      for (int64_t b = 0; b < m; b += 4096) {
        ctx.check_cancel();
        const int64_t c = std::min<int64_t>(4096, m - b);
        ann.add_batch(v.data_ptr<float>() + b * H, c, first + b, threads);
        ctx.advance(c);
      }
      first += m;
    }
    ann.save(spec.out / "hnsw.bin");
    state["has_hnsw"] = true;
  }
  state["complete"] = true;
  io::write_file_atomic(index_json, state.dump(1));
  return info_from_json(state, spec.out);
}
}  // namespace

// ---- the opened index -------------------------------------------------------------------

struct LatentIndex::Impl {
  fs::path dir;
  LatentIndexInfo info;
  struct Shard {
    std::shared_ptr<io::SafetensorsFile> file;
    Tensor vectors, token_ids, rows, positions, layers;
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
};

LatentIndex::LatentIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LatentIndex::~LatentIndex() = default;

std::unique_ptr<LatentIndex> LatentIndex::open(const fs::path& dir) {
  auto j = read_index_json(dir);
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->info = info_from_json(j, dir);
  if (!impl->info.complete)
    fail("{}: the index build has not finished (rerun the same `genlens latent-index` command to resume it)",
         dir.string());
  int64_t first = 0;
  for (const auto& s : j["shards"]) {
    Impl::Shard sh;
    auto path = dir / s["file"].get<std::string>();
    sh.file = io::SafetensorsFile::open(path);
    sh.vectors = sh.file->get("vectors");
    sh.token_ids = sh.file->get("token_ids");
    sh.rows = sh.file->get("rows");
    sh.positions = sh.file->get("positions");
    sh.layers = sh.file->get("layers");
    sh.n = sh.vectors.size(0);
    if (sh.n != s["n"].get<int64_t>() || sh.vectors.size(1) != impl->info.hidden)
      fail("{}: expected {} x {} vectors, found {} x {}", path.string(), s["n"].get<int64_t>(), impl->info.hidden,
           sh.n, sh.vectors.size(1));
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
        if (layer >= 0 && hit(e, sim).layer != layer) continue;
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
