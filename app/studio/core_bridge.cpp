#include "app/studio/core_bridge.h"

#include <torch/torch.h>

#include "core/io/npy.h"
#include "core/util/error.h"

namespace genlens::studio {

Matrix load_matrix(const std::filesystem::path& path) {
  auto t = io::load_npy(path);
  if (t.dim() != 2 || !t.is_floating_point())
    fail("{}: expected a float matrix [N, D], found rank {}", path.string(), t.dim());
  t = t.to(torch::kFloat32).contiguous();
  Matrix m;
  m.rows = t.size(0), m.cols = t.size(1);
  m.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  return m;
}

Matrix pca_2d(const Matrix& x) {
  if (x.rows < 2) fail("a map needs at least 2 points, found {}", x.rows);
  auto t = torch::from_blob(const_cast<float*>(x.data.data()), {x.rows, x.cols}, torch::kFloat32).to(torch::kFloat64);
  t = t - t.mean(0, true);
  auto usv = torch::linalg::svd(t, /*full_matrices=*/false, c10::nullopt);
  auto coords = (t.matmul(std::get<2>(usv).narrow(0, 0, std::min<int64_t>(2, x.cols)).t())).to(torch::kFloat32).contiguous();
  Matrix m;
  m.rows = coords.size(0), m.cols = coords.size(1);
  m.data.assign(coords.data_ptr<float>(), coords.data_ptr<float>() + coords.numel());
  if (m.cols == 1) {  // D = 1: a line
    Matrix m2{m.rows, 2, std::vector<float>(size_t(m.rows) * 2, 0.0f)};
    for (int64_t i = 0; i < m.rows; ++i) m2.data[size_t(2 * i)] = m.data[size_t(i)];
    return m2;
  }
  return m;
}

}  // namespace genlens::studio
