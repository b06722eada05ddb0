// Small open-addressing hash maps for the tokenizer hot paths: string keys looked up
// by string_view without allocating (C++17 unordered_map cannot), and 64-bit keys
// (BPE merge pairs). Insert-only (plus clear); not thread-safe for writers.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace genlens::text {

inline uint64_t hash_bytes(std::string_view s) {
  // FNV-1a over 8-byte words, finished with a mix; good enough for vocab keys.
  uint64_t h = 0xcbf29ce484222325ULL ^ (s.size() * 0x9E3779B97F4A7C15ULL);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0x100000001b3ULL;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return h;
}

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27; x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

template <class V>
class StringMap {
 public:
  size_t size() const { return count_; }
  size_t arena_bytes() const { return arena_.size(); }

  const V* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    uint64_t h = hash_bytes(key);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return nullptr;
      if (s.hash == h && s.len == key.size() &&
          std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0)
        return &values_[s.value];
    }
  }
  V* find(std::string_view key) {
    return const_cast<V*>(static_cast<const StringMap*>(this)->find(key));
  }
  // Inserts or overwrites.
  V& put(std::string_view key, V value) {
    if ((count_ + 1) * 4 >= slots_.size() * 3) grow();
    uint64_t h = hash_bytes(key);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s.hash = h;
        s.off = arena_.size();
        s.len = static_cast<uint32_t>(key.size());
        s.value = static_cast<uint32_t>(values_.size());
        arena_.insert(arena_.end(), key.begin(), key.end());
        values_.push_back(std::move(value));
        ++count_;
        return values_.back();
      }
      if (s.hash == h && s.len == key.size() &&
          std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0) {
        values_[s.value] = std::move(value);
        return values_[s.value];
      }
    }
  }
  void clear() {
    slots_.clear();
    arena_.clear();
    values_.clear();
    count_ = 0;
  }
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap * 3 < n * 4 + 4) cap *= 2;
    if (cap > slots_.size()) rehash(cap);
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t hash = 0;
    uint64_t off = 0;
    uint32_t len = kEmpty;
    uint32_t value = 0;
  };
  void grow() { rehash(slots_.empty() ? 16 : slots_.size() * 2); }
  void rehash(size_t cap) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(cap, Slot{});
    size_t mask = cap - 1;
    for (const Slot& s : old) {
      if (s.len == kEmpty) continue;
      for (size_t i = s.hash & mask;; i = (i + 1) & mask)
        if (slots_[i].len == kEmpty) { slots_[i] = s; break; }
    }
  }
  std::vector<Slot> slots_;
  std::vector<char> arena_;
  std::vector<V> values_;
  size_t count_ = 0;
};

// uint64 key -> V, key ~0 reserved.
template <class V>
class U64Map {
 public:
  const V* find(uint64_t key) const {
    if (keys_.empty()) return nullptr;
    size_t mask = keys_.size() - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return &vals_[i];
      if (keys_[i] == kEmpty) return nullptr;
    }
  }
  // Inserts if absent; returns false (and keeps the old value) when present.
  bool insert(uint64_t key, V v) {
    if ((count_ + 1) * 2 >= keys_.size()) rehash(keys_.empty() ? 1024 : keys_.size() * 2);
    size_t mask = keys_.size() - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) return false;
      if (keys_[i] == kEmpty) {
        keys_[i] = key;
        vals_[i] = v;
        ++count_;
        return true;
      }
    }
  }
  // Inserts or overwrites.
  void put(uint64_t key, V v) {
    if ((count_ + 1) * 2 >= keys_.size()) rehash(keys_.empty() ? 1024 : keys_.size() * 2);
    size_t mask = keys_.size() - 1;
    for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
      if (keys_[i] == key) { vals_[i] = v; return; }
      if (keys_[i] == kEmpty) {
        keys_[i] = key;
        vals_[i] = v;
        ++count_;
        return;
      }
    }
  }
  void reserve(size_t n) {
    size_t cap = 1024;
    while (cap < n * 2 + 2) cap *= 2;
    if (cap > keys_.size()) rehash(cap);
  }
  size_t size() const { return count_; }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  void rehash(size_t cap) {
    std::vector<uint64_t> ok;
    std::vector<V> ov;
    ok.swap(keys_);
    ov.swap(vals_);
    keys_.assign(cap, kEmpty);
    vals_.assign(cap, V{});
    count_ = 0;
    for (size_t i = 0; i < ok.size(); ++i)
      if (ok[i] != kEmpty) insert(ok[i], ov[i]);
  }
  std::vector<uint64_t> keys_;
  std::vector<V> vals_;
  size_t count_ = 0;
};

}  // namespace genlens::text
