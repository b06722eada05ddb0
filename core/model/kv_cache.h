// Per-layer key/value cache for incremental decoding. Keys are stored after RoPE,
// [B, kv_heads, positions, head_dim]. DecoderLM::forward appends each layer's new
// keys/values and commits the step at the end, so a failed step leaves the cache as it
// was. Without autograd the cache writes into preallocated buffers (amortised growth);
// when the new keys carry gradients it concatenates instead, keeping the graph intact.
#pragma once
#include <torch/torch.h>

#include <utility>
#include <vector>

namespace genlens::model {

class KVCache {
 public:
  KVCache() = default;
  int64_t length() const { return length_; }  // committed positions
  int64_t batch_size() const { return batch_; }
  void clear();

  // Appends k, v [B, kv_heads, T, head_dim] for `layer` after the committed positions;
  // returns the keys and values of all positions so far, [B, kv_heads, length()+T, hd].
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k,
                                                 const torch::Tensor& v);
  void commit(int64_t new_positions);  // called by forward after every layer appended
  // Allocate room for this many positions at the first append (generation knows its
  // prefix + max new tokens), so decoding never regrows the buffers.
  void reserve(int64_t positions) { reserve_ = positions; }

 private:
  std::vector<torch::Tensor> k_, v_;  // buffers, capacity along dim 2
  int64_t length_ = 0;
  int64_t batch_ = -1;
  int64_t reserve_ = 0;
};

}  // namespace genlens::model
