// FNV-1a 64-bit: the fingerprints genlens writes into its files (base-model identity,
// training data, world and corpus hashes) and the per-batch sampling seeds. Stable
// across platforms and builds, so a value written on one machine is checked on another.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace genlens::util {

// Hashes n bytes at `data`, continuing from `h` (chain calls to hash several pieces).
uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 14695981039346656037ull);
// 16 lower-case hex digits, zero-padded: how the hashes appear in files.
std::string hex64(uint64_t v);

}  // namespace genlens::util
