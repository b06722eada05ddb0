// Embedding arithmetic in the compression-state space: the soft prompts S = recon(C)
// [n_c, H] that `decode` reads (core/analysis/decode.h). An expression such as
//   "a cat on a mat" - "a cat" + 'a dog'  or  0.5*row:3 + 0.5*row:7
// is a sum of signed terms, each an optional coefficient (NUMBER *) and a quoted query
// text ("..." or '...', backslash escapes the quote) or row:N (0-based) of a corpus.
// Each term's S is computed alone (batch of one, as `decode --query` computes it), so
// the expression of a single text is exactly that text's S. A saved state (.npy) can
// be decoded from as well.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/analysis/decode.h"

namespace genlens::gen {
class Adapter;
}

namespace genlens::analysis {

struct ExprTerm {
  double coef = 1;   // the sign folded in
  bool is_row = false;
  std::string text;  // !is_row: the query text
  int64_t row = -1;  // is_row: the corpus row
};

// Parses `expr`; errors name --expr, the character position and what was expected there.
std::vector<ExprTerm> parse_embedding_expr(const std::string& expr);

// Sum of coef * S(term) -> [1, n_c, H] float32. Rows are read from `corpus` (`corpus_path`
// names it in errors; row terms without a corpus are an error naming --corpus).
torch::Tensor expr_soft_prompts(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                                const std::vector<ExprTerm>& terms, const std::vector<std::string>& corpus,
                                const std::string& corpus_path, const DecodeOptions& opt);

// The direction from one labelled group of a corpus to another: the mean S of the rows
// labelled `to` minus the mean S of the rows labelled `from`, [1, n_c, H] (each row's S
// alone, as a term of an expression). `labels` is row-aligned with `corpus`; errors name
// --direction and list the labels the corpus has.
torch::Tensor group_direction(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                              const std::vector<std::string>& corpus, const std::vector<std::string>& labels,
                              const std::string& corpus_path, const std::string& from, const std::string& to,
                              const DecodeOptions& opt);
// Steering states S [B, n_c, H] along d [1, n_c, H] (flattened to one vector, u = d/|d|):
//   S' = S + (scale - 1) * (S . u) u + add * d
// scale rescales each point's own component along the direction (0 removes it), add moves
// it by that many copies of d. scale 1, add 0: S unchanged.
torch::Tensor steer_soft_prompts(const torch::Tensor& S, const torch::Tensor& d, double scale, double add);
// "FROM:TO" -> {FROM, TO}; errors name --direction.
std::pair<std::string, std::string> parse_direction(const std::string& spec);

// A saved compression state: [n_c, H] or [B, n_c, H] -> [B, n_c, H] float32, checked
// against the adapter's n_compression and hidden size (errors name the file and both shapes).
torch::Tensor load_soft_prompts(const std::filesystem::path& path, const gen::Adapter& adapter);

// The generative embedding of soft prompts S [B, n_c, H]: mean over positions of align(S), [B, D].
torch::Tensor embedding_of_soft_prompts(const gen::Adapter& adapter, const torch::Tensor& S);

}  // namespace genlens::analysis
