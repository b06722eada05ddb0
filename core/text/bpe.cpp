#include "core/text/bpe.h"

#include <algorithm>
#include <cstdio>

#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::text {

const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    std::array<bool, 256> direct{};
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    char32_t n = 0;
    for (int b = 0; b < 256; ++b) t[b] = direct[b] ? static_cast<char32_t>(b) : 256 + n++;
    return t;
  }();
  return table;
}

namespace {
const std::array<int16_t, 512>& unicode_to_byte() {
  static const std::array<int16_t, 512> table = [] {
    std::array<int16_t, 512> t;
    t.fill(-1);
    auto& fwd = byte_to_unicode();
    for (int b = 0; b < 256; ++b) t[fwd[b]] = static_cast<int16_t>(b);
    return t;
  }();
  return table;
}
}  // namespace

bool byte_level_decode(std::string_view s, std::string& out) {
  out.clear();
  auto& inv = unicode_to_byte();
  for (size_t i = 0; i < s.size();) {
    char32_t c = unicode::next_cp(s, i);
    if (c >= 512 || inv[c] < 0) return false;
    out += static_cast<char>(inv[c]);
  }
  return true;
}

std::string byte_level_encode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  auto& fwd = byte_to_unicode();
  for (unsigned char b : raw) unicode::append_utf8(out, fwd[b]);
  return out;
}

namespace {
uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
}  // namespace

int32_t BpeModel::symbol_id(const std::string& s) {
  if (auto* v = symbols_.find(s)) return *v;
  int32_t id = next_synth_++;
  symbols_.put(s, id);
  return id;
}

BpeModel::BpeModel(const nlohmann::json& model, const std::string& where) {
  using nlohmann::json;
  if (!model.contains("vocab") || !model["vocab"].is_object())
    fail("{}: field model.vocab: expected an object of token -> id, found {}", where,
         model.contains("vocab") ? model["vocab"].type_name() : "nothing");
  const json& v = model["vocab"];
  int32_t max_id = -1;
  std::string max_key;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_number_integer())
      fail("{}: model.vocab['{}']: expected an integer id, found {}", where, it.key(), it.value().type_name());
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= kMaxTokenId)
      fail("{}: model.vocab['{}']: id {} out of range [0, {})", where, it.key(), id, kMaxTokenId);
    if (id > max_id) {
      max_id = static_cast<int32_t>(id);
      max_key = it.key();
    }
  }
  // Id tables are indexed by id: a handful of tokens with huge ids would make a tiny file
  // cost hundreds of MB. Real vocabularies run (nearly) contiguously from 0.
  if (static_cast<int64_t>(max_id) + 1 > sparse_id_bound(static_cast<int64_t>(v.size())))
    fail("{}: model.vocab['{}']: id {} is far beyond the vocabulary's {} tokens; ids must run (nearly) contiguously "
         "from 0", where, max_key, max_id, v.size());
  vocab_.assign(static_cast<size_t>(max_id + 1), std::string());
  token_ids_.reserve(v.size() + 1024);
  symbols_.reserve(v.size() * 2 + 1024);
  for (auto it = v.begin(); it != v.end(); ++it) {
    int32_t id = it.value().get<int32_t>();
    if (id < 0) fail("{}: model.vocab['{}']: negative id {}", where, it.key(), id);
    vocab_[id] = it.key();
    token_ids_.put(it.key(), id);
    symbols_.put(it.key(), id);
  }

  auto opt_bool = [&](const char* k) { return model.contains(k) && model[k].is_boolean() && model[k].get<bool>(); };
  byte_fallback_ = opt_bool("byte_fallback");
  fuse_unk_ = opt_bool("fuse_unk");
  ignore_merges_ = opt_bool("ignore_merges");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(k) && model[k].is_string() && !model[k].get<std::string>().empty())
      fail("{}: model.{} = '{}': BPE models with subword prefixes/suffixes are not supported", where, k,
           model[k].get<std::string>());
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    if (auto id = token_to_id(model["unk_token"].get<std::string>())) unk_id_ = *id;
  }

  if (!model.contains("merges") || !model["merges"].is_array())
    fail("{}: field model.merges: expected an array, found {}", where,
         model.contains("merges") ? model["merges"].type_name() : "nothing");
  const json& merges = model["merges"];
  merges_.reserve(merges.size());
  uint32_t rank = 0;
  std::string a, b;
  for (const json& m : merges) {
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      // JS reference: "a b".split(" ", 2); a string without a space never matches.
      size_t sp = s.find(' ');
      if (sp == std::string::npos) { ++rank; continue; }
      size_t sp2 = s.find(' ', sp + 1);
      a.assign(s, 0, sp);
      b.assign(s, sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      fail("{}: model.merges[{}]: expected \"a b\" or [\"a\", \"b\"], found {}", where, rank, m.dump());
    }
    int32_t la = symbol_id(a), lb = symbol_id(b), res = symbol_id(a + b);
    merges_.put(pair_key(la, lb), Merge{rank, res});  // later duplicates win (JS Map)
    ++rank;
  }

  for (int c = 0; c < 128; ++c) {
    auto* s = symbols_.find(std::string_view(reinterpret_cast<const char*>(&c), 1));
    ascii_symbol_[c] = s ? *s : kUnknownSymbol;
  }
  for (int bt = 0; bt < 256; ++bt) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", bt);
    auto id = token_to_id(name);
    byte_fallback_id_[bt] = id ? *id : kUnknownSymbol;
  }
  byte_symbol_.fill(kUnknownSymbol);
}

