// Ablation of the thought and compression tokens: which special positions, at which
// layers, the generative embedding needs.
//
// The chosen positions' vectors in the residual stream entering each chosen layer are
// replaced, and the rest of the encoder runs on what is left (ForwardOptions::edit_stream):
//   zero      the zero vector
//   mean      the mean of that (layer, special position) over a corpus's encoder passes
//             (mean_special_states; cached next to the corpus like its embeddings)
//   resample  the states of one other corpus text, picked by the seed
// Layers index the residual stream as the trace does: 0 = the input embeddings, L = the
// last layer's output before the final norm (what the compression states are read from).
// Reported: the cosine of the ablated embedding to the original, both decoded texts, and
// a per-position importance (1 - that cosine with the position ablated alone, at the same
// layers), all rows in one batched forward.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
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

enum class AblationKind { Zero, Mean, Resample };
AblationKind parse_ablation_kind(const std::string& s);  // "zero", "mean", "resample" (error names --kind)
const char* to_string(AblationKind k);

struct AblateOptions {
  std::string instruction;
  int64_t max_length = 512;              // tokens of instruction + text (gen::query_max_length)
  AblationKind kind = AblationKind::Zero;
  std::string positions = "special";     // parse_special_positions (lens.h)
  std::string layers = "all";            // "all", "a:b", "a,b" over 0..L (negative from the end)
  bool importance = true;                // also ablate each chosen position alone
  int64_t batch_size = 32;               // ablated rows per forward
  int64_t decode_tokens = 32;            // the texts decoded from the original and the ablated states
};

// The residual-stream states of the special positions of one text's encoder pass:
// [L+1, n_special, H] float32 on the CPU (layer L before the final norm).
torch::Tensor special_states(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                             const std::string& text, const std::string& instruction, int64_t max_length);

// Their mean over `texts` (one exact, unpadded pass per text; progress and cancel on ctx).
torch::Tensor mean_special_states(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                                  const std::vector<std::string>& texts, const std::string& instruction,
                                  int64_t max_length, runtime::JobContext* ctx = nullptr);

// mean_special_states with an on-disk cache beside the corpus, as the corpus embeddings
// of `neighbors` are (CORPUS.genlens-cache/special-states-<key>.npy, keyed by the model,
// the adapter's weights, instruction, length and texts). `note` (optional) says where
// the mean came from, in words.
torch::Tensor cached_mean_special_states(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                         const text::Tokenizer& tok, const std::filesystem::path& model_dir,
                                         const std::filesystem::path& adapter_dir,
                                         const std::vector<std::string>& texts,
                                         const std::filesystem::path& corpus_path, const std::string& instruction,
                                         int64_t max_length, bool use_cache, std::string* note = nullptr,
                                         runtime::JobContext* ctx = nullptr);

struct AblateResult {
  std::string kind;                       // "zero", "mean", "resample"
  std::string replacement;                // what stood in, in words
  std::vector<int64_t> layers;
  std::vector<LensPosition> positions;    // the ablated positions (T../C.. labels)
  double cosine = 0;                      // cos(ablated embedding, original embedding)
  std::vector<double> importance;         // per position, ablated alone: 1 - cosine (empty: not asked)
  std::vector<float> embedding, embedding_ablated;  // [D] each
  std::string decoded, decoded_ablated;
  int64_t forwards = 0;
};

// Ablates `query`'s chosen positions. `replacement`: [L+1, n_special, H] states for mean
// and resample (from the functions above), undefined for zero; `replacement_note` says
// where it came from.
AblateResult ablate(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                    const std::string& query, const AblateOptions& opt, const torch::Tensor& replacement = {},
                    const std::string& replacement_note = "", runtime::JobContext* ctx = nullptr);

}  // namespace genlens::analysis
