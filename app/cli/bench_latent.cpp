// `genlens bench latent-index`: the approximate latent-lens index at a stated size and
// dimension (random clustered unit vectors, as hidden states of one token in many contexts
// look): hnswlib build time and bytes per entry, extrapolated to 1M entries, and query
// time and recall@10 next to the same-run baseline, exact search by blocked products.
#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "app/cli/bench.h"
#include "core/analysis/ann_index.h"
#include "core/io/safetensors.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

struct Opts {
  int64_t entries = 100000, dim = 1024, queries = 100, clusters = 2000;
  int m = 16, ef_construction = 100, ef = 200, threads = 0;
};

std::function<int()> setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--entries", o->entries, "Index entries")->capture_default_str();
  sub.add_option("--dim", o->dim, "Vector dimension (the model's hidden size; Qwen3-0.6B: 1024)")->capture_default_str();
  sub.add_option("--queries", o->queries, "Timed queries")->capture_default_str();
  sub.add_option("--m", o->m, "hnswlib M")->capture_default_str();
  sub.add_option("--ef-construction", o->ef_construction, "hnswlib ef_construction")->capture_default_str();
  sub.add_option("--ef", o->ef, "hnswlib search ef")->capture_default_str();
  sub.add_option("--threads", o->threads, "Build threads (0 = all cores)")->capture_default_str();
  return [o]() -> int {
    const int64_t n = o->entries, d = o->dim, nq = o->queries;
    const int threads = o->threads > 0 ? o->threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.f, 1.f);
    std::vector<float> centers(static_cast<size_t>(o->clusters * d));
    for (auto& c : centers) c = g(rng);
    auto make = [&](int64_t rows) {
      std::vector<float> out(static_cast<size_t>(rows * d));
      for (int64_t i = 0; i < rows; ++i) {
        const auto c = static_cast<int64_t>(rng() % static_cast<uint64_t>(o->clusters));
        double norm = 0;
        float* row = out.data() + i * d;
        for (int64_t k = 0; k < d; ++k) {
          row[k] = centers[static_cast<size_t>(c * d + k)] + 0.5f * g(rng);
          norm += static_cast<double>(row[k]) * row[k];
        }
        for (int64_t k = 0; k < d; ++k) row[k] /= static_cast<float>(std::sqrt(norm));
      }
      return out;
    };
    auto base = make(n);
    auto qs = make(nq);
    fmt::print("latent index: {} random clustered unit vectors of dimension {}, {} build threads\n", n, d, threads);

    auto dir = fs::temp_directory_path() / ("genlens-bench-latent-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto t0 = Clock::now();
    io::save_safetensors(dir / "shard.safetensors",
                         {{"vectors", torch::from_blob(base.data(), {n, d}, torch::kFloat32)}});
    const double write_s = secs(t0);
    const auto shard_bytes = fs::file_size(dir / "shard.safetensors");

    t0 = Clock::now();
    analysis::AnnIndex ann(d, n, o->m, o->ef_construction);
    ann.add_batch(base.data(), n, 0, threads);
    const double build_s = secs(t0);
    ann.save(dir / "hnsw.bin");
    const auto hnsw_bytes = fs::file_size(dir / "hnsw.bin");

    t0 = Clock::now();
    auto exact = analysis::exact_topk(base.data(), n, qs.data(), nq, d, 10);
    const double exact_s = secs(t0);
    t0 = Clock::now();
    std::vector<std::vector<std::pair<int64_t, float>>> approx;
    for (int64_t q = 0; q < nq; ++q) approx.push_back(ann.search(qs.data() + q * d, 10, o->ef));
    const double hnsw_s = secs(t0);
    const double recall = analysis::recall_at_k(approx, exact, 10);
    fs::remove_all(dir);

    // hnsw insertion costs about log(n) per entry: scale by (1M / n) * log(1M) / log(n).
    const double scale = 1e6 / static_cast<double>(n) * std::log(1e6) / std::log(static_cast<double>(n));
    fmt::print("  vectors (safetensors)  {:.1f} MB = {:.0f} B/entry, written in {:.2f} s\n", shard_bytes / 1e6,
               static_cast<double>(shard_bytes) / n, write_s);
    fmt::print("  hnsw.bin (M={})        {:.1f} MB = {:.0f} B/entry, built in {:.2f} s ({:.0f} entries/s)\n", o->m,
               hnsw_bytes / 1e6, static_cast<double>(hnsw_bytes) / n, build_s, n / build_s);
    fmt::print("  per 1M entries         vectors {:.2f} GB + hnsw {:.2f} GB (+ entries.jsonl, ~150-250 B/entry); hnsw build "
               "~{:.0f} s (extrapolated n·log n from {} entries)\n",
               static_cast<double>(shard_bytes) / n * 1e6 / 1e9, static_cast<double>(hnsw_bytes) / n * 1e6 / 1e9,
               build_s * scale, n);
    fmt::print("  query top-10           exact {:.2f} ms/query (baseline) | hnsw ef={} {:.3f} ms/query = {:.1f}x faster, "
               "recall@10 {:.3f}\n",
               exact_s / nq * 1e3, o->ef, hnsw_s / nq * 1e3, exact_s / std::max(hnsw_s, 1e-9), recall);
    return 0;
  };
}

RegisterBench reg({"latent-index", "hnswlib build time, disk bytes and recall vs exact search per 1M entries", setup});

}  // namespace
}  // namespace genlens::cli
