#include "core/analysis/map_regions.h"

#include <algorithm>
#include <cmath>

#include "core/analysis/metrics.h"
#include "core/util/error.h"

namespace genlens::analysis {

std::vector<MapRegion> find_map_regions(const Points& layout, const MapRegionOptions& opt) {
  if (layout.cols != 2) fail("map regions: the layout must have 2 columns, found {}", layout.cols);
  if (layout.rows < 3) fail("map regions: needs at least 3 points, found {}", layout.rows);
  // The silhouette is O(n^2): score each k on an even sample of the rows.
  const int64_t stride = std::max<int64_t>(1, layout.rows / std::max<int64_t>(3, opt.silhouette_sample));
  std::vector<int64_t> sample;
  for (int64_t r = 0; r < layout.rows; r += stride) sample.push_back(r);
  Points sx;
  sx.rows = static_cast<int64_t>(sample.size());
  sx.cols = 2;
  for (auto r : sample) sx.data.insert(sx.data.end(), layout.row(r), layout.row(r) + 2);

  KMeansOptions ko;
  ko.seed = opt.seed;
  ko.n_init = 4;
  const int hi = static_cast<int>(std::min<int64_t>(opt.max_k, sx.rows - 1));
  KMeansResult best;
  double best_score = -2;
  for (int k = std::max(2, opt.min_k); k <= hi; ++k) {
    auto km = kmeans(layout, k, ko);
    std::vector<int64_t> ls;
    for (auto r : sample) ls.push_back(km.labels[static_cast<size_t>(r)]);
    std::vector<int64_t> distinct = ls;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (distinct.size() < 2 || static_cast<int64_t>(distinct.size()) > sx.rows - 1) continue;
    const double s = silhouette_score(sx, ls);
    if (s > best_score) best_score = s, best = std::move(km);
  }
  if (best.labels.empty()) best = kmeans(layout, 1, ko);

  const int64_t k = best.centers.rows;
  std::vector<MapRegion> regions(static_cast<size_t>(k));
  std::vector<std::vector<std::pair<float, int64_t>>> by_dist(static_cast<size_t>(k));
  for (int64_t r = 0; r < layout.rows; ++r) {
    const auto c = best.labels[static_cast<size_t>(r)];
    const float dx = layout.at(r, 0) - best.centers.at(c, 0), dy = layout.at(r, 1) - best.centers.at(c, 1);
    by_dist[static_cast<size_t>(c)].push_back({dx * dx + dy * dy, r});
  }
  for (int64_t c = 0; c < k; ++c) {
    auto& reg = regions[static_cast<size_t>(c)];
    auto& d = by_dist[static_cast<size_t>(c)];
    reg.cx = best.centers.at(c, 0);
    reg.cy = best.centers.at(c, 1);
    reg.size = static_cast<int64_t>(d.size());
    std::sort(d.begin(), d.end());
    for (size_t i = 0; i < d.size() && static_cast<int>(i) < opt.representatives; ++i) reg.nearest.push_back(d[i].second);
  }
  regions.erase(std::remove_if(regions.begin(), regions.end(), [](const MapRegion& r) { return r.size == 0; }),
                regions.end());
  std::stable_sort(regions.begin(), regions.end(), [](const MapRegion& a, const MapRegion& b) { return a.size > b.size; });
  return regions;
}

}  // namespace genlens::analysis
