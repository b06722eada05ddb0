// The bf16-weight matrix-vector product (bf16_matvec.h). Compiled with OpenMP (the pool
// LibTorch's Debian build already loads) and without the torch header.
#include "core/model/bf16_matvec.h"

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*() and warn about it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace genlens::model {

namespace {

inline float bf16_to_f32(uint16_t b) {
  const uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Output rows [o0, o1) for R rows of x; every variant reads each weight once and uses it
// for all R rows.
template <int R>
void rows_scalar(const float* x, const uint16_t* w, int64_t o0, int64_t o1, int64_t in, int64_t out, float* y) {
  for (int64_t o = o0; o < o1; ++o) {
    const uint16_t* wr = w + o * in;
    float acc[R] = {};
    for (int64_t i = 0; i < in; ++i) {
      const float wi = bf16_to_f32(wr[i]);
      for (int r = 0; r < R; ++r) acc[r] += x[r * in + i] * wi;
    }
    for (int r = 0; r < R; ++r) y[r * out + o] = acc[r];
  }
}

// Output rows taken together: each is its own chain of fused multiply-adds (one chain
// waits on its own latency, 4 cycles per 64 bytes of weights, below memory speed) and its
// own stream of weights, while each load of x serves all of them.
template <int R>
constexpr int kGroup = R >= 4 ? 1 : R >= 2 ? 2 : 4;

template <int R>
__attribute__((target("avx512f"))) void rows_avx512(const float* x, const uint16_t* w, int64_t o0, int64_t o1,
                                                    int64_t in, int64_t out, float* y) {
  const int64_t vec_end = in / 16 * 16;
  for (int64_t o = o0; o < o1; o += kGroup<R>) {
    const int G = static_cast<int>(std::min<int64_t>(kGroup<R>, o1 - o));
    __m512 acc[kGroup<R>][R];
    for (int g = 0; g < kGroup<R>; ++g)
      for (int r = 0; r < R; ++r) acc[g][r] = _mm512_setzero_ps();
    for (int64_t i = 0; i < vec_end; i += 16) {
      __m512 xv[R];
      for (int r = 0; r < R; ++r) xv[r] = _mm512_loadu_ps(x + r * in + i);
      for (int g = 0; g < kGroup<R>; ++g) {
        if (g >= G) break;
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + (o + g) * in + i));
        const __m512 wv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        for (int r = 0; r < R; ++r) acc[g][r] = _mm512_fmadd_ps(xv[r], wv, acc[g][r]);
      }
    }
    for (int g = 0; g < G; ++g) {
      const uint16_t* wr = w + (o + g) * in;
      for (int r = 0; r < R; ++r) {
        const __m512 a = acc[g][r];
        const __m256 lo = _mm512_castps512_ps256(a);
        const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1));
        const __m256 s8 = _mm256_add_ps(lo, hi);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        float t = _mm_cvtss_f32(s);
        for (int64_t i = vec_end; i < in; ++i) t += x[r * in + i] * bf16_to_f32(wr[i]);
        y[r * out + o + g] = t;
      }
    }
  }
}

template <int R>
__attribute__((target("avx2,fma"))) void rows_avx2(const float* x, const uint16_t* w, int64_t o0, int64_t o1,
                                                   int64_t in, int64_t out, float* y) {
  const int64_t vec_end = in / 8 * 8;
  for (int64_t o = o0; o < o1; o += kGroup<R>) {
    const int G = static_cast<int>(std::min<int64_t>(kGroup<R>, o1 - o));
    __m256 acc[kGroup<R>][R];
    for (int g = 0; g < kGroup<R>; ++g)
      for (int r = 0; r < R; ++r) acc[g][r] = _mm256_setzero_ps();
    for (int64_t i = 0; i < vec_end; i += 8) {
      __m256 xv[R];
      for (int r = 0; r < R; ++r) xv[r] = _mm256_loadu_ps(x + r * in + i);
      for (int g = 0; g < kGroup<R>; ++g) {
        if (g >= G) break;
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + (o + g) * in + i));
        const __m256 wv = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        for (int r = 0; r < R; ++r) acc[g][r] = _mm256_fmadd_ps(xv[r], wv, acc[g][r]);
      }
    }
    for (int g = 0; g < G; ++g) {
      const uint16_t* wr = w + (o + g) * in;
      for (int r = 0; r < R; ++r) {
        const __m256 a = acc[g][r];
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        float t = _mm_cvtss_f32(s);
        for (int64_t i = vec_end; i < in; ++i) t += x[r * in + i] * bf16_to_f32(wr[i]);
        y[r * out + o + g] = t;
      }
    }
  }
}

enum class Isa { Scalar, Avx2, Avx512 };

Isa detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Scalar;
}

const Isa kIsa = detect();

template <int R>
void run_rows(const float* x, const uint16_t* w, int64_t o0, int64_t o1, int64_t in, int64_t out, float* y) {
  switch (kIsa) {
    case Isa::Avx512: return rows_avx512<R>(x, w, o0, o1, in, out, y);
    case Isa::Avx2: return rows_avx2<R>(x, w, o0, o1, in, out, y);
    case Isa::Scalar: return rows_scalar<R>(x, w, o0, o1, in, out, y);
  }
}

using RowsFn = void (*)(const float*, const uint16_t*, int64_t, int64_t, int64_t, int64_t, float*);
constexpr RowsFn kByRows[kBf16MatvecMaxRows] = {run_rows<1>, run_rows<2>, run_rows<3>, run_rows<4>,
                                                run_rows<5>, run_rows<6>, run_rows<7>, run_rows<8>};

}  // namespace

void bf16_matvec(const float* x, int rows, const uint16_t* w, int64_t out, int64_t in, float* y, int threads) {
  if (rows <= 0 || out <= 0) return;
  const RowsFn fn = kByRows[std::min(rows, kBf16MatvecMaxRows) - 1];
  // Blocks of 64 output rows (128 KB of weights at H=1024): whole cache lines per
  // thread, and enough blocks to share out evenly.
  const int64_t block = 64, blocks = (out + block - 1) / block;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, blocks)));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t b = 0; b < blocks; ++b) fn(x, w, b * block, std::min(out, (b + 1) * block), in, out, y);
}

const char* bf16_matvec_isa() {
  switch (kIsa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    case Isa::Scalar: return "scalar";
  }
  return "scalar";
}

}  // namespace genlens::model
