// PCA against NumPy's SVD; UMAP against umap-learn by trustworthiness (scikit-learn's
// definition, k = 5) on scikit-learn's digits and on a labelled 10k x 512 synthetic set;
// transform, determinism and frames.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/io/npy.h"
#include "tests/test_util.h"

using namespace genlens;
using namespace genlens::analysis;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

Json py_ref(const std::string& args) {
  auto script = test::source_dir() / "tests/reference/umap_ref.py";
  auto r = test::run_command(test::system_python() + " " + test::shell_quote(script.string()) + " " + args +
                             " 2>/dev/null");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // The JSON answer is the last line that starts with '{' (umap-learn may log above it).
  auto pos = r.output.rfind("\n{");
  auto start = r.output.rfind('{', 0) == 0 && pos == std::string::npos ? 0 : (pos == std::string::npos ? std::string::npos : pos + 1);
  return start == std::string::npos ? Json() : Json::parse(r.output.substr(start));
}

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

// umap-learn is packaged for Debian 12 but not for Debian 13 (tests/compat/debian13.sh):
// there the comparisons with it are skipped with a message. On Debian 12, or wherever
// the package exists, a missing umap-learn is a failure (install-deps.sh installs it).
bool skip_without_umap_learn() {
  static const bool have = test::run_command(test::system_python() + " -c 'import umap' 2>/dev/null").exit_code == 0;
  if (have) return false;
  std::ifstream f("/etc/os-release");
  std::string os((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  INFO("/etc/os-release: " << os);
  REQUIRE_MESSAGE(os.find("VERSION_CODENAME=bookworm") == std::string::npos,
                  "umap-learn is missing: run third_party/install-deps.sh");
  MESSAGE("skipped: this Debian release packages no umap-learn, the reference for this comparison");
  return true;
}

Points load(const fs::path& p) { return to_points(io::load_npy(p)); }

void save(const fs::path& p, const Points& x) {
  io::save_npy(p, torch::from_blob(const_cast<float*>(x.data.data()), {x.rows, x.cols}, torch::kFloat32));
}

// Ours vs umap-learn on one data set: both layouts scored by the same trustworthiness.
void compare_with_umap_learn(const fs::path& x_path, Metric metric, double* ours_t, double* ref_t, bool sklearn_trust) {
  auto x = load(x_path);
  UmapOptions o;
  o.metric = metric;
  o.seed = 0;
  auto m = umap_fit(x, o);
  auto ours = x_path.parent_path() / "ours.npy", theirs = x_path.parent_path() / "theirs.npy";
  save(ours, m.embedding);
  py_ref("umap " + q(x_path) + " " + q(theirs) + " " + to_string(metric) + " 15 0");
  if (sklearn_trust) {
    *ours_t = py_ref("trust " + q(x_path) + " " + q(ours))["trustworthiness"].get<double>();
    *ref_t = py_ref("trust " + q(x_path) + " " + q(theirs))["trustworthiness"].get<double>();
    // Our trustworthiness (used for the large set) is scikit-learn's. Digits' integer
    // pixels give many tied input distances, whose rank order depends on NumPy's argsort
    // (measured difference 2.4e-5), so this is not asserted to 1e-9.
    CHECK(trustworthiness(x, m.embedding) == doctest::Approx(*ours_t).epsilon(1e-4));
  } else {
    *ours_t = trustworthiness(x, m.embedding);
    *ref_t = trustworthiness(x, load(theirs));
  }
}

// The fraction of new points whose nearest fitted point on the map is among their 15
// nearest fitted points in the input (cosine): how well a transform places them.
double transform_hit_rate(const Points& fit, const Points& added, const Points& fit_map, const Points& added_map) {
  auto xn = to_tensor(fit), qn = to_tensor(added);
  xn = xn / xn.norm(2, 1, true);
  qn = qn / qn.norm(2, 1, true);
  auto nn_in = std::get<1>(qn.matmul(xn.t()).topk(15, 1));
  auto nn_map = torch::cdist(to_tensor(added_map), to_tensor(fit_map)).argmin(1);
  return (nn_in == nn_map.unsqueeze(1)).any(1).to(torch::kFloat32).mean().item<double>();
}

}  // namespace

TEST_CASE("projection: PCA equals NumPy's SVD (coordinates up to sign, explained variance)") {
  test::TempDir tmp("pca");
  py_ref("data digits " + q(tmp / "x.npy") + " " + q(tmp / "y.npy"));
  auto x = load(tmp / "x.npy");
  auto r = pca(x, PcaOptions{3, "cpu"});
  auto j = py_ref("pca " + q(tmp / "x.npy") + " 3");
  double max_err = 0, scale = 0;
  for (int c = 0; c < 3; ++c) {
    CHECK(r.explained_variance[static_cast<size_t>(c)] ==
          doctest::Approx(j["explained_variance"][c].get<double>()).epsilon(1e-6));
    CHECK(r.explained_variance_ratio[static_cast<size_t>(c)] ==
          doctest::Approx(j["ratio"][c].get<double>()).epsilon(1e-6));
    const double sign = (r.coords.at(0, c) * j["coords"][0][c].get<double>()) < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < x.rows; ++i) {
      const double ref_v = j["coords"][static_cast<size_t>(i)][c].get<double>();
      max_err = std::max(max_err, std::abs(sign * r.coords.at(i, c) - ref_v));
      scale = std::max(scale, std::abs(ref_v));
    }
  }
  CHECK(max_err / scale < 1e-5);
  auto again = pca_transform(r, x);
  CHECK(again.at(5, 1) == doctest::Approx(r.coords.at(5, 1)).epsilon(1e-4));
}

