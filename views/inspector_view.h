// Query inspector: type a query (with an instruction preset) and see its tokens, the
// LLM's own answer, the text decoded from the soft prompts, the logit-lens heatmap
// (layers x special tokens; hover for top-k, click to pin), latent-lens hits for the
// pinned cell, the pinned cell ablated (the embedding's cosine to the original, the text
// decoded after, every position's importance at that layer), nearest neighbours
// (generative vs input-centric) and the interpolation walk between two queries. Each part has its own Status: a part that cannot be
// computed (no adapter, no index) says why instead of showing anything made up.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "views/neighbour_list.h"
#include "views/view_common.h"
#include "views/widgets/heatmap.h"
#include "views/widgets/token_strip.h"

namespace genlens::views {

struct Preset {
  std::string name, instruction;
};

struct LensCell {
  std::vector<std::pair<std::string, float>> topk;  // piece, probability; best first
};

struct LatentHit {
  std::string token, context;
  int layer = 0;
  float similarity = 0;
};

// One special position's importance at the pinned layer: 1 - cosine of the embedding
// with that position ablated alone.
struct AblationBar {
  std::string label;
  float value = 0;
  bool pinned = false;
};

struct InspectorSnapshot {
  std::vector<Preset> presets;
  std::string query_shown;  // the query the results below belong to
  std::vector<TokenChip> tokens;
  Status tokens_status;
  std::string answer;
  Status answer_status;
  std::string decoded;
  Status decoded_status;
  std::string lens_title;                                 // which positions the columns are
  std::vector<std::string> lens_layers, lens_positions;  // heatmap rows, columns
  std::vector<LensCell> lens;                             // rows*cols
  std::vector<std::string> tracked_words;                 // overlaid where they are top-k
  Status lens_status;
  std::vector<LatentHit> latent;  // for the pinned cell
  Status latent_status;
  std::string ablation_title;  // "C3 at layer 2, zeroed"
  float ablation_cosine = 0;
  std::string ablation_decoded;
  std::vector<AblationBar> ablation_bars;
  std::string ablation_note;  // what a reader might misread in the bars ("" = nothing)
  std::vector<Neighbour> ablation_neighbours;
  Status ablation_status;
  std::vector<Neighbour> neighbours_generative, neighbours_input;
  Status neighbours_status;
  std::vector<std::pair<float, std::string>> walk;  // t in [0, 1], decoded text
  std::string walk_from, walk_to;                    // the two queries: A (t = 0) and B (t = 1)
  Status walk_status;
};

struct InspectorState {
  char query[2048] = "";
  char walk_to[2048] = "";
  int preset = 0;
  int ablation_kind = 0;  // 0: zero, 1: the open corpus's mean, 2: the walk's second query's state (a patch)
  HeatmapState heat;
};

struct InspectorIntents {
  bool run = false;        // inspect state.query with the chosen preset
  bool walk = false;       // interpolate query -> walk_to
  bool pin_changed = false;
  bool ablate = false;     // ablate the pinned cell with state.ablation_kind
};

// The bars' heights in [0, 1] (each value over the largest; all 0 when none is positive).
std::vector<float> ablation_bar_heights(const std::vector<AblationBar>& bars);

// Panels other features draw inside the inspector, each given the content width:
// `tokens` under the Tokens header (returns true when it drew the token chips itself,
// coloured by attribution, views/attribution_panel.h); `after_lens` under the lens and its
// pinned cell (the causal trace, views/trace_panel.h); `last` at the end.
struct InspectorPanels {
  std::function<bool(float width)> tokens;
  // On the lens's first line (the logit/tuned toggle): the cells to draw in place of the
  // logit lens's (null: the logit lens's); and under the heatmap (the KL plot).
  std::function<const std::vector<LensCell>*()> lens_kind;
  std::function<void(float width)> under_lens;
  std::function<void(float width)> after_lens;
  std::function<void(float width)> last;  // after the walk (embedding arithmetic, views/arithmetic_panel.h)
};

InspectorIntents draw_inspector_view(const InspectorSnapshot& snap, InspectorState& state,
                                     const InspectorPanels& panels = {});

// The lens as heatmap input: value = top-1 probability, text = top-1 piece, tooltip =
// top-k lines, tracked words marked with a star.
// `cells`: another lens's cells on the same grid (the tuned lens), else snap.lens.
HeatmapData lens_heatmap(const InspectorSnapshot& snap, const std::vector<LensCell>* cells = nullptr);

}  // namespace genlens::views
