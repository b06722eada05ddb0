// Plain result types of the interpretability core (logit lens, decoding, latent lens,
// neighbours). No torch here: the studio's views and the CLI read these directly.
// Functions producing them: lens.h, decode.h, latent_lens.h, neighbors.h.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace genlens::analysis {

// Where a lens position sits in the encoder input (or, for SoftPrompt, the decoder input).
enum class PositionKind { Ordinary, Thought, Compression, SoftPrompt };
const char* to_string(PositionKind k);  // "token", "thought", "compression", "soft-prompt"

// One vocabulary entry in a ranking: id, the raw vocabulary piece, the text it stands
// for (core/text/readable_piece.h: spaces visible, partial UTF-8 marked) and a score
// (a probability for the logit lens, a cosine for the input lens).
struct TokenScore {
  int32_t id = -1;
  std::string piece;  // raw vocabulary string ("Ġthe", "▁the", "<0x0A>")
  std::string text;   // readable ("·the", "\\n", "<0xE2…>")
  double score = 0;
};

// A token the user pinned (--track): its rank (1 = top) and probability in a cell.
// A word that is several tokens is tracked by its first token (`id`).
struct TrackedToken {
  std::string word;   // as the user typed it
  int32_t id = -1;    // the token tracked
  std::string text;   // readable piece of `id`
  int64_t rank = 0;   // 1-based
  double prob = 0;
  int n_pieces = 1;   // pieces the word's form splits into; `id` is the first (a fragment when > 1)
};

struct LensPosition {
  int64_t index = 0;        // position in the sequence (encoder input; for SoftPrompt: 0..n_c-1)
  PositionKind kind = PositionKind::Ordinary;
  int32_t token_id = -1;    // the input token (-1 for special tokens/soft prompts)
  std::string label;        // "T3" (thought 3), "C0" (compression 0), "S0" (soft prompt 0), or the readable token
};

// One (layer, position) cell of the logit lens.
struct LensCell {
  int64_t layer = 0;      // 0 = embeddings output, L = last layer
  int64_t position = 0;   // index into LensResult::positions
  std::vector<TokenScore> top;  // top-k by probability, descending
  double entropy = 0;     // nats, of the full next-token distribution
  std::vector<TrackedToken> tracked;
};

// Summary the paper reports: words dominating the compression tokens (top-k union,
// probabilities summed over the positions and layers that were summarised).
struct SummaryWord {
  int32_t id = -1;
  std::string text;       // readable piece
  double prob_sum = 0;
  int64_t count = 0;      // in how many cells it was in the top-k
};

struct LensResult {
  std::string query;        // the text as given
  std::string instruction;  // put before it
  int64_t n_layers = 0;     // L (the model has L+1 hidden states)
  std::vector<int64_t> layers;          // the layers shown, ascending
  std::vector<LensPosition> positions;  // the positions shown, in sequence order
  // cells[li * positions.size() + pi] for layers[li], positions[pi]
  std::vector<LensCell> cells;
  const LensCell& cell(size_t layer_idx, size_t pos_idx) const { return cells[layer_idx * positions.size() + pos_idx]; }

  // Soft prompts S = recon(C) (adapter only): through final norm + LM head as the others
  // (output lens), and their nearest vocabulary input embeddings by cosine (input lens).
  std::vector<LensPosition> soft_positions;
  std::vector<LensCell> soft_output_lens;             // one per soft prompt, layer = -1
  std::vector<std::vector<TokenScore>> soft_input_lens;  // one list per soft prompt

  // Dominant words over the compression positions at `summary_layer` (the last layer,
  // as the reference does), or over ordinary tokens when there is no adapter: the union
  // of each position's top summary_top_k, filtered, by summed probability (all of it;
  // summarize_lens merges several results and keeps the first summary_size).
  int64_t summary_layer = 0;
  std::vector<SummaryWord> summary;
};

// ---- decoding -------------------------------------------------------------------

struct DecodedText {
  std::vector<int32_t> ids;  // generated ids (EOS excluded)
  std::string text;          // decoded (special tokens skipped)
  bool stopped_at_eos = false;  // false: hit max_new_tokens
};

struct DecodeResult {
  std::string query;
  DecodedText from_embedding;  // greedy/sampled from [S] alone (no BOS, no chat template)
  bool has_model_answer = false;
  DecodedText model_answer;    // the LLM's own answer to the query (chat template)
};

struct InterpolationStep {
  double t = 0;  // decoded from (1-t)*S_a + t*S_b
  DecodedText text;
};

struct InterpolationResult {
  std::string query_a, query_b;
  std::vector<InterpolationStep> steps;  // t ascending, first t=0, last t=1
};

// ---- latent lens ------------------------------------------------------------------

// Description of an on-disk latent index (core/analysis/latent_index.h documents the format).
struct LatentIndexInfo {
  std::string dir;
  int64_t n_entries = 0;
  int64_t hidden = 0;
  std::vector<int64_t> layers;   // the LLM layers stored
  int64_t n_rows = 0;            // corpus rows read
  std::string model_path;        // base model it was built from
  std::string weights_fingerprint;
  bool has_hnsw = false;
  bool complete = false;         // false: a resumable build stopped part way
};

struct LatentHit {
  int32_t token_id = -1;
  std::string token_text;  // readable piece
  int64_t layer = 0;       // LLM layer of the indexed state
  double similarity = 0;   // cosine
  int64_t entry = 0;       // entry number in the index
  int64_t row = 0;         // corpus row
  int64_t position = 0;    // token position in that row
  std::string context;     // the row's text up to and including the token (tail shown)
};

struct LatentQueryPosition {
  LensPosition position;        // which special token of the query
  std::vector<LatentHit> hits;  // best first
};

struct LatentLensResult {
  std::string query;
  int64_t encoder_layer = 0;   // layer of the query's states
  int64_t index_layer = -1;    // -1: all layers of the index
  std::string search;          // "exact" or "hnsw"
  std::vector<LatentQueryPosition> positions;
};

// ---- neighbours ------------------------------------------------------------------------

struct Neighbor {
  int64_t index = 0;     // corpus row
  std::string text;
  double similarity = 0; // cosine
};

struct NeighborList {
  std::string mode;       // generative, mean, last, hyde
  bool from_cache = false;  // corpus embeddings came from the on-disk cache
  std::string cache_path;
  std::vector<Neighbor> hits;
};

struct NeighborsResult {
  std::string query;
  std::vector<NeighborList> per_mode;
};

}  // namespace genlens::analysis
