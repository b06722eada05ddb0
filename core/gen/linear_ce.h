// The reconstruction loss's last step without its biggest tensor: cross-entropy of a
// frozen linear head (the LM head, [V, H]) over N hidden states, computed a chunk of rows
// at a time so the [N, V] logits and their gradient never exist at once. The head is
// frozen, so the only gradient is the one for the hidden states, [N, H]: when h needs a
// gradient it is computed in the same pass as the loss (each chunk's logits are made
// once, turned into the loss and into softmax - onehot, then multiplied back through the
// head), and backward only scales it by the upstream gradient. At V = 151,936 and
// N = 8 x 256 targets the plain path holds ~2.5 GB of float32 logits + gradient; this
// holds one chunk.
#pragma once
#include <torch/torch.h>

namespace genlens::gen {

// Mean over rows of CE(linear(h, weight).float(), labels); equal (to rounding) to
// F::cross_entropy(F::linear(h.to(weight.dtype()), weight).to(kFloat32), labels) and its
// gradient w.r.t. h. h [N, H] (any float dtype; the matmul runs in weight's dtype),
// weight [V, H] without requires_grad, labels [N] int64. chunk_rows <= 0: as many rows as
// keep one chunk's float32 logits near 64 MB (one buffer, reused by every chunk).
torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& weight, const torch::Tensor& labels,
                                   int64_t chunk_rows = 0);

}  // namespace genlens::gen
