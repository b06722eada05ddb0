// Core interpretability results (core/analysis/lens_types.h, plain data) turned into the
// inspector's snapshot. Kept apart from the jobs so it is testable without a model: the
// lens, decode and latent-lens jobs publish these results and the inspector copies them
// in with these functions.
#pragma once
#include "core/analysis/lens_types.h"
#include "views/inspector_view.h"

namespace genlens::studio {

// Layers x positions heatmap (rows "L<k>", columns the positions' labels), top-k per cell
// and the tracked words. With an adapter the compression/thought positions are shown.
void fill_lens(const analysis::LensResult& lens, views::InspectorSnapshot& snap);
void fill_decode(const analysis::DecodeResult& d, views::InspectorSnapshot& snap);
void fill_walk(const analysis::InterpolationResult& walk, views::InspectorSnapshot& snap);
void fill_latent(const analysis::LatentQueryPosition& pos, views::InspectorSnapshot& snap);

}  // namespace genlens::studio
