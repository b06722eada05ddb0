#include "core/analysis/latent_index_finish.h"

#include <algorithm>
#include <thread>

#include "core/analysis/ann_index.h"
#include "core/io/safetensors.h"
#include "core/runtime/job.h"

namespace genlens::analysis {

LatentIndexInfo finish_latent_index(runtime::JobContext& ctx, const LatentIndexSpec& spec, LatentIndexState& state) {
  const int64_t H = state.hidden;
  if (spec.hnsw && state.n_entries > 0) {
    const int64_t n = state.n_entries;
    ctx.set_stage("hnsw", n, "entries");
    AnnIndex ann(H, n, spec.hnsw_m, spec.hnsw_ef_construction);
    int64_t first = 0;
    const int threads = std::max(1u, std::thread::hardware_concurrency());
    for (const auto& s : state.shards) {
      auto f = io::SafetensorsFile::open(spec.out / s.file);
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
    state.has_hnsw = true;
  }
  state.complete = true;
  state.write(spec.out);
  return state.info(spec.out);
}

}  // namespace genlens::analysis
