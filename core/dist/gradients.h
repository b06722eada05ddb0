// Data-parallel gradient sum: after every rank ran backward on its slice of the batch,
// each parameter's .grad() becomes the sum over all ranks, so every rank takes the same
// optimizer step.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/dist/group.h"

namespace genlens::dist {

// In place on every parameter's .grad() (a parameter that got no gradient on this rank
// gets zeros, so all ranks send the same layout). The gradients travel flattened, in
// buckets of at most `bucket_values` elements: one collective for any adapter up to that
// size (64M float32 values: 13M parameters for a 4B model). `what` names it in errors.
void sum_gradients(Group& group, const std::vector<torch::Tensor>& params, const std::string& what,
                   int64_t bucket_values = int64_t{64} << 20);

}  // namespace genlens::dist