void BpeModel::set_byte_level(bool on) {
  byte_level_ = on;
  if (!on) return;
  auto& fwd = byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    std::string ch;
    unicode::append_utf8(ch, fwd[b]);
    auto* s = symbols_.find(ch);
    byte_symbol_[b] = s ? *s : kUnknownSymbol;
  }
  raw_ids_.clear();
  raw_ids_.reserve(vocab_.size());
  std::string raw;
  for (size_t id = 0; id < vocab_.size(); ++id)
    if (!vocab_[id].empty() && byte_level_decode(vocab_[id], raw)) raw_ids_.put(raw, static_cast<int32_t>(id));
  clear_cache();
}

void BpeModel::add_known_token(const std::string& token, int32_t id) {
  token_ids_.put(token, id);
  std::string raw;
  if (byte_level_ && byte_level_decode(token, raw)) raw_ids_.put(raw, id);
  clear_cache();
}

void BpeModel::set_remap(int32_t from, int32_t to) {
  for (auto& [f, t] : remap_)
    if (f == from) { t = to; return; }
  remap_.emplace_back(from, to);
  clear_cache();
}

void BpeModel::clear_cache() const {
  for (auto& sh : cache_) {
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.index.clear();
    sh.pool.clear();
  }
}

int32_t BpeModel::initial_symbol(std::string_view ch) const {
  if (ch.size() == 1) return ascii_symbol_[static_cast<unsigned char>(ch[0]) & 0x7F];
  auto* s = symbols_.find(ch);
  return s ? *s : kUnknownSymbol;
}