TEST_CASE("projection: a/b curve fit matches umap-learn's find_ab_params") {
  auto [a, b] = fit_ab(1.0f, 0.1f);
  CHECK(a == doctest::Approx(1.5769).epsilon(1e-3));  // umap-learn 0.5: a=1.5769, b=0.8951
  CHECK(b == doctest::Approx(0.8951).epsilon(1e-3));
}

TEST_CASE("projection: UMAP on digits is as trustworthy as umap-learn's (within 0.02)") {
  if (skip_without_umap_learn()) return;
  test::TempDir tmp("umap-digits");
  py_ref("data digits " + q(tmp / "x.npy") + " " + q(tmp / "y.npy"));
  double ours = 0, theirs = 0;
  compare_with_umap_learn(tmp / "x.npy", Metric::Euclidean, &ours, &theirs, /*sklearn_trust=*/true);
  MESSAGE("digits trustworthiness: genlens " << ours << ", umap-learn " << theirs);
  CHECK(ours >= theirs - 0.02);
}

TEST_CASE("projection: UMAP on a labelled 10k x 512 set is as trustworthy as umap-learn's (within 0.02)") {
  if (skip_without_umap_learn()) return;
  test::TempDir tmp("umap-blobs");
  py_ref("data blobs 10000 512 " + q(tmp / "x.npy") + " " + q(tmp / "y.npy"));
  double ours = 0, theirs = 0;
  compare_with_umap_learn(tmp / "x.npy", Metric::Cosine, &ours, &theirs, /*sklearn_trust=*/false);
  MESSAGE("10k x 512 trustworthiness: genlens " << ours << ", umap-learn " << theirs);
  CHECK(ours >= theirs - 0.02);
}

TEST_CASE("projection: UMAP is deterministic, publishes frames, transforms new points in place") {
  test::TempDir tmp("umap-small");
  py_ref("data digits " + q(tmp / "x.npy") + " " + q(tmp / "y.npy"));
  auto x = load(tmp / "x.npy");
  Points fit_part{1500, x.cols, std::vector<float>(x.data.begin(), x.data.begin() + 1500 * x.cols)};
  Points new_part{x.rows - 1500, x.cols, std::vector<float>(x.data.begin() + 1500 * x.cols, x.data.end())};
  UmapOptions o;
  o.n_epochs = 100;
  o.publish_every = 25;
  std::vector<int> epochs;
  o.on_frame = [&](const UmapFrame& f) {
    epochs.push_back(f.epoch);
    CHECK(f.coords.rows == 1500);
  };
  auto a = umap_fit(fit_part, o);
  CHECK(epochs == std::vector<int>{0, 25, 50, 75, 100});
  o.on_frame = nullptr;
  auto b = umap_fit(fit_part, o);
  CHECK(a.embedding.data == b.embedding.data);
  auto placed = umap_transform(a, new_part);
  REQUIRE(placed.rows == new_part.rows);
  // A new point lands near the fitted points that are its neighbours in the input.
  const double hit = transform_hit_rate(fit_part, new_part, a.embedding, placed);
  MESSAGE("transform (100 epochs): nearest fitted point in the map is an input neighbour for " << hit * 100 << "%");
  CHECK(hit > 0.45);  // chance is 15 / 1500 = 1%
}

TEST_CASE("projection: UMAP transform places new points as well as umap-learn's transform") {
  if (skip_without_umap_learn()) return;
  // Both sides fit the same 1500 digits (cosine, defaults), then place the other 297; the
  // hit rate is averaged over three transform seeds (one seed varies by +-3 points).
  test::TempDir tmp("umap-transform");
  py_ref("data digits " + q(tmp / "x.npy") + " " + q(tmp / "y.npy"));
  auto x = load(tmp / "x.npy");
  Points fit_part{1500, x.cols, std::vector<float>(x.data.begin(), x.data.begin() + 1500 * x.cols)};
  Points new_part{x.rows - 1500, x.cols, std::vector<float>(x.data.begin() + 1500 * x.cols, x.data.end())};
  save(tmp / "fit.npy", fit_part);
  save(tmp / "new.npy", new_part);
  auto ours = umap_fit(fit_part, UmapOptions{});
  fs::create_directories(tmp / "ref");
  py_ref("transform " + q(tmp / "fit.npy") + " " + q(tmp / "new.npy") + " " + q(tmp / "ref") + " cosine 15 0");
  const auto ref_fit = load(tmp / "ref" / "fit.npy");
  double our_hit = 0, ref_hit = 0;
  for (int s = 0; s < 3; ++s) {
    ours.options.seed = static_cast<uint64_t>(s);  // the transform's SGD seed
    our_hit += transform_hit_rate(fit_part, new_part, ours.embedding, umap_transform(ours, new_part)) / 3;
    ref_hit += transform_hit_rate(fit_part, new_part, ref_fit, load(tmp / "ref" / ("new-" + std::to_string(s) + ".npy"))) / 3;
  }
  MESSAGE("transform neighbour-hit rate (mean of 3 seeds): genlens " << our_hit * 100 << "%, umap-learn " << ref_hit * 100 << "%");
  // Measured 59.7% vs 62.3% (chance 1%). Over 5 seeds on umap-learn's own fit ours placed
  // 59.8% and umap-learn 62.6%: a small gap the step-by-step port does not explain yet.
  CHECK(our_hit >= ref_hit - 0.07);
}
