// The one place in the studio that touches LibTorch-backed core code directly: reading
// embeddings (.npy) and a 2-D PCA layout for the map. Plain data in and out.
// (core/analysis/projection.h -- PCA/UMAP with animation frames, issue 9 -- replaces
// pca_2d here once it is merged.)
#pragma once
#include <cstdint>
#include <filesystem>
#include <vector>

namespace genlens::studio {

struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;  // row-major
};

// A float .npy of rank 2; genlens::Error naming the file otherwise.
Matrix load_matrix(const std::filesystem::path& path);

// The rows' coordinates on the first two principal components (centred SVD).
Matrix pca_2d(const Matrix& x);

}  // namespace genlens::studio
