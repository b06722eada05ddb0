// Embedding map: the corpus as a 2-D layout (PCA or UMAP), generative and input-centric
// side by side with linked selection (the same points light up in both), coloured by
// label with a legend whose entries toggle labels. Hover shows the text; a click sends
// it to the inspector; a box selection lists the selected texts and can be exported.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "views/view_common.h"
#include "views/widgets/scatter.h"

namespace genlens::views {

struct MapPanel {
  std::string title;  // "generative (PCA)"
  ScatterData data;
  Status status;
};

struct MapSnapshot {
  std::vector<std::string> texts;        // per point (the corpus rows)
  std::vector<std::string> label_names;  // shared by both panels
  MapPanel generative, input;
  std::string method;                    // "PCA", "UMAP"
  // The generative panel's region labels (its data.notes): the words each region's
  // compression tokens are dominated by in the logit lens. Idle: not asked for.
  Status region_status{Status::Idle, ""};
};

struct MapState {
  bool side_by_side = true;
  ScatterView gen_view, input_view;
  std::vector<uint8_t> selected;  // per point, shared by both panels
  std::vector<bool> hidden_labels;
  int method = 0;                 // index into {"PCA", "UMAP"}
  std::string png_pending;        // a script's "save-png map": as if PNG were clicked
};

struct MapIntents {
  int send_to_inspector = -1;  // point index
  bool export_selection = false;
  PngRequest png;              // the map panels, as drawn this frame
  bool project = false;        // (re)compute the layouts with `method`
  std::string method;
};

MapIntents draw_map_view(const MapSnapshot& snap, MapState& state);

// Selected point indices, in order.
std::vector<int> selected_indices(const MapState& state);

}  // namespace genlens::views
