// The components of the tokenizer.json backend (hf_tokenizer.cpp), one file per job so
// each can be read and fuzzed on its own: JSON field helpers (hf_json.cpp), normalizers
// (hf_normalizers.cpp), pre-tokenizers (hf_pre_tokenizers.cpp), post-processor steps and
// decoders (hf_decoders.cpp). Internal to core/text.
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/text/regex.h"
#include "core/text/unicode.h"

namespace genlens::text::hf {

using json = nlohmann::json;
using unicode::Aligned;

// ------------------------------------------------------------------ JSON fields
// The "type" of a component object; errors name `where`.
std::string type_of(const json& j, const std::string& where);
std::string str_or(const json& j, const char* k, const std::string& dflt);
bool bool_or(const json& j, const char* k, bool dflt);
// A non-negative integer field (absent or null: dflt); anything else is an error naming it.
size_t count_or(const json& j, const char* k, size_t dflt, const std::string& where);
// A {"String": s} or {"Regex": r} pattern.
Regex make_pattern(const json& p, const std::string& where);

// ---------------------------------------------------------------- normalizers
// Composes `step` (aligned to outer.text) with `outer` (aligned to a source).
Aligned compose(const Aligned& outer, Aligned step);
// Replaces every match in `in` with `content`; aligned to `in`.
Aligned replace_all(std::string_view in, const Regex& re, const std::string& content);
Aligned prepend(std::string_view in, const std::string& prefix);

struct NormStep {
  enum Kind { Unicode, Prepend, Replace, Strip } kind = Unicode;
  unicode::NormForm form = unicode::NormForm::NFC;
  std::string text;  // Prepend: prefix; Replace: content
  Regex re;
  bool left = false, right = false;
};

void parse_normalizer(const json& j, const std::string& where, std::vector<NormStep>& out);
// The normalized text, aligned to `text` (for encoding with offsets).
Aligned normalize_aligned(const std::vector<NormStep>& steps, std::string_view text);
// The normalized content of an added token (matched by its normalized form).
std::string normalize_content(const std::vector<NormStep>& steps, const std::string& content);

// --------------------------------------------------------------- pre-tokenizers
struct PreStep {
  enum Kind { Split, ByteLevel, Metaspace, Digits, WhitespaceSplit, Whitespace } kind = Split;
  Regex re;
  enum Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous } behavior = Isolated;
  bool invert = false;
  bool add_prefix_space = false, use_regex = false;
  std::string replacement;
  enum Prepend { Always, Never, First } prepend = Always;
  bool split = false;
};

void parse_pre_tokenizer(const json& j, const std::string& where, std::vector<PreStep>& out);

// A pre-tokenized piece: a view of the normalized text (map < 0: byte k is normalized
// byte base+k) or of a transformed copy in `owned[map]` (aligned to the normalized text).
struct Piece {
  std::string_view text;
  uint32_t base;
  int32_t map;
};

struct PreContext {
  std::deque<Aligned> owned;
  int section_index = 0;
  void span(const Piece& p, size_t k, uint32_t& b, uint32_t& e) const {
    if (p.map < 0) { b = p.base + static_cast<uint32_t>(k); e = b + 1; return; }
    const Aligned& a = owned[p.map];
    b = a.begin[p.base + k];
    e = a.end[p.base + k];
  }
  Piece sub(const Piece& p, size_t b, size_t e) const {
    return {p.text.substr(b, e - b), p.base + static_cast<uint32_t>(b), p.map};
  }
  // A transformed copy of `p`: `text` with per-byte indices into p (or -1 = inserted,
  // aligned to the position `at`).
  Piece transformed(const Piece& p, std::string text, const std::vector<std::pair<int32_t, int32_t>>& src) {
    Aligned a;
    a.identity = false;
    a.text = std::move(text);
    a.begin.resize(a.text.size());
    a.end.resize(a.text.size());
    for (size_t k = 0; k < a.text.size(); ++k) {
      auto [lo, hi] = src[k];  // [lo, hi) byte range of p, empty when lo == hi
      if (lo < hi) {
        uint32_t b0, e0, b1, e1;
        span(p, lo, b0, e0);
        span(p, hi - 1, b1, e1);
        a.begin[k] = b0;
        a.end[k] = std::max(e1, b0);
      } else {
        uint32_t b0 = 0, e0 = 0;
        if (!p.text.empty()) {
          if (static_cast<size_t>(lo) < p.text.size()) span(p, lo, b0, e0);
          else { span(p, p.text.size() - 1, e0, b0); b0 = e0 = std::max(b0, e0); }
        }
        a.begin[k] = a.end[k] = b0;
      }
    }
    owned.push_back(std::move(a));
    const Aligned& stored = owned.back();
    return {stored.text, 0, static_cast<int32_t>(owned.size() - 1)};
  }
};

void apply_pre_step(const PreStep& s, PreContext& ctx, std::vector<Piece>& pieces);

// ----------------------------------------------------------------- post-processor
struct PostStep {
  enum Kind { Template, Bert, NoOp } kind = NoOp;
  std::vector<int32_t> single;  // token ids; -1 = the sequence
};

// ---------------------------------------------------------------------- decoders
struct DecStep {
  enum Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace } kind = Fuse;
  Regex re;
  std::string content;
  size_t start = 0, stop = 0;
};

void parse_decoder(const json& j, const std::string& where, std::vector<DecStep>& out);
// Runs the decoder chain over the token strings; `is_added` tells added tokens (which
// pass the byte-level decoder verbatim).
void apply_decoders(const std::vector<DecStep>& steps, std::vector<std::string>& toks,
                    const std::function<bool(const std::string&)>& is_added);
std::string replace_str(const std::string& s, const std::string& from, const std::string& to);
std::string clean_up_tokenization(std::string s);

}  // namespace genlens::text::hf
