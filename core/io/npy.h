// NumPy .npy files (format 1.0; 2.0/3.0 read too): the embeddings-out format and the
// CLI's tensor dumps. save_npy writes float32 little-endian, C order, any rank;
// load_npy reads '<f4'/'<f8' (returned as float32) and '<i4'/'<i8' (returned as int64),
// C or Fortran order, and names the file in every error.
#pragma once
#include <torch/torch.h>

#include <filesystem>

namespace genlens::io {

// Writes `t` (any device, any floating dtype; converted to float32) atomically.
void save_npy(const std::filesystem::path& path, const torch::Tensor& t);

torch::Tensor load_npy(const std::filesystem::path& path);

}  // namespace genlens::io
