// Teachers give the target embedding of each training row's response (DESIGN.md §1):
//  * mean-pool: the frozen LLM itself, causal, mean of the last (final-normed) hidden
//    states over the response's real tokens. Computed once per row and cached.
//  * npy:PATH:  precomputed [N, D] float embeddings, row i = training row i.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"

namespace genlens::teach {

class Teacher {
 public:
  virtual ~Teacher() = default;
  virtual std::string kind() const = 0;  // "mean-pool", "npy"
  virtual std::string spec() const = 0;  // as given on the command line ("npy:/x/y.npy")
  virtual int64_t dim() const = 0;
  virtual int64_t n_rows() const = 0;
  // Teacher embeddings of the given training rows: [rows.size(), D] float32 on the CPU.
  virtual torch::Tensor get(const std::vector<int64_t>& rows) = 0;
};

// `texts[i]` are the token ids of response i as the teacher reads them. Rows are
// computed in fixed chunks of `batch_size` consecutive rows (row r with the chunk
// r / batch_size), so a row's value does not depend on which rows were asked for with
// it: a resumed run sees exactly the values of an uninterrupted one.
class MeanPoolTeacher : public Teacher {
 public:
  MeanPoolTeacher(std::shared_ptr<const model::DecoderLM> lm, std::vector<gen::TokenRow> texts,
                  int64_t batch_size = 16);
  std::string kind() const override { return "mean-pool"; }
  std::string spec() const override { return "mean-pool"; }
  int64_t dim() const override;
  int64_t n_rows() const override { return static_cast<int64_t>(texts_.size()); }
  torch::Tensor get(const std::vector<int64_t>& rows) override;

 private:
  void compute_chunk(int64_t chunk);
  std::shared_ptr<const model::DecoderLM> lm_;
  std::vector<gen::TokenRow> texts_;
  int64_t batch_size_;
  torch::Tensor cache_;              // [N, D] float32 CPU
  std::vector<uint8_t> have_chunk_;
};

class NpyTeacher : public Teacher {
 public:
  // Checks that the file is a 2-D float array with exactly `expected_rows` rows (and,
  // when expected_dim > 0, that many columns); errors name the file, the expected and
  // the found shape.
  NpyTeacher(const std::filesystem::path& path, int64_t expected_rows, int64_t expected_dim = 0);
  std::string kind() const override { return "npy"; }
  std::string spec() const override { return "npy:" + path_.string(); }
  int64_t dim() const override { return data_.size(1); }
  int64_t n_rows() const override { return data_.size(0); }
  torch::Tensor get(const std::vector<int64_t>& rows) override;

 private:
  std::filesystem::path path_;
  torch::Tensor data_;  // [N, D] float32
};

// "mean-pool" or "npy:PATH". `texts` feed the mean-pool teacher; `n_rows` is checked
// against a file teacher.
std::unique_ptr<Teacher> make_teacher(const std::string& spec, std::shared_ptr<const model::DecoderLM> lm,
                                      std::vector<gen::TokenRow> texts, int64_t batch_size = 16);

}  // namespace genlens::teach
