// `genlens bench umap [--n 10000] [--dim 1024] [--input X.npy]`: our UMAP fit time and
// trustworthiness next to umap-learn's on the same data in the same run
// (tests/bench/umap_bench.py under Debian's /usr/bin/python3; its numba JIT is warmed up
// on a small set first so the figure is the fit, not the compile; seeded and parallel). Both layouts are scored
// by our trustworthiness (scikit-learn's definition, checked against it in the tests).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "app/cli/bench.h"
#include "app/cli/bench_harness.h"
#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/io/npy.h"
#include "core/runtime/job.h"
#include "core/util/error.h"
#include "genlens_paths.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secs(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

struct Opts {
  int64_t n = 10000, dim = 1024;
  std::string input, metric = "cosine", python = "/usr/bin/python3";
  int neighbors = 15, threads = 0;
  uint64_t seed = 0;
  bool no_python = false;
};

// Labelled synthetic embeddings with real structure: 20 classes, each a 10-d Gaussian on
// its own random subspace, class centres along a 3-d curve (as tests/reference/umap_ref.py).
analysis::Points make_blobs(int64_t n, int64_t d, uint32_t seed) {
  const int classes = 20, sub = 10;
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> mix(static_cast<size_t>(3 * d));
  for (auto& v : mix) v = g(rng);
  std::vector<float> centre(static_cast<size_t>(classes * d)), basis(static_cast<size_t>(classes * sub * d));
  for (int c = 0; c < classes; ++c) {
    const double t = 3 * M_PI * c / (classes - 1);
    const double p[3] = {std::cos(t), std::sin(t), t / 3};
    for (int64_t k = 0; k < d; ++k)
      centre[static_cast<size_t>(c * d + k)] =
          2.f * static_cast<float>(p[0] * mix[k] + p[1] * mix[d + k] + p[2] * mix[2 * d + k]);
  }
  const float scale = 3.f / std::sqrt(static_cast<float>(d));
  for (auto& v : basis) v = g(rng) * scale;
  analysis::Points x{n, d, std::vector<float>(static_cast<size_t>(n * d))};
  for (int64_t i = 0; i < n; ++i) {
    const auto c = static_cast<int64_t>(rng() % classes);
    float z[sub];
    for (auto& v : z) v = g(rng);
    float* row = x.data.data() + i * d;
    for (int64_t k = 0; k < d; ++k) {
      float v = centre[static_cast<size_t>(c * d + k)] + 0.05f * g(rng);
      for (int s = 0; s < sub; ++s) v += z[s] * basis[static_cast<size_t>((c * sub + s) * d + k)];
      row[k] = v;
    }
  }
  return x;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void save(const fs::path& p, const analysis::Points& x) {
  io::save_npy(p, torch::from_blob(const_cast<float*>(x.data.data()), {x.rows, x.cols}, torch::kFloat32));
}

int run(const Opts& o) {
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  analysis::Points x = o.input.empty() ? make_blobs(o.n, o.dim, 0) : analysis::to_points(io::load_npy(o.input));
  fmt::print("data         {} x {} ({}), metric {}, n_neighbors {}, seed {}\n", x.rows, x.cols,
             o.input.empty() ? "synthetic: 20 classes on 10-d subspaces" : o.input, o.metric, o.neighbors, o.seed);

  analysis::UmapOptions uo;
  uo.metric = analysis::parse_metric(o.metric);
  uo.n_neighbors = o.neighbors;
  uo.seed = o.seed;
  uo.threads = threads;
  // Run as a Job on this thread so its stage events give the time of each step.
  analysis::UmapModel map;
  runtime::Job job("umap", [&](runtime::JobContext& ctx) { map = analysis::umap_fit(x, uo, &ctx); });
  const double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  job.run_here();
  job.rethrow_if_failed();
  const double ours_s = secs(t0), ours_cpu = cpu_seconds() - cpu0;
  const double ours_trust = analysis::trustworthiness(x, map.embedding);
  fmt::print("genlens      {:8.2f} s   trustworthiness {:.5f}   (CPU {:.2f} s; {} threads for kNN, SGD single-threaded; {} kNN)\n",
             ours_s, ours_trust, ours_cpu, threads, map.approximate_knn ? "hnswlib" : "exact");
  size_t cursor = 0;
  std::vector<std::pair<std::string, double>> stages;
  for (auto& e : job.events_since(cursor))
    if (e.kind == runtime::JobEvent::Kind::Stage) stages.emplace_back(e.text, e.time_s);
  std::string split;
  for (size_t i = 0; i < stages.size(); ++i) {
    const double end = i + 1 < stages.size() ? stages[i + 1].second : ours_s;
    split += fmt::format("{}{} {:.2f} s", i ? ", " : "", stages[i].first, end - stages[i].second);
  }
  fmt::print("             stages: {}\n", split);

  if (o.no_python) return 0;
  const fs::path tmp = fs::temp_directory_path() / fmt::format("genlens-bench-umap-{}", ::getpid());
  fs::create_directories(tmp);
  save(tmp / "x.npy", x);
  const auto script = fs::path(GENLENS_SOURCE_DIR) / "tests/bench/umap_bench.py";
  const std::string cmd = fmt::format("NUMBA_NUM_THREADS={} '{}' '{}' '{}' '{}' {} {} {} 2>&1", threads, o.python,
                                      script.string(), (tmp / "x.npy").string(), (tmp / "y.npy").string(), o.metric,
                                      o.neighbors, o.seed);
  const std::string out = bench::run_capture(cmd);
  int rc = 0;
  try {
    auto j = nlohmann::json::parse(out.substr(out.rfind('{')));
    const double ref_s = j.at("seconds").get<double>();
    auto y = analysis::to_points(io::load_npy(tmp / "y.npy"));
    const double ref_trust = analysis::trustworthiness(x, y);
    const double par_s = j.at("parallel_seconds").get<double>();
    fmt::print("umap-learn   {:8.2f} s   trustworthiness {:.5f}   (CPU {:.2f} s; {}, random_state={}: single-threaded)\n",
               ref_s, ref_trust, j.at("cpu_seconds").get<double>(), j.value("version", "?"), o.seed);
    fmt::print("umap-learn   {:8.2f} s   (no random_state: parallel on {} numba threads)\n", par_s, threads);
    fmt::print("speed-up     {:8.2f}x vs seeded, {:.2f}x vs parallel  (umap-learn time / ours; >1: genlens faster)\n",
               ref_s / ours_s, par_s / ours_s);
    fmt::print("trust diff   {:+8.5f}   (ours - umap-learn)\n", ours_trust - ref_trust);
  } catch (const std::exception&) {
    fmt::print("umap-learn: not measured ({} with umap-learn unavailable): {}\n", o.python, out.substr(0, 400));
    rc = 1;
  }
  fs::remove_all(tmp);
  return rc;
}

}  // namespace

