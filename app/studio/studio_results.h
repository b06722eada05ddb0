// What the studio's analysis jobs publish while they run (worker thread writes under
// the mutex, the UI thread copies out when `version` moved). Private to app/studio.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/analysis/lens_types.h"
#include "core/analysis/projection.h"
#include "views/widgets/token_strip.h"

namespace genlens::studio {

// One part of a query's results: absent until the job reaches it; `problem` when it
// could not be computed (e.g. no adapter for decoding), which is not a job failure;
// `partial` while a streamed part (decoded text, the model's answer) is still growing.
template <class T>
struct Part {
  std::optional<T> value;
  std::string problem;
  bool partial = false;
  bool done() const { return (value.has_value() && !partial) || !problem.empty(); }
};

// A pinned lens cell ablated (core/analysis/ablate.h): that one position at that layer,
// and, for the bars, every special position alone at the same layer.
struct AblationResults {
  int64_t layer = 0;
  std::string position;      // "C3"
  std::string kind, replacement;
  double cosine = 0;         // the ablated embedding's cosine to the original
  std::string decoded;       // decoded from the ablated embedding's soft prompts
  std::vector<std::string> labels;  // every special position, for the bars
  std::vector<double> importance;   // 1 - cosine with that position ablated alone at `layer`
  std::vector<analysis::Neighbor> neighbours;  // of the ablated embedding (with a corpus)
};

// A causal trace of the inspected query (core/analysis/trace.h), in plain data.
struct TraceResults {
  std::string mode;                       // "contrast" or "noise"
  std::vector<int64_t> layers;            // residual-stream indices (0 = embeddings)
  std::vector<analysis::LensPosition> positions;
  std::vector<std::vector<double>> effect;  // [layer][position]
  double cos_base_source = 0;
  std::vector<std::string> notes;
  int64_t strongest_layer = -1;
  std::string strongest_position;
  double strongest_effect = 0;
  std::string decoded_base, decoded_source, decoded_strongest;
  int64_t first_thought = -1, first_compression = -1;  // first layer whose cell of that kind reaches 0.5
  int64_t forwards = 0;
  double seconds = 0;
};

// The inspected query's attribution (core/analysis/attribution.h) in each space, to its own
// embedding, with the neutral-token baseline.
struct AttributionResults {
  struct Space {
    std::string mode;             // "generative", "mean"
    std::vector<int32_t> ids;     // instruction + query tokens, as `tokenize --special` gives them
    std::vector<std::string> pieces;  // readable (core/text/readable_piece.h)
    std::vector<double> scores;
    double f_input = 0, f_baseline = 0, completeness_rel = 0;
  };
  std::vector<Space> spaces;
  int32_t baseline_id = -1;
  std::string baseline_piece;
  int64_t steps = 0;
};

// A point of the compression-state space from an expression (core/analysis/embedding_expr.h).
struct ArithmeticResults {
  std::string expression;
  std::string decoded;
  std::vector<analysis::Neighbor> neighbours;  // with a corpus
};

// The inspected query's lens read through the checkpoint's tuned lens, and its KL curves.
struct TunedLensResults {
  analysis::LensResult lens;
  std::vector<int64_t> layers;
  std::vector<double> kl_logit, kl_tuned;  // per layer, on the held texts
  int64_t train_texts = 0, held_texts = 0;
  std::string dir;
  bool trained_now = false;
};

struct QueryResults {
  std::mutex mu;
  uint64_t version = 0;
  std::string query, instruction;
  Part<std::vector<views::TokenChip>> tokens;
  Part<analysis::LensResult> lens;
  Part<analysis::DecodeResult> decode;
  Part<analysis::NeighborsResult> neighbors;
  Part<analysis::InterpolationResult> walk;
  Part<analysis::LatentQueryPosition> latent;
  Part<AblationResults> ablation;
  Part<TraceResults> trace;
  Part<AttributionResults> attribution;
  Part<ArithmeticResults> arithmetic;
  Part<TunedLensResults> tuned_lens;
  // The query placed on the maps (transform into the fitted layouts).
  Part<std::vector<float>> place_generative, place_input;  // {x, y}

  template <class T, class V>
  void publish(Part<T>& part, V&& v, bool partial = false) {
    std::lock_guard<std::mutex> lk(mu);
    part.value = std::forward<V>(v);
    part.partial = partial;
    ++version;
  }
  template <class T>
  void problem(Part<T>& part, const std::string& why) {
    std::lock_guard<std::mutex> lk(mu);
    part.problem = why;
    ++version;
  }
};

// A fitted layout of one embedding space: what placing a new point needs.
struct MapFit {
  bool ok = false;
  std::string mode;  // "generative", "mean"
  std::string method;  // "PCA", "UMAP"
  analysis::PcaResult pca;
  analysis::UmapModel umap;
};

struct MapFits {
  MapFit generative, input;
  std::string instruction;  // the corpus was encoded with it; queries are too
};

}  // namespace genlens::studio
