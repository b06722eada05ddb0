// `genlens encode` as a job on a file of any size, on one process or sharded over ranks:
// the input JSONL is cut into fixed windows of `window` consecutive rows; each window is
// read, encoded (longest first, batched) and its rows written straight into a .npy whose
// header was sized for all rows up front, then dropped. So memory holds one window of
// texts and embeddings, never the corpus. Because a window's result does not depend on
// who computes it, ranks take whole windows (contiguous ranges) and the merged file is
// byte-identical to the one-process output with the same window and batch size.
// Resumable: OUTPUT.partial (the pre-sized .npy), OUTPUT.partial.json (what is being
// computed) and OUTPUT.partial.done-R (windows finished by rank R, appended and fsync'ed
// after their rows) let a rerun, with any number of ranks, skip finished windows. When
// every window is done rank 0 renames OUTPUT.partial to OUTPUT (and the hidden states'
// .partial beside it).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/gen/encoder.h"
#include "core/runtime/job.h"

namespace genlens::dist {
class Group;
}
namespace genlens::text {
class Tokenizer;
}

namespace genlens::data {

struct EncodeFileSettings {
  gen::EncodeOptions encode;  // mode, batch size, max length (on_progress/check_cancel are set here)
  std::string field = "text";
  std::string instruction;
  int64_t window = 4096;
  // What else must match for a partial output to be continued (model, adapter, ...).
  nlohmann::json identity = nlohmann::json::object();
  // Also every row's thought and compression states (generative mode), [rows, L+1,
  // n_special, H] (residual stream; layer L before the final norm) as float32 or float16,
  // from the same forwards, written and resumed beside the embeddings (its own .partial).
  std::filesystem::path hidden_states;
  torch::ScalarType hidden_dtype = torch::kFloat32;
};

struct EncodeFileReport {
  int64_t rows = 0, cols = 0, windows = 0;
  int64_t windows_before = 0;  // finished by an earlier run
  int64_t windows_now = 0;     // finished by this rank now
};

// group: null for one process. Throws genlens::Error naming the file on bad input.
EncodeFileReport encode_file(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                             const text::Tokenizer& tok, const std::filesystem::path& input,
                             const std::filesystem::path& output, const EncodeFileSettings& settings,
                             dist::Group* group);

}  // namespace genlens::data
