// `genlens project`: embeddings .npy [N, D] -> a 2-D (or --dims) map .npy with PCA or UMAP.
#include <fmt/format.h>

#include "app/cli/command.h"
#include "app/cli/progress.h"
#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/io/npy.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string input, output, method = "umap", metric = "cosine", init = "spectral", device = "cpu";
  int neighbors = 15, dims = 2, epochs = 0, threads = 0;
  float min_dist = 0.1f, spread = 1.0f;
  uint64_t seed = 0;
  bool quiet = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--input", o->input, "Embeddings .npy, float [N, D]")->required();
  sub.add_option("--output", o->output, "Map .npy, float32 [N, dims]")->required();
  sub.add_option("--method", o->method, "umap or pca")->capture_default_str();
  sub.add_option("--neighbors", o->neighbors, "UMAP: neighbours per point")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--min-dist", o->min_dist, "UMAP: how tightly points may pack")->capture_default_str();
  sub.add_option("--spread", o->spread, "UMAP: scale of the embedded points")->capture_default_str();
  sub.add_option("--metric", o->metric, "UMAP: cosine or euclidean")->capture_default_str();
  sub.add_option("--init", o->init, "UMAP: spectral, pca or random")->capture_default_str();
  sub.add_option("--epochs", o->epochs, "UMAP: SGD epochs (0 = 500 up to 10k points, else 200)")->capture_default_str();
  sub.add_option("--seed", o->seed, "Random seed (same seed and threads -> same map)")->capture_default_str();
  sub.add_option("--dims", o->dims, "Output dimensions")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--threads", o->threads, "Worker threads (0 = LibTorch's setting)")->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N (PCA and exact kNN)")->capture_default_str();
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    if (o->method != "umap" && o->method != "pca") fail("--method: expected umap or pca, found \"{}\"", o->method);
    auto x = io::load_npy(o->input);
    if (x.dim() != 2) fail("{}: expected a 2-D array [N, D], found {} dimensions", o->input, x.dim());
    auto pts = analysis::to_points(x);
    analysis::Points out;
    std::string summary;
    runtime::Job job("project", [&](runtime::JobContext& ctx) {
      if (o->method == "pca") {
        ctx.set_stage("pca", 0);
        analysis::PcaOptions po;
        po.dims = o->dims;
        po.device = o->device;
        auto r = analysis::pca(pts, po);
        out = r.coords;
        summary = "explained variance ratio:";
        for (double v : r.explained_variance_ratio) summary += fmt::format(" {:.4f}", v);
      } else {
        analysis::UmapOptions uo;
        uo.n_neighbors = o->neighbors;
        uo.min_dist = o->min_dist;
        uo.spread = o->spread;
        uo.metric = analysis::parse_metric(o->metric);
        uo.init = o->init;
        uo.n_epochs = o->epochs;
        uo.seed = o->seed;
        uo.dims = o->dims;
        uo.threads = o->threads;
        uo.device = o->device;
        auto m = analysis::umap_fit(pts, uo, &ctx);
        out = m.embedding;
        summary = fmt::format("{} kNN, {} epochs, a={:.4f} b={:.4f}", m.approximate_knn ? "approximate (hnswlib)" : "exact",
                              m.n_epochs, m.a, m.b);
      }
      io::save_npy(o->output, torch::from_blob(out.data.data(), {out.rows, out.cols}, torch::kFloat32));
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    fmt::print("{}: {} x {} float32 ({}; {})\n", o->output, out.rows, out.cols, o->method, summary);
    return kOk;
  };
}

RegisterCommand reg({"project", "Map embeddings to 2-D with UMAP or PCA -> .npy", setup, 44});

}  // namespace
}  // namespace genlens::cli
