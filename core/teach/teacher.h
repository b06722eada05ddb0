// Teachers give the target embedding of each training row's response (docs/ARCHITECTURE.md §2).
// Every teacher is computed once, before training, into a table of targets (one row per
// training row); the trainer only reads that table, so no teacher forward pass sits on
// the training step's critical path and core/gen does not reach back into this layer.
//  * mean-pool:  the frozen LLM itself, causal, mean of the last (final-normed) hidden
//                states over the response's real tokens.
//  * npy:PATH:   precomputed [N, D] float embeddings, row i = training row i.
//  * llm2vec:BASE+MNTP[+SIMCSE]: the paper's teacher. BASE with the MNTP LoRA merged and
//                the SimCSE LoRA applied (merged too: the same linear map), bidirectional
//                attention, mean over the response's tokens, read with BASE's tokenizer
//                (answer stripped, the tokenizer's default special tokens), left padded.
// prepare_teacher caches the table as RUN_DIR/teacher.npy + teacher.json with a
// fingerprint of (teacher, data): a resumed run, or a later run into the same directory
// on the same data, reads it instead of recomputing.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/model/decoder_lm.h"

namespace genlens::runtime {
class JobContext;
}

namespace genlens::teach {

using TokenRow = std::vector<int32_t>;

// Precomputed targets: [n_rows, dim] float32 on the CPU.
class Teacher {
 public:
  Teacher(std::string kind, std::string spec, torch::Tensor embeddings);
  virtual ~Teacher() = default;
  const std::string& kind() const { return kind_; }  // "mean-pool", "npy", "llm2vec"
  const std::string& spec() const { return spec_; }  // as given ("npy:/x/y.npy")
  int64_t dim() const { return data_.size(1); }
  int64_t n_rows() const { return data_.size(0); }
  const torch::Tensor& embeddings() const { return data_; }
  // Targets of the given training rows: [rows.size(), D] float32 on the CPU.
  torch::Tensor get(const std::vector<int64_t>& rows) const;

 protected:
  Teacher() = default;
  std::string kind_, spec_;
  torch::Tensor data_;
};

struct PoolProgress {
  std::function<void(int64_t rows_done)> on_progress;
  std::function<void()> check_cancel;  // may throw (runtime::Cancelled)
};

// Mean of the last hidden states over each row's tokens, rows in fixed chunks of
// `batch_size` consecutive rows (left padded within a chunk), so a row's value does not
// depend on anything but its chunk. Empty rows give zeros. [N, H] float32 CPU.
torch::Tensor mean_pool(const model::DecoderLM& lm, const std::vector<TokenRow>& texts, int64_t batch_size,
                        bool causal, const PoolProgress& progress = {});

class MeanPoolTeacher : public Teacher {
 public:
  // `texts[i]`: token ids of response i as the teacher reads them.
  MeanPoolTeacher(std::shared_ptr<const model::DecoderLM> lm, const std::vector<TokenRow>& texts,
                  int64_t batch_size = 16, const PoolProgress& progress = {});
};

class NpyTeacher : public Teacher {
 public:
  // Checks that the file is a 2-D float array with exactly `expected_rows` rows (and,
  // when expected_dim > 0, that many columns); errors name the file, the expected and
  // the found shape.
  NpyTeacher(const std::filesystem::path& path, int64_t expected_rows, int64_t expected_dim = 0);
};

// llm2vec:BASE+MNTP[+SIMCSE] parsed.
struct Llm2VecSpec {
  std::filesystem::path base;
  std::vector<std::filesystem::path> loras;  // MNTP, then SimCSE
  static Llm2VecSpec parse(const std::string& spec);  // throws naming what is wrong
};

class Llm2VecTeacher : public Teacher {
 public:
  // `answers`: the responses as text. max_length: most tokens per answer.
  Llm2VecTeacher(const std::string& spec, const std::vector<std::string>& answers, int64_t batch_size,
                 int64_t max_length, torch::Device device, torch::ScalarType dtype, const PoolProgress& progress = {});
};

// What the teachers read.
struct TeacherInputs {
  std::shared_ptr<const model::DecoderLM> lm;  // the student's frozen LLM (mean-pool)
  std::vector<TokenRow> texts;                 // answers in the student's tokenizer (mean-pool)
  std::vector<std::string> answers;            // answers as text (llm2vec reads them with its own tokenizer)
  int64_t batch_size = 16;
  int64_t max_length = 512;
};

// "mean-pool", "npy:PATH" or "llm2vec:BASE+MNTP[+SIMCSE]", computed now.
std::unique_ptr<Teacher> make_teacher(const std::string& spec, const TeacherInputs& in,
                                      runtime::JobContext* ctx = nullptr);
// The mean-pool / npy form the tests and benchmarks use.
std::unique_ptr<Teacher> make_teacher(const std::string& spec, std::shared_ptr<const model::DecoderLM> lm,
                                      std::vector<TokenRow> texts, int64_t batch_size = 16);

// make_teacher as its own Job stage ("teacher"), cached in run_dir (see above).
std::shared_ptr<Teacher> prepare_teacher(const std::string& spec, const TeacherInputs& in,
                                         const std::filesystem::path& run_dir, runtime::JobContext* ctx = nullptr);

}  // namespace genlens::teach
