// The one place in the studio that touches LibTorch-backed core code: a loaded model
// (weights, tokenizer, chat template, adapter) shared by the studio's jobs, and thin
// calls into core/analysis (lens, decode, neighbours, latent lens, encode, PCA/UMAP)
// that return the core's plain result types. Everything here runs on job threads; the
// header has no torch so studio_app.cpp stays a plain C++ translation unit.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/analysis/lens_types.h"
#include "core/analysis/projection.h"
#include "core/analysis/region_labels.h"
#include "views/widgets/token_strip.h"

namespace genlens::runtime {
class JobContext;
}
namespace genlens::analysis {
struct TunedLens;  // core/analysis/tuned_lens.h
}

namespace genlens::studio {

// A model directory plus an optional adapter, loaded once and reused by every job.
struct LoadedModel;

// Hands out the loaded model for (model_dir, adapter) -- loading it on the calling job
// thread the first time, reusing it afterwards -- and serialises compute: the studio's
// machines have few cores, so one model job computes at a time and the UI keeps its core.
class CoreSession {
 public:
  // bf16_weights: models load in the CPU's low-memory format (bf16 matrices, float32
  // compute; `--weights bf16`).
  explicit CoreSession(bool bf16_weights = false);
  ~CoreSession();
  // adapter: "" = none; a run directory means its newest checkpoint.
  std::shared_ptr<const LoadedModel> get(const std::string& model_dir, const std::string& adapter,
                                         runtime::JobContext& ctx);
  // Held while a job runs model code.
  std::unique_lock<std::mutex> compute() { return std::unique_lock<std::mutex>(compute_mu_); }
  // The loaded model's weights in memory: which model, MiB and dtype (all empty while
  // none is loaded or one is loading); never blocks, so the UI can ask every frame.
  struct Weights {
    std::string model_dir;
    double mib = 0;
    std::string dtype;
  };
  Weights weights() const;

 private:
  bool bf16_weights_ = false;
  mutable std::mutex mu_;
  std::mutex compute_mu_;
  std::string key_;
  std::shared_ptr<const LoadedModel> loaded_;
};

bool has_adapter(const LoadedModel& m);
std::string adapter_dir(const LoadedModel& m);  // the checkpoint actually loaded ("" = none)
int64_t n_layers(const LoadedModel& m);

// instruction + query as the encoder sees it (no chat template), with byte spans.
std::vector<views::TokenChip> token_chips(const LoadedModel& m, const std::string& text);

analysis::LensResult run_lens(const LoadedModel& m, const std::string& query, const std::string& instruction,
                              const std::vector<std::string>& track, const analysis::TunedLens* tuned = nullptr);
// The decoded text from the soft prompts and the model's own answer (chat template).
// `so_far` (optional) hears the result growing token by token (see DecodeOptions::on_token).
analysis::DecodeResult run_decode(const LoadedModel& m, const std::string& query, const std::string& instruction,
                                  int max_new_tokens,
                                  const std::function<void(const analysis::DecodeResult&)>& so_far = {});
analysis::InterpolationResult run_walk(const LoadedModel& m, const std::string& a, const std::string& b,
                                       const std::string& instruction, int steps, int max_new_tokens);
analysis::NeighborsResult run_neighbors(runtime::JobContext& ctx, const LoadedModel& m,
                                        const std::vector<std::string>& corpus, const std::string& corpus_path,
                                        const std::string& query, const std::string& instruction,
                                        const std::vector<std::string>& modes, int64_t top_k);
// Latent lens hits of one query position (index into the lens positions of the query)
// with the query's states taken at `encoder_layer`.
analysis::LatentLensResult run_latent(const LoadedModel& m, const std::string& index_dir, const std::string& query,
                                      const std::string& instruction, int64_t encoder_layer, int64_t top_k);

// The pinned lens cell (layer, special position label) of `query` ablated with `kind`
// ("zero"; "mean" over `corpus`, cached beside it; "patch": `contrast`'s state at that
// cell, a resample from one text), and every special position alone at
// that layer; the ablated embedding's nearest corpus texts when there is a corpus.
struct AblationResults;
AblationResults run_ablation(runtime::JobContext& ctx, const LoadedModel& m, const std::vector<std::string>& corpus,
                             const std::string& corpus_path, const std::string& query, const std::string& instruction,
                             int64_t layer, const std::string& position, const std::string& kind,
                             const std::string& contrast = "");

// The causal trace of `query`: every (layer, position) cell patched from `contrast` (the
// walk's second query), or, with `contrast` empty, from the clean query into a copy with
// its words noised. Batched per layer; progress and cancel through `ctx`.
struct TraceResults;
TraceResults run_trace(runtime::JobContext& ctx, const LoadedModel& m, const std::string& query,
                       const std::string& instruction, const std::string& contrast);

// Integrated gradients of cosine(embedding, the query's own embedding) over the query's
// input tokens, 64 steps from the neutral-token baseline: the generative space (with an
// adapter) and mean pooling.
struct AttributionResults;
AttributionResults run_attribution(runtime::JobContext& ctx, const LoadedModel& m, const std::string& query,
                                   const std::string& instruction);

// The text decoded from the point `expression` names ("A" - "B" + "C", row:N of the open
// corpus), and that point's nearest corpus texts (generative) when a corpus is open.
struct ArithmeticResults;
ArithmeticResults run_arithmetic(runtime::JobContext& ctx, const LoadedModel& m, const std::vector<std::string>& corpus,
                                 const std::string& corpus_path, const std::string& expression,
                                 const std::string& instruction);

// The tuned lens of the open checkpoint (CHECKPOINT/tuned-lens, `genlens tuned-lens
// train`): `query`'s lens read through it, and the saved KL curves. With `train_texts`
// given and no lens there yet, one is trained on them first (as the CLI trains it) and
// saved; without, a missing lens is an error that says how to make one.
struct TunedLensResults;
TunedLensResults run_tuned_lens(runtime::JobContext& ctx, const LoadedModel& m, const std::string& query,
                                const std::string& instruction, const std::vector<std::string>& train_texts);

// Cluster labels written by the embedding itself: regions of the generative map, each
// labelled with the words over-represented in its members' compression-token logit lens
// (c-TF-IDF over regions, core/analysis/region_labels.h).
using RegionLabel = analysis::MapRegionLabel;
std::vector<RegionLabel> run_region_labels(runtime::JobContext& ctx, const LoadedModel& m, const analysis::Points& layout,
                                           const std::vector<std::string>& texts, const std::string& instruction,
                                           int max_regions, int words_per_region,
                                           analysis::RegionLabelRule rule = analysis::RegionLabelRule::ClassTfIdf);

// The training probe at one checkpoint: the dominant words of the compression tokens'
// last-layer logit lens, and the text greedily decoded from the soft prompts.
struct ProbeResult {
  std::vector<std::string> words;
  std::string decoded;
};
ProbeResult run_probe(const LoadedModel& m, const std::string& query, const std::string& instruction, int words,
                      int max_new_tokens);

// What `genlens train` would warn about for these form values (gen::TrainSettings::warnings).
std::vector<std::string> train_warnings(int steps, int warmup, double lr);

// Embeddings [N, D] of texts in one mode ("generative", "mean", "last").
analysis::Points encode(runtime::JobContext* ctx, const LoadedModel& m, const std::vector<std::string>& texts,
                        const std::string& mode, const std::string& instruction);

// A float matrix from .npy (genlens::Error naming the file otherwise).
analysis::Points load_points(const std::filesystem::path& path);

}  // namespace genlens::studio
