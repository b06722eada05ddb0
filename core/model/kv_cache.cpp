// KVCache (kv_cache.h): preallocated buffers that grow by doubling, or concatenation
// when the new keys carry gradients.
#include "core/model/kv_cache.h"

#include <algorithm>

#include "core/util/error.h"

namespace genlens::model {

using torch::Tensor;

void KVCache::clear() {
  k_.clear();
  v_.clear();
  length_ = 0;
  batch_ = -1;
}

std::pair<Tensor, Tensor> KVCache::append(int64_t layer, const Tensor& k, const Tensor& v) {
  if (batch_ >= 0 && k.size(0) != batch_)
    fail("KV cache: batch size {} does not match the cached batch size {}", k.size(0), batch_);
  if (static_cast<int64_t>(k_.size()) <= layer) {
    k_.resize(layer + 1);
    v_.resize(layer + 1);
  }
  const int64_t T = k.size(2), need = length_ + T;
  Tensor& kb = k_[layer];
  Tensor& vb = v_[layer];
  if (torch::GradMode::is_enabled() && (k.requires_grad() || v.requires_grad())) {
    // Keep the autograd graph: concatenate (no in-place writes into shared buffers).
    kb = length_ > 0 ? torch::cat({kb.narrow(2, 0, length_), k}, 2) : k;
    vb = length_ > 0 ? torch::cat({vb.narrow(2, 0, length_), v}, 2) : v;
    return {kb, vb};
  }
  torch::NoGradGuard ng;
  if (!kb.defined() || kb.size(2) < need) {
    int64_t cap = std::max<int64_t>(need, kb.defined() ? 2 * kb.size(2) : std::max(need + 64, reserve_));
    auto nk = torch::empty({k.size(0), k.size(1), cap, k.size(3)}, k.options());
    auto nv = torch::empty({v.size(0), v.size(1), cap, v.size(3)}, v.options());
    if (kb.defined() && length_ > 0) {
      nk.narrow(2, 0, length_).copy_(kb.narrow(2, 0, length_));
      nv.narrow(2, 0, length_).copy_(vb.narrow(2, 0, length_));
    }
    kb = nk;
    vb = nv;
  }
  kb.narrow(2, length_, T).copy_(k);
  vb.narrow(2, length_, T).copy_(v);
  return {kb.narrow(2, 0, need), vb.narrow(2, 0, need)};
}

void KVCache::commit(int64_t n) {
  if (!k_.empty()) batch_ = k_[0].size(0);
  length_ += n;
}

}  // namespace genlens::model
