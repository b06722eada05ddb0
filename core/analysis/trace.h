// Causal tracing of a generative embedding: activation patching (ROME, Meng et al. 2022)
// applied to the encoder pass of LLM2Vec-Gen, its thought and compression tokens included.
//
// A base run X and a source run Y of the encoder (query ++ special tokens). For one cell
// (layer l, position p) at a time, X's residual stream entering layer l is given Y's
// vector at p, layers l.. run again, and the embedding's move from X's toward Y's is
//
//   effect = (cos(e_patched, e_Y) - cos(e_X, e_Y)) / (1 - cos(e_X, e_Y))
//
// 0: the cell changes nothing; 1: it carries the embedding all the way to Y's direction.
// Layer l indexes the residual stream as ForwardOutput::hidden_states does: 0 = the input
// embeddings, L = the last layer's output (before the final norm).
//   contrast  X = query A, Y = query B. Special positions pair up from the end; input
//             positions pair up only when A and B have as many tokens (else skipped,
//             and the result says so).
//   noise     X = A with Gaussian noise on the input embeddings of chosen words (std =
//             noise_scale x the embedding matrix's std, seeded), Y = clean A: the cells
//             whose clean state restores A's embedding.
// Batched: per layer, one forward from layer l (ForwardOptions::start_layer) per chunk of
// positions, each row one patched cell.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/analysis/lens_types.h"

namespace genlens::model {
class DecoderLM;
}
namespace genlens::gen {
class Adapter;
}
namespace genlens::text {
class Tokenizer;
}
namespace genlens::runtime {
class JobContext;
}

namespace genlens::analysis {

struct TraceOptions {
  std::string instruction;
  int64_t max_length = 512;             // tokens of instruction + text (gen::query_max_length)
  std::string contrast;                 // B; empty: noise mode
  std::vector<std::string> noise_words; // noise mode: words of A whose tokens get noise (empty: all its text)
  double noise_scale = 3.0;             // x the std of the input embedding matrix (ROME's 3)
  uint64_t seed = 0;                    // the noise
  std::string layers = "all";           // "all", "a:b", "a,b" over 0..L (negative from the end)
  bool input_positions = true;          // trace the query's own tokens too, not only T/C
  int64_t batch_size = 32;              // patched rows per forward
  int64_t decode_tokens = 32;           // the texts decoded at X, Y and the strongest cell
};

struct TraceCell {
  int64_t layer = -1;
  size_t position = 0;  // index into TraceResult::positions
  double effect = 0;
};

struct TraceResult {
  std::string mode;                           // "contrast" or "noise"
  std::vector<int64_t> layers;                // residual-stream indices traced
  std::vector<LensPosition> positions;        // X's positions traced, labelled as the lens labels them
  std::vector<std::vector<double>> effect;    // [layer][position]
  double cos_base_source = 0;                 // cos(e_X, e_Y)
  std::vector<std::string> notes;             // what was skipped or noised, in words
  std::vector<std::string> noised;            // noise mode: the corrupted tokens, readable
  TraceCell strongest;
  std::string decoded_base, decoded_source, decoded_strongest;
  std::vector<float> embedding_base, embedding_source, embedding_strongest;  // [D] each (for neighbours)
  int64_t forwards = 0;                       // batched forwards run (the cost)

  // The k cells with the largest effect, largest first.
  std::vector<TraceCell> top_cells(size_t k) const;
  // Per kind (thought, compression, ordinary): the first layer at which a cell of that kind
  // reaches `threshold` (-1: none does).
  int64_t first_layer_reaching(PositionKind kind, double threshold) const;
};

// The embeddings the encoder makes from residual streams entering layer `layer`
// ([P, T, H], all positions real): layers layer.. -> final norm -> the last n_compression
// positions -> S = recon(C) -> mean(align(S)). [P, D] float32.
torch::Tensor embedding_from_layer(const model::DecoderLM& lm, const gen::Adapter& adapter, const torch::Tensor& stream,
                                   int64_t layer);

// The generative embedding of encoder runs' final states [P, T, H] (their last
// n_compression positions): [P, D] float32. Shared with ablation (ablate.h).
torch::Tensor embedding_of_last_hidden(const gen::Adapter& adapter, const torch::Tensor& last_hidden);

// The text greedily decoded from row `row`'s soft prompts (no model answer).
std::string decode_last_hidden(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                               const torch::Tensor& last_hidden, int64_t max_new_tokens, int64_t row = 0);

// The effect formula above, for patched embeddings [P, D] against e_X, e_Y [D].
torch::Tensor trace_effect(const torch::Tensor& patched, const torch::Tensor& e_base, const torch::Tensor& e_source);

// The whole trace of `query` (A). Errors name the flag (--layers, --noise-words, --contrast).
TraceResult causal_trace(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                         const std::string& query, const TraceOptions& opt, runtime::JobContext* ctx = nullptr);

}  // namespace genlens::analysis
