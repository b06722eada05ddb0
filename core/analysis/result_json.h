// JSON forms of the analysis results (lens_types.h), as `--json` prints them and as a
// script or the studio would save them. Field names follow the struct members.
#pragma once
#include <nlohmann/json.hpp>

#include "core/analysis/lens_types.h"

namespace genlens::analysis {

nlohmann::json to_json(const LensResult& r);
nlohmann::json to_json(const DecodeResult& r);
nlohmann::json to_json(const InterpolationResult& r);
nlohmann::json to_json(const LatentLensResult& r);
nlohmann::json to_json(const LatentIndexInfo& r);
nlohmann::json to_json(const NeighborsResult& r);
// Neighbour hits as [{"index", "similarity", "text"}, ...] (what every command prints).
nlohmann::json hits_json(const std::vector<Neighbor>& hits);
nlohmann::json to_json(const std::vector<SummaryWord>& summary);

}  // namespace genlens::analysis
