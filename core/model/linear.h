// x [..., in] through a weight [out, in] (+ bias [out]): the one matrix product the
// forward pass and the logit lens use, whatever the weight is stored in.
//   - float32 x and weight, one row on the CPU: a matrix-vector product (OpenBLAS's
//     sgemm with one row read the weight about 2.5x slower than its sgemv: Qwen3-0.6B
//     shape, one thread, 345 vs 134 ms per generated token);
//   - a bfloat16 weight with float32 x (the CPU's low-memory format, DecoderLM::load's
//     matrix_dtype): up to 32 rows through bf16_matvec (two bytes read per weight), more
//     rows through a float32 copy of the weight and the BLAS (the copy costs a fraction
//     of a product with that many rows); the result is float32;
//   - otherwise LibTorch's linear.
#pragma once
#include <torch/torch.h>

namespace genlens::model {

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {});

}  // namespace genlens::model
