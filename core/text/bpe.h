// The BPE model of a tokenizer.json ("model": {"type": "BPE", ...}): vocabulary,
// ranked merges (both the "a b" string and the ["a","b"] pair formats), byte-level or
// character initial symbols, byte fallback (<0xXX>), unk, ignore_merges. Merging uses a
// linked list of symbols and a priority queue (lowest rank, then leftmost), so a piece of
// n symbols costs O(n log n); results for pieces under 256 bytes are cached.
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/text/string_map.h"

namespace genlens::text {

struct BpeToken {
  int32_t id;       // vocabulary id, or kUnknownSymbol (not in the vocabulary)
  uint32_t begin;   // byte range in the piece
  uint32_t end;
};

class BpeModel {
 public:
  static constexpr int32_t kSynthBase = 1 << 30;  // ids >= this: merge results not in vocab
  static constexpr int32_t kUnknownSymbol = -1;
  static constexpr int64_t kMaxTokenId = 1 << 24;  // sanity bound on ids in a file
  // The largest id + 1 a file with n tokens may use: gaps are allowed (reserved ids,
  // added tokens elsewhere), a table mostly of holes is not.
  static constexpr int64_t sparse_id_bound(int64_t n_tokens) { return 2 * n_tokens + 4096; }

  // `model` is tokenizer.json's "model" object; `where` names it for errors.
  BpeModel(const nlohmann::json& model, const std::string& where);

  // Byte-level mode: the initial symbols of a piece are its bytes, each mapped to the
  // GPT-2 byte alphabet character (so the vocabulary holds byte-level strings).
  void set_byte_level(bool on);
  bool byte_level() const { return byte_level_; }

  // Tokens of one pre-tokenized piece (raw UTF-8 bytes), appended to `out`. Unknown
  // results are resolved here: byte fallback, else unk, else dropped.
  void encode(std::string_view piece, std::vector<BpeToken>& out) const;

  // Vocabulary as written in the file (byte-level strings for byte-level models).
  const std::vector<std::string>& vocab() const { return vocab_; }
  std::optional<int32_t> token_to_id(std::string_view token) const {
    if (auto* v = token_ids_.find(token)) return *v;
    return std::nullopt;
  }
  std::optional<int32_t> unk_id() const { return unk_id_; }
  bool fuse_unk() const { return fuse_unk_; }
  bool byte_fallback() const { return byte_fallback_; }
  // Registers an extra token string for ignore_merges / byte-level whole-piece lookups
  // (the reference adds added tokens to the model's token map).
  void add_known_token(const std::string& token, int32_t id);
  // Id remapping applied to outputs (an added token that shadows a vocabulary entry).
  void set_remap(int32_t from, int32_t to);

  size_t merge_count() const { return merges_.size(); }
  void clear_cache() const;

 private:
  struct Merge {
    uint32_t rank;
    int32_t result;
  };
  int32_t symbol_id(const std::string& s);            // vocab id or new synthetic id
  int32_t initial_symbol(std::string_view ch) const;  // for one char (non-byte-level)
  void merge_word(std::string_view piece, std::vector<BpeToken>& out) const;
  void finish(std::string_view piece, const std::vector<BpeToken>& syms, std::vector<BpeToken>& out) const;

  std::vector<std::string> vocab_;
  StringMap<int32_t> token_ids_;     // vocab strings (+ added tokens) -> id
  StringMap<int32_t> raw_ids_;       // byte-level: raw bytes -> id (ignore_merges lookups)
  StringMap<int32_t> symbols_;       // vocab + synthetic merge symbols -> symbol id
  U64Map<Merge> merges_;
  std::array<int32_t, 256> byte_symbol_{};   // byte-level initial symbols
  std::array<int32_t, 128> ascii_symbol_{};  // char-level fast path
  std::array<int32_t, 256> byte_fallback_id_{};
  std::vector<std::pair<int32_t, int32_t>> remap_;
  std::optional<int32_t> unk_id_;
  int32_t next_synth_ = kSynthBase;
  bool byte_level_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;

  // Word cache, sharded; values are [n, id0, len0, id1, len1, ...] in a pool.
  struct Shard {
    std::mutex mu;
    StringMap<uint32_t> index;
    std::vector<int32_t> pool;
  };
  static constexpr size_t kShards = 16;
  mutable std::array<Shard, kShards> cache_;
};

// GPT-2's byte <-> unicode alphabet.
const std::array<char32_t, 256>& byte_to_unicode();
// Decodes a byte-level string to raw bytes; false if it holds a non-alphabet char.
bool byte_level_decode(std::string_view s, std::string& out);
std::string byte_level_encode(std::string_view raw);

}  // namespace genlens::text
