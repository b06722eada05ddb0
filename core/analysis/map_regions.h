// Regions of a 2-D embedding map, for the studio's cluster labels: k-means on the
// layout with k chosen by the best silhouette, and per region the members nearest its
// centre (whose lens summary becomes the region's on-map label, app/studio).
#pragma once
#include <cstdint>
#include <vector>

#include "core/analysis/projection.h"  // Points

namespace genlens::analysis {

struct MapRegion {
  float cx = 0, cy = 0;                 // centre on the map (layout coordinates)
  int64_t size = 0;                     // members
  std::vector<int64_t> nearest;         // up to `representatives` members, nearest the centre first
};

struct MapRegionOptions {
  int min_k = 2, max_k = 10;            // k range searched (capped by rows - 1)
  int representatives = 8;
  int64_t silhouette_sample = 2000;     // rows used to score each k (an even stride)
  uint64_t seed = 0;
};

// Regions of an [N, 2] layout (N >= 3), largest first. Deterministic for a seed.
std::vector<MapRegion> find_map_regions(const Points& layout, const MapRegionOptions& opt = {});

}  // namespace genlens::analysis
