// Nearest corpus texts of one query in several embedding spaces side by side
// (generative, mean, last, hyde). Corpus embeddings are cached on disk as .npy, keyed by
// a fingerprint of (model weights, adapter, mode, instruction, max length, texts), so a
// second call only encodes the query.
#pragma once
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

struct NeighborsOptions {
  std::vector<std::string> modes = {"generative", "mean", "last"};  // gen::parse_encode_mode names
  int64_t top_k = 10;
  std::string instruction;         // before the query
  std::string corpus_instruction;  // before every corpus text
  int64_t max_length = 512;  // query and corpus texts are cut to it (gen::query_max_length)
  int64_t batch_size = 16;
  std::filesystem::path cache_dir;  // empty: <corpus>.genlens-cache/ next to the corpus
  bool use_cache = true;
};

// What the corpus embeddings depend on; adapter_dir empty when there is none.
std::string corpus_cache_key(const model::DecoderLM& lm, const std::filesystem::path& model_dir,
                             const std::filesystem::path& adapter_dir, const std::string& mode,
                             const std::string& instruction, int64_t max_length,
                             const std::vector<std::string>& texts);

// The Job body: encodes (or loads) the corpus per mode, then the query; `ctx` shows
// progress per mode. HyDE: the query's generated answer is mean-pooled; the corpus
// texts are mean-pooled as they are (as the HyDE method does).
NeighborsResult find_neighbors(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                               const text::Tokenizer& tok, const std::filesystem::path& model_dir,
                               const std::filesystem::path& adapter_dir, const std::vector<std::string>& corpus,
                               const std::filesystem::path& corpus_path, const std::string& query,
                               const NeighborsOptions& opt);

// Neighbours of a point given by its embedding in `mode`'s space (generative, mean or last),
// e.g. the generative embedding of a compression state that no text produced; the corpus
// embeddings are found as find_neighbors finds them (the same cache).
NeighborList neighbors_of_embedding(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                                    const text::Tokenizer& tok, const std::filesystem::path& model_dir,
                                    const std::filesystem::path& adapter_dir, const std::vector<std::string>& corpus,
                                    const std::filesystem::path& corpus_path, const std::vector<float>& embedding,
                                    const std::string& mode, const NeighborsOptions& opt);

}  // namespace genlens::analysis
