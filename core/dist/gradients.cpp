#include "core/dist/gradients.h"

namespace genlens::dist {

using torch::Tensor;

void sum_gradients(Group& group, const std::vector<Tensor>& params, const std::string& what, int64_t bucket_values) {
  torch::NoGradGuard ng;
  for (size_t i = 0; i < params.size();) {
    std::vector<Tensor> bucket;
    int64_t n = 0;
    size_t j = i;
    for (; j < params.size() && (bucket.empty() || n + params[j].numel() <= bucket_values); ++j) {
      if (!params[j].grad().defined()) params[j].mutable_grad() = torch::zeros_like(params[j]);
      bucket.push_back(params[j].grad().reshape({-1}));
      n += params[j].numel();
    }
    Tensor flat = torch::cat(bucket);
    group.all_reduce_sum(flat, what);
    int64_t off = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t m = params[k].numel();
      params[k].mutable_grad().copy_(flat.slice(0, off, off + m).view_as(params[k]));
      off += m;
    }
    i = j;
  }
}

}  // namespace genlens::dist