nlohmann::json bench::umap_case_json(int64_t n, int64_t dim, int reps) {
  analysis::Points x = make_blobs(n, dim, 0);
  analysis::UmapOptions uo;
  uo.metric = analysis::Metric::Cosine;
  uo.seed = 0;
  uo.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bench::reset_peak_rss();
  std::vector<double> seconds;
  analysis::UmapModel map;
  for (int r = 0; r < std::max(1, reps); ++r) {
    auto t0 = Clock::now();
    map = analysis::umap_fit(x, uo);
    seconds.push_back(secs(t0));
  }
  double mean = 0;
  for (double v : seconds) mean += v / static_cast<double>(seconds.size());
  return {{"bench", "umap"},
          {"case", "fit"},
          {"impl", "genlens"},
          {"rows", n},
          {"dim", dim},
          {"metric", "cosine"},
          {"threads", uo.threads},
          {"items_per_s", static_cast<double>(n) / mean},
          {"latency_ms", {{"p50", 1e3 * bench::percentile(seconds, 0.5)}, {"p95", 1e3 * bench::percentile(seconds, 0.95)}}},
          {"peak_rss_mb", bench::peak_rss_mb()},
          {"knn", map.approximate_knn ? "hnswlib" : "exact"},
          {"trustworthiness", analysis::trustworthiness(x, map.embedding)}};
}

namespace {

RegisterBench reg({"umap", "UMAP fit time and trustworthiness vs umap-learn on the same data",
                   [](CLI::App& sub) -> std::function<int()> {
                     auto o = std::make_shared<Opts>();
                     auto* in = sub.add_option("--input", o->input, "Embeddings .npy [N, D] (default: synthetic)");
                     sub.add_option("--n", o->n, "Synthetic rows")->capture_default_str()->excludes(in);
                     sub.add_option("--dim", o->dim, "Synthetic dimension")->capture_default_str()->excludes(in);
                     sub.add_option("--metric", o->metric, "cosine | euclidean")->capture_default_str();
                     sub.add_option("--neighbors", o->neighbors, "n_neighbors")->capture_default_str();
                     sub.add_option("--seed", o->seed, "Seed (both sides)")->capture_default_str();
                     sub.add_option("--threads", o->threads, "Threads for our kNN and numba (0 = all cores)")
                         ->capture_default_str();
                     sub.add_option("--python", o->python, "Python with umap-learn")->capture_default_str();
                     sub.add_flag("--no-python", o->no_python, "Skip the umap-learn baseline");
                     return [o] { return run(*o); };
                   }});

}  // namespace
}  // namespace genlens::cli
