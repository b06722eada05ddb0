// Internal (core only): Points <-> torch::Tensor, shared by the analysis sources.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "core/analysis/projection.h"

namespace genlens::analysis {

// A float32 [rows, cols] CPU tensor viewing/copying the points (a copy: Points stays const).
inline torch::Tensor to_tensor(const Points& p) {
  return torch::from_blob(const_cast<float*>(p.data.data()), {p.rows, p.cols}, torch::kFloat32).clone();
}

inline Points to_points(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  Points p;
  p.rows = c.size(0);
  p.cols = c.dim() > 1 ? c.size(1) : 1;
  p.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + p.rows * p.cols);
  return p;
}

// Any tensor's values as float32, in order (an embedding [D] or [1, D] as a vector).
inline std::vector<float> to_floats(const torch::Tensor& t) {
  auto c = t.detach().reshape({-1}).to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace genlens::analysis
