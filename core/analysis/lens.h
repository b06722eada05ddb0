// The logit lens (docs/ARCHITECTURE.md §2, §7): the hidden state of every layer (0 = embeddings
// output ... L) at every position of interest, projected through the final RMSNorm and
// the LM head, softmaxed. With an adapter the positions are the thought and compression
// tokens of `instruction + query` (exactly as `encode` builds the input) and the soft
// prompts S = recon(C) get an output lens and an input lens (nearest vocabulary input
// embeddings by cosine). Without an adapter: the ordinary tokens of the text.
// The last layer's lens equals the reference's (which reads last_hidden_state, already
// normed): for layer L the state is taken before the final norm and normed here once.
#pragma once
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

namespace genlens::analysis {

struct TunedLens;  // tuned_lens.h

struct LensOptions {
  std::string instruction;
  int64_t top_k = 10;
  std::string layers = "all";           // "all", "a:b" (inclusive), "a,b,c"; negatives count from L+1
  std::vector<std::string> track;       // words whose rank/probability each cell reports
  int64_t max_length = 512;             // tokens of instruction + text, cut as encode cuts (gen::query_max_length)
  bool include_ordinary = false;        // with an adapter: also the ordinary tokens
  const TunedLens* tuned = nullptr;        // layers 0..L-1 read through its translators (tuned_lens.h)
  std::string positions;                // with an adapter: only these special positions
                                        // (parse_special_positions; "" = all of them)
  int64_t input_lens_top_k = 10;        // soft prompts' nearest vocabulary embeddings
  // Summary of dominant words
  int64_t summary_top_k = 5;            // per-cell top-k feeding the union (reference: 5)
  int64_t summary_size = 20;            // words listed
  bool summary_skip_special = true;     // skip special/control tokens
  bool summary_skip_punct = true;       // skip pure whitespace/punctuation pieces
};

// "all" | "a:b" | "a,b,c" over 0..n_layers (negative = from the end: -1 = n_layers).
// Errors name the flag, what was expected and the valid range.
std::vector<int64_t> parse_layer_range(const std::string& spec, int64_t n_layers, const std::string& flag = "--layers");

// The special positions a spec names ("T0,C3", "C0:C9", "thought", "compression",
// "special"), as indices 0..n_thought+n_compression-1 (thought first), ascending. Errors
// name --positions and list what the adapter has.
std::vector<int64_t> parse_special_positions(const std::string& spec, int64_t n_thought, int64_t n_compression);

// Tokenizes instruction + query like gen::tokenize_queries and keeps its first
// max_length tokens, as encode does (core/gen/query_length.h); `n_tokens` receives the
// length before the cut, so the caller can say the query was cut. No tokens: an error.
std::vector<int32_t> lens_query_ids(const text::Tokenizer& tok, const std::string& query, const LensOptions& opt,
                                    int64_t* n_tokens = nullptr);

// One query. `adapter` may be null (plain per-layer logit lens over ordinary tokens).
LensResult logit_lens(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                      const std::string& query, const LensOptions& opt);
// The same for a query already tokenized (instruction included); `query` is left empty.
// Every cell asked for goes through the final norm and the LM head in one batched pass.
LensResult logit_lens_ids(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                          const std::vector<int32_t>& ids, const LensOptions& opt);

// The dominant-word summary over a set of lens results (e.g. many queries), using the
// compression positions (ordinary ones when there are none) at each result's summary_layer.
std::vector<SummaryWord> summarize_lens(const std::vector<LensResult>& results, const text::Tokenizer& tok,
                                        const LensOptions& opt);

// Per layer shown, the dominant words over the positions shown (the union of each cell's
// top summary_top_k, filtered as the summary is, by summed probability, the first
// summary_size): what `lens --summary` prints instead of the layers x positions wall.
std::vector<std::vector<SummaryWord>> layer_summaries(const LensResult& r, const text::Tokenizer& tok,
                                                      const LensOptions& opt);

// Pieces that are pure whitespace/punctuation once made readable (summary filter).
bool is_punct_or_space_piece(const std::string& readable_text);

}  // namespace genlens::analysis
