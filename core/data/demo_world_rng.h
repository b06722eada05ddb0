// The demo world's random draws (the generator and its STS pairs): the same on every
// platform for a seed, which std distributions are not.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>

namespace genlens::demo {

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  size_t below(size_t n) { return n ? static_cast<size_t>(g() % n) : 0; }
};

}  // namespace genlens::demo