namespace {
struct Sym {
  int32_t id;
  uint32_t begin, end;
  int32_t prev, next;
};
struct Cand {
  uint32_t rank;
  uint32_t pos;
  int32_t left, right;
};
struct CandGreater {
  bool operator()(const Cand& a, const Cand& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};
}  // namespace

void BpeModel::merge_word(std::string_view piece, std::vector<BpeToken>& out) const {
  thread_local std::vector<Sym> syms;
  thread_local std::vector<Cand> heap;
  syms.clear();
  heap.clear();
  if (byte_level_) {
    for (size_t i = 0; i < piece.size(); ++i)
      syms.push_back({byte_symbol_[static_cast<unsigned char>(piece[i])], static_cast<uint32_t>(i),
                      static_cast<uint32_t>(i + 1), static_cast<int32_t>(i) - 1, static_cast<int32_t>(i) + 1});
  } else {
    for (size_t i = 0; i < piece.size();) {
      size_t n = std::min(unicode::seq_len(static_cast<unsigned char>(piece[i])), piece.size() - i);
      int32_t k = static_cast<int32_t>(syms.size());
      syms.push_back({initial_symbol(piece.substr(i, n)), static_cast<uint32_t>(i), static_cast<uint32_t>(i + n),
                      k - 1, k + 1});
      i += n;
    }
  }
  const int32_t n = static_cast<int32_t>(syms.size());
  syms.back().next = -1;
  auto push = [&](int32_t pos) {
    int32_t nx = syms[pos].next;
    if (nx < 0) return;
    int32_t l = syms[pos].id, r = syms[nx].id;
    if (l < 0 || r < 0) return;
    if (const Merge* m = merges_.find(pair_key(l, r))) {
      heap.push_back({m->rank, static_cast<uint32_t>(pos), l, r});
      std::push_heap(heap.begin(), heap.end(), CandGreater{});
    }
  };
  if (n > 1) {
    for (int32_t i = 0; i + 1 < n; ++i) {
      int32_t l = syms[i].id, r = syms[i + 1].id;
      if (l < 0 || r < 0) continue;
      if (const Merge* m = merges_.find(pair_key(l, r))) heap.push_back({m->rank, static_cast<uint32_t>(i), l, r});
    }
    std::make_heap(heap.begin(), heap.end(), CandGreater{});
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), CandGreater{});
      Cand c = heap.back();
      heap.pop_back();
      Sym& s = syms[c.pos];
      if (s.id != c.left || s.begin == s.end) continue;
      int32_t nx = s.next;
      if (nx < 0 || syms[nx].id != c.right) continue;
      const Merge* m = merges_.find(pair_key(c.left, c.right));
      s.id = m->result;
      s.end = syms[nx].end;
      s.next = syms[nx].next;
      syms[nx].begin = syms[nx].end;  // dead
      syms[nx].id = kUnknownSymbol - 1;
      if (s.next >= 0) syms[s.next].prev = static_cast<int32_t>(c.pos);
      if (s.prev >= 0) push(s.prev);
      push(static_cast<int32_t>(c.pos));
    }
  }
  // Resolve symbols that are not vocabulary tokens.
  for (int32_t i = 0; i >= 0 && i < n; i = syms[i].next) {
    const Sym& s = syms[i];
    if (s.id >= 0 && s.id < kSynthBase) {
      out.push_back({s.id, s.begin, s.end});
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (uint32_t k = s.begin; k < s.end; ++k)
        all &= byte_fallback_id_[static_cast<unsigned char>(piece[k])] >= 0;
      if (all) {
        for (uint32_t k = s.begin; k < s.end; ++k)
          out.push_back({byte_fallback_id_[static_cast<unsigned char>(piece[k])], k, k + 1});
        continue;
      }
    }
    if (unk_id_) out.push_back({*unk_id_, s.begin, s.end});
  }
}

void BpeModel::encode(std::string_view piece, std::vector<BpeToken>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    const int32_t* id = byte_level_ ? raw_ids_.find(piece) : token_ids_.find(piece);
    if (id) {
      int32_t v = *id;
      for (auto& [f, t] : remap_)
        if (f == v) v = t;
      out.push_back({v, 0, static_cast<uint32_t>(piece.size())});
      return;
    }
  }
  const bool cacheable = piece.size() < 256;
  Shard* shard = nullptr;
  if (cacheable) {
    shard = &cache_[hash_bytes(piece) % kShards];
    std::lock_guard<std::mutex> lock(shard->mu);
    if (const uint32_t* at = shard->index.find(piece)) {
      const int32_t* p = shard->pool.data() + *at;
      int32_t cnt = p[0];
      for (int32_t k = 0; k < cnt; ++k)
        out.push_back({p[1 + 3 * k], static_cast<uint32_t>(p[2 + 3 * k]), static_cast<uint32_t>(p[3 + 3 * k])});
      return;
    }
  }
  size_t first = out.size();
  merge_word(piece, out);
  if (!remap_.empty())
    for (size_t k = first; k < out.size(); ++k)
      for (auto& [f, t] : remap_)
        if (out[k].id == f) out[k].id = t;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(shard->mu);
    if (shard->index.size() > (1u << 15)) {
      shard->index.clear();
      shard->pool.clear();
    }
    uint32_t at = static_cast<uint32_t>(shard->pool.size());
    shard->pool.push_back(static_cast<int32_t>(out.size() - first));
    for (size_t k = first; k < out.size(); ++k) {
      shard->pool.push_back(out[k].id);
      shard->pool.push_back(static_cast<int32_t>(out[k].begin));
      shard->pool.push_back(static_cast<int32_t>(out[k].end));
    }
    shard->index.put(piece, at);
  }
}

}  // namespace genlens::text
