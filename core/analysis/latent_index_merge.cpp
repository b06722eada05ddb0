// Joining the parts of a sharded latent-index build into the index one process would
// have written: shards copied in order, entries renumbered, then hnsw.bin.
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/analysis/latent_index.h"
#include "core/analysis/latent_index_finish.h"
#include "core/analysis/latent_index_state.h"
#include "core/io/atomic_file.h"
#include "core/runtime/job.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace fs = std::filesystem;
using json = nlohmann::json;

LatentIndexInfo merge_latent_index_parts(runtime::JobContext& ctx, const LatentIndexSpec& spec,
                                         const std::vector<fs::path>& parts) {
  if (parts.empty()) fail("latent-index: no parts to merge");
  const auto index_json = spec.out / "index.json";
  // (A merged index.json, finished or not, is the one-process build's to finish.)
  if (fs::exists(index_json)) fail("{}: an index is already there; the parts are not merged over it", index_json.string());
  ctx.set_stage("merge", static_cast<int64_t>(parts.size()), "parts");
  std::vector<LatentIndexState> heads;
  for (size_t k = 0; k < parts.size(); ++k) {
    auto h = LatentIndexState::read(parts[k]);
    if (!h.complete || !h.part || h.part->part != static_cast<int64_t>(k) ||
        h.part->parts != static_cast<int64_t>(parts.size()))
      fail("{}: not the finished part {} of {} of this build", parts[k].string(), k, parts.size());
    if (k > 0 && (h.settings != heads.front().settings || h.model.to_json() != heads.front().model.to_json()))
      fail("{}: built with other settings or another model than {}", parts[k].string(), parts[0].string());
    heads.push_back(std::move(h));
  }
  // The one-process state, filled part by part.
  LatentIndexState state = heads.front();
  state.part.reset();
  state.n_entries = 0;
  state.entries_bytes = 0;
  state.rows_done = state.n_rows;
  state.complete = false;
  state.has_hnsw = false;
  state.shards.clear();
  fs::create_directories(spec.out);
  // entries.jsonl streams into a temporary file, renumbered part by part, and is renamed
  // into place when whole: memory stays one line, whatever the index's size.
  int64_t first = 0;
  uint64_t entries_bytes = 0;
  io::write_file_atomic_with(spec.out / "entries.jsonl", [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    for (size_t k = 0; k < parts.size(); ++k) {
      ctx.check_cancel();
      for (const auto& sh : heads[k].shards) {
        const auto name = latent_shard_name(state.shards.size());
        const auto shard_tmp = spec.out / (name + ".merge-tmp");
        fs::copy_file(parts[k] / sh.file, shard_tmp, fs::copy_options::overwrite_existing);
        fs::rename(shard_tmp, spec.out / name);
        state.shards.push_back({name, sh.n});
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
      if (n != heads[k].n_entries)
        fail("{}: entries.jsonl holds {} entries, index.json says {}", parts[k].string(), n, heads[k].n_entries);
      first += n;
      ctx.advance();
    }
    out.close();
    if (!out) fail("{}: could not write the merged entries (disk full?)", (spec.out / "entries.jsonl").string());
  });
  state.n_entries = first;
  state.entries_bytes = entries_bytes;
  state.write(spec.out);
  auto info = finish_latent_index(ctx, spec, state);
  std::error_code ec;
  for (auto& p : parts) fs::remove_all(p, ec);
  return info;
}

}  // namespace genlens::analysis
