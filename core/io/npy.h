// NumPy .npy files (format 1.0; 2.0/3.0 read too): the embeddings-out format and the
// CLI's tensor dumps. save_npy writes float32 little-endian, C order, any rank;
// load_npy reads '<f4'/'<f8' (returned as float32) and '<i4'/'<i8' (returned as int64),
// C or Fortran order, and names the file in every error.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <vector>

namespace genlens::io {

// Writes `t` (any device, any floating dtype; converted to float32) atomically.
void save_npy(const std::filesystem::path& path, const torch::Tensor& t);

torch::Tensor load_npy(const std::filesystem::path& path);

// A float32 [rows, cols] .npy written a block of rows at a time, for outputs larger than
// memory: the header is sized for the whole array up front and the file pre-sized, so
// blocks may be written in any order, by several processes (each pwrite()s its own rows
// at their offset). Open an existing one to continue it (its header must say the same
// shape). Not atomic by itself: write it under a temporary name and rename when complete.
class NpyRowWriter {
 public:
  enum class Mode { Create, Open };
  NpyRowWriter(const std::filesystem::path& path, int64_t rows, int64_t cols, Mode mode);
  // Rows of any shape ([rows, *row_shape]), stored as float32 or float16.
  NpyRowWriter(const std::filesystem::path& path, int64_t rows, const std::vector<int64_t>& row_shape, Mode mode,
               torch::ScalarType dtype);
  ~NpyRowWriter();
  NpyRowWriter(const NpyRowWriter&) = delete;
  NpyRowWriter& operator=(const NpyRowWriter&) = delete;
  // block: [n, cols] or [n, *row_shape] (any float dtype/device); rows first_row .. first_row + n - 1.
  void write_rows(int64_t first_row, const torch::Tensor& block);
  void sync();  // fdatasync: the rows written so far survive a crash
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  int64_t rows_, cols_;  // cols_: values per row (the product of row_shape_)
  torch::ScalarType dtype_ = torch::kFloat32;
  std::vector<int64_t> row_shape_;
  uint64_t item_bytes_ = 4;
  uint64_t data_offset_ = 0;
};

}  // namespace genlens::io
