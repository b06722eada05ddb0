// Left padding: the batch layout every forward pass in genlens uses (pads first, so
// the last position of every row is real; position ids come from the mask).
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace genlens::model {

// A left-padded batch of token rows: ids [B, L] (pad id 0), mask [B, L] (1 = real).
struct PaddedBatch {
  torch::Tensor ids, mask;
  int64_t n_tokens = 0;  // real tokens
};

// Rows longer than max_len are truncated to their first max_len tokens (0 = no limit;
// HF truncation side "right").
template <class Id>
PaddedBatch left_pad(const std::vector<std::vector<Id>>& rows, int64_t max_len, torch::Device device) {
  const int64_t B = static_cast<int64_t>(rows.size());
  auto kept = [&](const std::vector<Id>& r) {
    int64_t n = static_cast<int64_t>(r.size());
    return max_len > 0 ? std::min(n, max_len) : n;
  };
  int64_t L = 0;
  for (auto& r : rows) L = std::max(L, kept(r));
  auto ids = torch::zeros({B, L}, torch::kLong);
  auto mask = torch::zeros({B, L}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  PaddedBatch out;
  for (int64_t b = 0; b < B; ++b) {
    const auto& r = rows[static_cast<size_t>(b)];
    const int64_t n = kept(r);
    for (int64_t j = 0; j < n; ++j) {
      ia[b][L - n + j] = static_cast<int64_t>(r[static_cast<size_t>(j)]);
      ma[b][L - n + j] = 1;
    }
    out.n_tokens += n;
  }
  out.ids = ids.to(device);
  out.mask = mask.to(device);
  return out;
}

}  // namespace genlens::model
