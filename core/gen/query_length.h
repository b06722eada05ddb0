// One query length for every command and the studio (docs/ARCHITECTURE.md §2). A query is the
// tokenized instruction + text (the tokenizer's own special tokens, e.g. BOS, included),
// cut to its first max_length tokens -- exactly as training cut it (gen::left_pad). The
// limit is the adapter's training query length (genlens.json "query.max_length") unless
// one is given (--max-length); without an adapter, 512 (the paper's). Every text that is
// cut is counted, and the caller says so ("encode: 3 of 120 texts were longer than 128
// tokens and were cut (longest 540); --max-length raises the limit").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace genlens::text {
class Tokenizer;
}

namespace genlens::gen {

struct AdapterMeta;

inline constexpr int64_t kDefaultQueryMaxLength = 512;

// `given` > 0 (an explicit --max-length) wins; else the adapter's training query length;
// else kDefaultQueryMaxLength.
int64_t query_max_length(const AdapterMeta* adapter, int64_t given = 0);

// How many texts a limit cut, and the longest (in tokens, before the cut).
struct QueryCuts {
  int64_t max_length = 0;  // the limit (0: none)
  int64_t texts = 0;       // texts seen
  int64_t cut = 0;         // texts longer than max_length
  int64_t longest = 0;     // tokens of the longest text seen
  void add(int64_t n_tokens);
  void merge(const QueryCuts& other);
};

// Tokenizes instruction + text as encode does and counts what max_length cuts.
QueryCuts count_query_cuts(const text::Tokenizer& tok, const std::vector<std::string>& texts,
                           const std::string& instruction, int64_t max_length);

// The warning a command prints ("" when nothing was cut), `who` the command's name:
//   "encode: 3 of 120 texts were longer than 128 tokens and were cut (longest 540);
//    --max-length raises the limit"
//   "lens: the query is 540 tokens (instruction + text), more than 128; its first 128 are used;
//    --max-length raises the limit"                                   (one text, noun "query")
std::string cut_warning(const std::string& who, const QueryCuts& cuts, const std::string& noun = "text");

}  // namespace genlens::gen
