// y = x W^T for a few float32 rows x and a bfloat16 weight W: the matrix product of a
// decoding step in the low-memory weight format (DecoderLM::load's matrix_dtype). A
// decoding step reads every weight once for one row, so its speed is the speed of reading
// the weights: two bytes each here against four in float32. Neither LibTorch's CPU bf16
// path (oneDNN, one thread: about 8 GB/s at Qwen3-0.6B's shapes) nor Debian's OpenBLAS
// 0.3.21 (no sbgemv) reads bf16 at memory speed, hence this small kernel: bf16 -> f32 is
// a 16-bit shift, then fused multiply-adds; AVX-512 or AVX2 + FMA chosen at run time,
// the output rows split over `threads` OpenMP threads. Torch-free (plain pointers).
#pragma once
#include <cstdint>

namespace genlens::model {

// The most rows of x one call takes (the caller splits larger batches or converts W).
inline constexpr int kBf16MatvecMaxRows = 8;

// y[r * out + o] = sum_i x[r * in + i] * float(w[o * in + i]) for r < rows (<= kBf16MatvecMaxRows),
// o < out; x rows contiguous with stride `in`, w row-major [out, in] (bf16 bits), y row-major
// [rows, out]. Summation order differs from a BLAS, not the precision (float32 throughout).
void bf16_matvec(const float* x, int rows, const uint16_t* w, int64_t out, int64_t in, float* y, int threads);

// Which instruction set bf16_matvec runs on this CPU: "avx512", "avx2" or "scalar".
const char* bf16_matvec_isa();

}  // namespace genlens::model
