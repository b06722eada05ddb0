// The Hugging Face tokenizer.json backend: added tokens -> normalizer -> pre-tokenizer
// -> BPE model -> post-processor, and the decoder chain back. Behaviour follows the JS
// reference (@huggingface/tokenizers), which the parity tests compare against; where
// the reference lacks a feature (Split behaviours other than Isolated/Removed,
// Metaspace split=true) the Rust crate's behaviour is used. Every token carries the byte
// range of the original input it came from.
#include <cctype>
#include <deque>
#include <functional>
#include <unordered_set>

#include "core/text/backends.h"
#include "core/text/added_trie.h"
#include "core/text/bpe.h"
#include "core/text/regex.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::text {

using json = nlohmann::json;
using unicode::Aligned;

std::optional<std::string> config_token(const json& config, const char* key, const std::string& source) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  fail("{}: field {}: expected a token string, an object with a string \"content\", or null; found {}", source, key,
       v.dump().substr(0, 200));
}

namespace {

std::string type_of(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    fail("{}: expected an object with a string \"type\", found {}", where, j.dump().substr(0, 200));
  return j["type"].get<std::string>();
}

std::string str_or(const json& j, const char* k, const std::string& dflt) {
  return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : dflt;
}
bool bool_or(const json& j, const char* k, bool dflt) {
  return j.contains(k) && j[k].is_boolean() ? j[k].get<bool>() : dflt;
}

// A {"String": s} or {"Regex": r} pattern.
Regex make_pattern(const json& p, const std::string& where) {
  if (p.is_object() && p.contains("Regex") && p["Regex"].is_string())
    return Regex::from_oniguruma(p["Regex"].get<std::string>(), where);
  if (p.is_object() && p.contains("String") && p["String"].is_string())
    return Regex::literal(p["String"].get<std::string>());
  fail("{}: pattern: expected {{\"String\": ...}} or {{\"Regex\": ...}}, found {}", where, p.dump());
}

// Composes `step` (aligned to outer.text) with `outer` (aligned to a source).
Aligned compose(const Aligned& outer, Aligned step) {
  if (step.identity) {
    Aligned r = outer;
    r.text = std::move(step.text);
    return r;
  }
  if (outer.identity) return step;
  for (size_t k = 0; k < step.text.size(); ++k) {
    size_t b = step.begin[k], e = step.end[k], sb, se;
    outer.source_range(b, e, sb, se);
    step.begin[k] = static_cast<uint32_t>(sb);
    step.end[k] = static_cast<uint32_t>(se);
  }
  return step;
}

// Replaces every match in `in` with `content`; aligned to `in`.
Aligned replace_all(std::string_view in, const Regex& re, const std::string& content) {
  thread_local std::vector<Regex::Match> ms;
  re.find_all(in, ms);
  Aligned out;
  bool changed = false;
  for (auto& m : ms) changed |= !(m.end - m.begin == content.size() && in.compare(m.begin, m.end - m.begin, content) == 0);
  if (!changed) {
    out.text.assign(in);
    return out;
  }
  out.identity = false;
  size_t prev = 0;
  auto copy = [&](size_t b, size_t e) {
    for (size_t k = b; k < e; ++k) {
      out.text += in[k];
      out.begin.push_back(static_cast<uint32_t>(k));
      out.end.push_back(static_cast<uint32_t>(k + 1));
    }
  };
  for (auto& m : ms) {
    copy(prev, m.begin);
    for (char c : content) {
      out.text += c;
      out.begin.push_back(static_cast<uint32_t>(m.begin));
      out.end.push_back(static_cast<uint32_t>(m.end));
    }
    prev = m.end;
  }
  copy(prev, in.size());
  return out;
}

Aligned prepend(std::string_view in, const std::string& prefix) {
  Aligned out;
  out.identity = false;
  out.text = prefix;
  out.text.append(in);
  out.begin.assign(prefix.size(), 0);
  out.end.assign(prefix.size(), 0);
  for (size_t k = 0; k < in.size(); ++k) {
    out.begin.push_back(static_cast<uint32_t>(k));
    out.end.push_back(static_cast<uint32_t>(k + 1));
  }
  return out;
}

// ---------------------------------------------------------------- normalizers
struct NormStep {
  enum Kind { Unicode, Prepend, Replace, Strip } kind = Unicode;
  unicode::NormForm form = unicode::NormForm::NFC;
  std::string text;  // Prepend: prefix; Replace: content
  Regex re;
  bool left = false, right = false;
};

void parse_normalizer(const json& j, const std::string& where, std::vector<NormStep>& out) {
  if (j.is_null()) return;
  std::string t = type_of(j, where);
  NormStep s;
  if (t == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array())
      fail("{}: Sequence normalizer: field \"normalizers\": expected an array", where);
    for (auto& n : j["normalizers"]) parse_normalizer(n, where, out);
    return;
  } else if (t == "NFC") { s.form = unicode::NormForm::NFC;
  } else if (t == "NFD") { s.form = unicode::NormForm::NFD;
  } else if (t == "NFKC") { s.form = unicode::NormForm::NFKC;
  } else if (t == "NFKD") { s.form = unicode::NormForm::NFKD;
  } else if (t == "Prepend") {
    s.kind = NormStep::Prepend;
    s.text = str_or(j, "prepend", "");
  } else if (t == "Replace") {
    s.kind = NormStep::Replace;
    s.re = make_pattern(j.value("pattern", json()), where + ": Replace normalizer");
    s.text = str_or(j, "content", "");
  } else if (t == "Strip") {
    s.kind = NormStep::Strip;
    s.left = bool_or(j, "strip_left", false);
    s.right = bool_or(j, "strip_right", false);
  } else {
    fail("{}: field normalizer: unsupported normalizer type '{}' (supported: Sequence, NFC, NFD, NFKC, NFKD, "
         "Prepend, Replace, Strip)", where, t);
  }
  out.push_back(std::move(s));
}

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

void parse_pre_tokenizer(const json& j, const std::string& where, std::vector<PreStep>& out) {
  if (j.is_null()) return;
  std::string t = type_of(j, where);
  PreStep s;
  if (t == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array())
      fail("{}: Sequence pre-tokenizer: field \"pretokenizers\": expected an array", where);
    for (auto& p : j["pretokenizers"]) parse_pre_tokenizer(p, where, out);
    return;
  } else if (t == "Split") {
    s.re = make_pattern(j.value("pattern", json()), where + ": Split pre-tokenizer");
    s.invert = bool_or(j, "invert", false);
    std::string b = str_or(j, "behavior", "Isolated");
    if (b == "Isolated") s.behavior = PreStep::Isolated;
    else if (b == "Removed") s.behavior = PreStep::Removed;
    else if (b == "MergedWithPrevious") s.behavior = PreStep::MergedWithPrevious;
    else if (b == "MergedWithNext") s.behavior = PreStep::MergedWithNext;
    else if (b == "Contiguous") s.behavior = PreStep::Contiguous;
    else fail("{}: Split pre-tokenizer: unknown behavior '{}'", where, b);
  } else if (t == "ByteLevel") {
    s.kind = PreStep::ByteLevel;
    s.add_prefix_space = bool_or(j, "add_prefix_space", false);
    s.use_regex = bool_or(j, "use_regex", true);
    if (s.use_regex) s.re = Regex::gpt2_byte_level();
  } else if (t == "Metaspace") {
    s.kind = PreStep::Metaspace;
    s.replacement = str_or(j, "replacement", "\u2581");
    std::string scheme = str_or(j, "prepend_scheme", "");
    if (scheme.empty()) s.prepend = bool_or(j, "add_prefix_space", true) ? PreStep::Always : PreStep::Never;
    else if (scheme == "always") s.prepend = PreStep::Always;
    else if (scheme == "never") s.prepend = PreStep::Never;
    else if (scheme == "first") s.prepend = PreStep::First;
    else fail("{}: Metaspace pre-tokenizer: unknown prepend_scheme '{}'", where, scheme);
    s.split = bool_or(j, "split", true);
  } else if (t == "Digits") {
    s.kind = PreStep::Digits;
    s.re = Regex::from_pcre2(bool_or(j, "individual_digits", false) ? "[^0-9]+|[0-9]" : "[^0-9]+|[0-9]+",
                             where + ": Digits pre-tokenizer");
  } else if (t == "WhitespaceSplit") {
    s.kind = PreStep::WhitespaceSplit;
    s.re = Regex::from_pcre2(
        "[^\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}]+",
        where);
  } else if (t == "Whitespace") {
    s.kind = PreStep::Whitespace;
    s.re = Regex::from_pcre2(
        "[A-Za-z0-9_]+|[^A-Za-z0-9_\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
        "\\x{205F}\\x{3000}\\x{FEFF}]+",
        where);
  } else {
    fail("{}: field pre_tokenizer: unsupported pre-tokenizer type '{}' (supported: Sequence, Split, ByteLevel, "
         "Metaspace, Digits, Whitespace, WhitespaceSplit)", where, t);
  }
  out.push_back(std::move(s));
}

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

// Replaces every `from` with `to` and optionally prepends `prefix`.
Piece replace_prepend(PreContext& ctx, const Piece& p, const std::string& from, const std::string& to,
                      const std::string& prefix) {
  std::string text;
  std::vector<std::pair<int32_t, int32_t>> src;
  for (char c : prefix) { text += c; src.emplace_back(0, 0); }
  size_t i = 0;
  while (i < p.text.size()) {
    if (!from.empty() && p.text.compare(i, from.size(), from) == 0) {
      for (char c : to) { text += c; src.emplace_back(static_cast<int32_t>(i), static_cast<int32_t>(i + from.size())); }
      i += from.size();
    } else {
      text += p.text[i];
      src.emplace_back(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));
      ++i;
    }
  }
  return ctx.transformed(p, std::move(text), src);
}

void apply_split(const PreStep& s, PreContext& ctx, const Piece& p, std::vector<Piece>& out) {
  thread_local std::vector<Regex::Match> ms;
  s.re.find_all(p.text, ms);
  if (s.invert || s.kind != PreStep::Split) {
    // The reference keeps only the matches here (text.match(pattern)).
    for (auto& m : ms)
      if (m.end > m.begin) out.push_back(ctx.sub(p, m.begin, m.end));
    return;
  }
  // (begin, end, is_match) segments, empty matches dropped.
  size_t prev = 0;
  size_t first = out.size();
  std::vector<std::tuple<size_t, size_t, bool>> segs;
  for (auto& m : ms) {
    if (prev < m.begin) segs.emplace_back(prev, m.begin, false);
    if (m.end > m.begin) segs.emplace_back(m.begin, m.end, true);
    prev = std::max(prev, m.end);
  }
  if (prev < p.text.size()) segs.emplace_back(prev, p.text.size(), false);
  switch (s.behavior) {
    case PreStep::Isolated:
      for (auto& [b, e, m] : segs) out.push_back(ctx.sub(p, b, e));
      break;
    case PreStep::Removed:
      for (auto& [b, e, m] : segs)
        if (!m) out.push_back(ctx.sub(p, b, e));
      break;
    case PreStep::MergedWithPrevious: {
      size_t cur = std::string::npos;
      for (auto& [b, e, m] : segs) {
        if (m && cur != std::string::npos) { out.back() = ctx.sub(p, cur, e); }
        else { out.push_back(ctx.sub(p, b, e)); cur = b; }
        if (m) cur = std::string::npos;
      }
      break;
    }
    case PreStep::MergedWithNext: {
      size_t pending = std::string::npos;
      for (auto& [b, e, m] : segs) {
        size_t start = pending != std::string::npos ? pending : b;
        if (m) {
          if (pending != std::string::npos) out.push_back(ctx.sub(p, pending, b));
          pending = b;
          (void)start;
        } else {
          out.push_back(ctx.sub(p, start, e));
          pending = std::string::npos;
        }
      }
      if (pending != std::string::npos) out.push_back(ctx.sub(p, pending, p.text.size()));
      break;
    }
    case PreStep::Contiguous: {
      bool last_match = false;
      for (auto& [b, e, m] : segs) {
        if (m && last_match && out.size() > first) out.back() = ctx.sub(p, out.back().base - p.base, e);
        else out.push_back(ctx.sub(p, b, e));
        last_match = m;
      }
      break;
    }
  }
}

void apply_pre_step(const PreStep& s, PreContext& ctx, std::vector<Piece>& pieces) {
  thread_local std::vector<Piece> next;
  next.clear();
  for (const Piece& p0 : pieces) {
    Piece p = p0;
    switch (s.kind) {
      case PreStep::ByteLevel:
        if (s.add_prefix_space && (p.text.empty() || p.text[0] != ' '))
          p = replace_prepend(ctx, p, "", "", " ");
        if (s.use_regex) apply_split(s, ctx, p, next);
        else next.push_back(p);
        break;
      case PreStep::Metaspace: {
        // (The reference tests the text after spaces became the replacement.)
        bool starts = p.text.compare(0, s.replacement.size(), s.replacement) == 0 ||
                      (!p.text.empty() && p.text[0] == ' ');
        bool add = !starts && (s.prepend == PreStep::Always || (s.prepend == PreStep::First && ctx.section_index == 0));
        Piece q = replace_prepend(ctx, p, " ", s.replacement, add ? s.replacement : "");
        if (!s.split) { next.push_back(q); break; }
        // Rust's split=true: a new piece starts at every replacement character.
        size_t start = 0;
        for (size_t i = s.replacement.size(); i <= q.text.size(); ++i) {
          if (i == q.text.size() || q.text.compare(i, s.replacement.size(), s.replacement) == 0) {
            if (i > start) next.push_back(ctx.sub(q, start, i));
            start = i;
          }
        }
        if (q.text.size() > 0 && start < q.text.size()) next.push_back(ctx.sub(q, start, q.text.size()));
        break;
      }
      default:
        apply_split(s, ctx, p, next);
    }
  }
  pieces.swap(next);
}

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

void parse_decoder(const json& j, const std::string& where, std::vector<DecStep>& out) {
  if (j.is_null()) return;
  std::string t = type_of(j, where);
  DecStep s;
  if (t == "Sequence") {
    if (!j.contains("decoders") || !j["decoders"].is_array())
      fail("{}: Sequence decoder: field \"decoders\": expected an array", where);
    for (auto& d : j["decoders"]) parse_decoder(d, where, out);
    return;
  } else if (t == "ByteLevel") { s.kind = DecStep::ByteLevel;
  } else if (t == "Replace") {
    s.kind = DecStep::Replace;
    s.re = make_pattern(j.value("pattern", json()), where + ": Replace decoder");
    s.content = str_or(j, "content", "");
  } else if (t == "ByteFallback") { s.kind = DecStep::ByteFallback;
  } else if (t == "Fuse") { s.kind = DecStep::Fuse;
  } else if (t == "Strip") {
    s.kind = DecStep::Strip;
    s.content = str_or(j, "content", "");
    s.start = j.value("start", 0);
    s.stop = j.value("stop", 0);
  } else if (t == "Metaspace") {
    s.kind = DecStep::Metaspace;
    s.content = str_or(j, "replacement", "\u2581");
  } else {
    fail("{}: field decoder: unsupported decoder type '{}' (supported: Sequence, ByteLevel, Replace, ByteFallback, "
         "Fuse, Strip, Metaspace)", where, t);
  }
  out.push_back(std::move(s));
}

std::string replace_str(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t i = 0;
  for (size_t p; (p = s.find(from, i)) != std::string::npos; i = p + from.size()) {
    out.append(s, i, p - i);
    out += to;
  }
  out.append(s, i, std::string::npos);
  return out;
}

std::string clean_up_tokenization(std::string s) {
  static const std::pair<const char*, const char*> rules[] = {
      {" .", "."},  {" ?", "?"},   {" !", "!"},   {" ,", ","},   {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto& [f, t] : rules) s = replace_str(s, f, t);
  return s;
}

// ===================================================================== tokenizer
class HfTokenizer final : public BasicTokenizer {
 public:
  HfTokenizer(std::string_view text, const json& config, const std::string& where);

  Encoding encode_with_offsets(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<TokenId>& ids, bool skip_special) const override {
    DecodeOptions o;
    o.skip_special = skip_special;
    return decode_with(ids, o);
  }
  std::string decode_with(const std::vector<TokenId>& ids, const DecodeOptions& opt) const override;
  std::string id_to_piece(TokenId id) const override {
    return id >= 0 && static_cast<size_t>(id) < vocab_.size() ? vocab_[id] : std::string();
  }
  std::optional<TokenId> piece_to_id(std::string_view piece) const override {
    if (auto* a = added_by_content_.find(piece)) return added_[*a].id;
    return model_->token_to_id(piece);
  }
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.size()); }
  bool is_special(TokenId id) const override {
    return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id];
  }
  TokenId add_special_token(const std::string& content) override;
  std::string backend_name() const override { return "hf-bpe"; }
  std::vector<AddedToken> added_tokens() const override { return added_; }

 private:
  void add_added_token(const AddedToken& t);
  void rebuild_tries();
  void strip_around_added(std::string_view text, std::vector<AddedTrie::Section>& sections) const;
  // Encodes src.text()[b, e) (a section between added tokens); offsets map back to the input.
  void encode_section(const unicode::RepairedText& src, uint32_t b, uint32_t e, int section_index,
                      Encoding& enc) const;

  std::string where_;
  std::unique_ptr<BpeModel> model_;
  std::vector<NormStep> norm_;
  std::vector<PreStep> pre_;
  std::vector<PostStep> post_;
  std::vector<DecStep> dec_;
  std::vector<AddedToken> added_;
  StringMap<int32_t> added_by_content_;  // content (and normalized content) -> index in added_
  AddedTrie raw_trie_, norm_trie_;
  std::vector<std::string> vocab_;
  std::vector<bool> special_;          // is_special (added special tokens)
  std::vector<bool> skip_in_decode_;   // content is a special token (reference: by content)
  std::vector<bool> is_added_;
  std::vector<std::string> extra_special_contents_;  // tokenizer_config additional_special_tokens
  bool clean_up_ = true;
};

HfTokenizer::HfTokenizer(std::string_view text, const json& config, const std::string& where) : where_(where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", where, e.what());
  }
  if (!j.is_object()) fail("{}: expected a JSON object at the top level, found {}", where, j.type_name());
  if (!j.contains("model") || !j["model"].is_object()) fail("{}: field model: expected an object", where);
  const json& m = j["model"];
  std::string mt = m.contains("type") && m["type"].is_string() ? m["type"].get<std::string>() : "";
  if (mt.empty() && m.contains("merges")) mt = "BPE";
  if (mt != "BPE")
    fail("{}: field model.type: unsupported model type '{}' (supported: BPE; use tokenizer.model for "
         "SentencePiece Unigram models)", where, mt.empty() ? std::string("(missing)") : mt);
  model_ = std::make_unique<BpeModel>(m, where);

  parse_normalizer(j.value("normalizer", json()), where, norm_);
  parse_pre_tokenizer(j.value("pre_tokenizer", json()), where, pre_);
  parse_decoder(j.value("decoder", json()), where, dec_);
  bool byte_level = false;
  for (auto& p : pre_) byte_level |= p.kind == PreStep::ByteLevel;
  model_->set_byte_level(byte_level);

  if (j.contains("added_tokens")) {
    if (!j["added_tokens"].is_array()) fail("{}: field added_tokens: expected an array", where);
    size_t k = 0;
    for (const json& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string())
        fail("{}: added_tokens[{}]: expected {{\"id\": int, \"content\": string, ...}}, found {}", where, k,
             a.dump().substr(0, 200));
      AddedToken t;
      int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= BpeModel::kMaxTokenId)
        fail("{}: added_tokens[{}]: id {} out of range [0, {})", where, k, id, BpeModel::kMaxTokenId);
      t.id = static_cast<int32_t>(id);
      t.content = a["content"].get<std::string>();
      t.special = bool_or(a, "special", false);
      t.lstrip = bool_or(a, "lstrip", false);
      t.rstrip = bool_or(a, "rstrip", false);
      t.normalized = a.contains("normalized") && a["normalized"].is_boolean() ? a["normalized"].get<bool>() : !t.special;
      add_added_token(t);
      ++k;
    }
  }
  if (config.is_object() && config.contains("additional_special_tokens") && config["additional_special_tokens"].is_array())
    for (auto& t : config["additional_special_tokens"]) {
      std::string c = t.is_string() ? t.get<std::string>()
                      : (t.is_object() && t.contains("content") && t["content"].is_string()) ? t["content"].get<std::string>()
                                                                                             : "";
      if (!c.empty()) extra_special_contents_.push_back(c);
    }
  if (config.is_object() && config.contains("clean_up_tokenization_spaces") &&
      config["clean_up_tokenization_spaces"].is_boolean())
    clean_up_ = config["clean_up_tokenization_spaces"].get<bool>();
  rebuild_tries();

  // Post-processor.
  std::function<void(const json&)> parse_post = [&](const json& p) {
    if (p.is_null()) return;
    std::string t = type_of(p, where);
    PostStep s;
    auto tok = [&](const std::string& content) -> int32_t {
      auto id = piece_to_id(content);
      if (!id) fail("{}: post_processor: special token '{}' is not in the vocabulary", where, content);
      return *id;
    };
    if (t == "Sequence") {
      for (auto& q : p.value("processors", json::array())) parse_post(q);
      return;
    } else if (t == "ByteLevel") {
      return;
    } else if (t == "TemplateProcessing") {
      s.kind = PostStep::Template;
      if (!p.contains("single") || !p["single"].is_array())
        fail("{}: TemplateProcessing: field \"single\": expected an array", where);
      for (auto& item : p["single"]) {
        if (item.contains("SpecialToken")) s.single.push_back(tok(item["SpecialToken"].value("id", std::string())));
        else if (item.contains("Sequence")) s.single.push_back(-1);
        else fail("{}: TemplateProcessing: unexpected item {}", where, item.dump());
      }
    } else if (t == "BertProcessing" || t == "RobertaProcessing") {
      s.kind = PostStep::Template;
      auto name = [&](const char* k) {
        if (!p.contains(k) || !p[k].is_array() || p[k].empty() || !p[k][0].is_string())
          fail("{}: {}: field \"{}\": expected [token, id]", where, t, k);
        return p[k][0].get<std::string>();
      };
      s.single = {tok(name("cls")), -1, tok(name("sep"))};
    } else {
      fail("{}: field post_processor: unsupported post-processor type '{}' (supported: TemplateProcessing, "
           "ByteLevel, BertProcessing, RobertaProcessing, Sequence)", where, t);
    }
    post_.push_back(std::move(s));
  };
  parse_post(j.value("post_processor", json()));

  if (auto u = model_->unk_id()) unk_ = *u;
}

void HfTokenizer::add_added_token(const AddedToken& t) {
  // Replace an earlier entry with the same id.
  for (auto& a : added_)
    if (a.id == t.id) {
      a = t;
      return;
    }
  added_.push_back(t);
  if (auto mid = model_->token_to_id(t.content); mid && *mid != t.id) model_->set_remap(*mid, t.id);
  model_->add_known_token(t.content, t.id);
}

void HfTokenizer::rebuild_tries() {
  std::sort(added_.begin(), added_.end(), [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  raw_trie_.clear();
  norm_trie_.clear();
  added_by_content_.clear();
  int32_t max_id = static_cast<int32_t>(model_->vocab().size()) - 1;
  for (auto& a : added_) max_id = std::max(max_id, a.id);
  vocab_ = model_->vocab();
  vocab_.resize(static_cast<size_t>(max_id + 1));
  special_.assign(vocab_.size(), false);
  is_added_.assign(vocab_.size(), false);
  for (size_t i = 0; i < added_.size(); ++i) {
    const AddedToken& a = added_[i];
    vocab_[a.id] = a.content;
    special_[a.id] = a.special;
    is_added_[a.id] = true;
    added_by_content_.put(a.content, static_cast<int32_t>(i));
    if (a.normalized && !norm_.empty()) {
      // The reference matches normalized tokens by their normalized content.
      Aligned cur;
      cur.text = a.content;
      for (auto& s : norm_) {
        switch (s.kind) {
          case NormStep::Unicode: cur.text = unicode::normalize(cur.text, s.form).text; break;
          case NormStep::Prepend: cur.text = s.text + cur.text; break;
          case NormStep::Replace: cur.text = replace_all(cur.text, s.re, s.text).text; break;
          case NormStep::Strip: {
            size_t b, e;
            unicode::js_trim_range(cur.text, b, e, s.left, s.right);
            cur.text = cur.text.substr(b, e - b);
            break;
          }
        }
      }
      norm_trie_.add(cur.text, static_cast<int32_t>(i));
      added_by_content_.put(cur.text, static_cast<int32_t>(i));
    } else {
      raw_trie_.add(a.content, static_cast<int32_t>(i));
    }
  }
  std::unordered_set<std::string_view> specials;
  for (auto& a : added_)
    if (a.special) specials.insert(a.content);
  for (auto& c : extra_special_contents_) specials.insert(c);
  skip_in_decode_.assign(vocab_.size(), false);
  for (size_t id = 0; id < vocab_.size(); ++id) skip_in_decode_[id] = specials.count(vocab_[id]) > 0;
}

TokenId HfTokenizer::add_special_token(const std::string& content) {
  if (content.empty()) fail("add_special_token: the token content is empty");
  if (auto id = piece_to_id(content)) return *id;
  AddedToken t;
  t.id = vocab_size();
  t.content = content;
  t.special = true;
  t.normalized = false;
  add_added_token(t);
  rebuild_tries();
  return t.id;
}

// An added token with lstrip / rstrip swallows the whitespace of its neighbours.
void HfTokenizer::strip_around_added(std::string_view text, std::vector<AddedTrie::Section>& sections) const {
  for (size_t i = 0; i < sections.size(); ++i) {
    if (sections[i].value < 0) continue;
    const AddedToken& a = added_[sections[i].value];
    if (a.lstrip && i > 0) {
      auto& prev = sections[i - 1];
      size_t tb, te;
      unicode::js_trim_range(text.substr(prev.b, prev.e - prev.b), tb, te, false, true);
      prev.e = prev.b + static_cast<uint32_t>(te);
    }
    if (a.rstrip && i + 1 < sections.size()) {
      auto& next = sections[i + 1];
      size_t tb, te;
      unicode::js_trim_range(text.substr(next.b, next.e - next.b), tb, te, true, false);
      next.b += static_cast<uint32_t>(tb);
    }
  }
}

void HfTokenizer::encode_section(const unicode::RepairedText& src, uint32_t b, uint32_t e, int section_index,
                                 Encoding& enc) const {
  std::string_view text = src.text().substr(b, e - b);
  // Normalize, keeping the alignment to `text`.
  Aligned n;
  n.text.assign(text);
  for (auto& st : norm_) {
    switch (st.kind) {
      case NormStep::Unicode: n = compose(n, unicode::normalize(n.text, st.form)); break;
      case NormStep::Prepend: n = compose(n, prepend(n.text, st.text)); break;
      case NormStep::Replace: n = compose(n, replace_all(n.text, st.re, st.text)); break;
      case NormStep::Strip: {
        size_t sb, se;
        unicode::js_trim_range(n.text, sb, se, st.left, st.right);
        Aligned cut;
        cut.identity = false;
        cut.text = n.text.substr(sb, se - sb);
        for (size_t k = sb; k < se; ++k) {
          cut.begin.push_back(static_cast<uint32_t>(k));
          cut.end.push_back(static_cast<uint32_t>(k + 1));
        }
        n = compose(n, std::move(cut));
        break;
      }
    }
  }
  if (n.text.empty()) return;
  auto n_to_orig = [&](size_t nb, size_t ne) {
    size_t sb, se;
    n.source_range(nb, ne, sb, se);
    auto [ib, ie] = src.to_input(b + sb, b + se);
    return Span{ib, ie};
  };
  std::vector<AddedTrie::Section> local;
  norm_trie_.split(n.text, local);
  strip_around_added(n.text, local);
  PreContext ctx;
  ctx.section_index = section_index;
  std::vector<Piece> pieces;
  std::vector<BpeToken> toks;
  for (auto& sub : local) {
    if (sub.e <= sub.b) continue;
    std::string_view st = std::string_view(n.text).substr(sub.b, sub.e - sub.b);
    int32_t added_index = sub.value;
    if (added_index < 0)
      if (auto* a = added_by_content_.find(st)) added_index = *a;
    if (added_index >= 0) {
      enc.ids.push_back(added_[added_index].id);
      enc.offsets.push_back(n_to_orig(sub.b, sub.e));
      continue;
    }
    pieces.clear();
    pieces.push_back({st, sub.b, -1});
    for (auto& p : pre_) apply_pre_step(p, ctx, pieces);
    size_t first_tok = enc.ids.size();
    for (const Piece& p : pieces) {
      toks.clear();
      model_->encode(p.text, toks);
      for (auto& t : toks) {
        uint32_t b0, e0, b1, e1;
        ctx.span(p, t.begin, b0, e0);
        ctx.span(p, t.end - 1, b1, e1);
        enc.ids.push_back(t.id);
        enc.offsets.push_back(n_to_orig(b0, std::max(b0, e1)));
      }
    }
    if (model_->fuse_unk() && unk_) {
      // Consecutive unknown tokens collapse into one (reference: fuse_unk).
      size_t w = first_tok;
      for (size_t r = first_tok; r < enc.ids.size(); ++r) {
        if (w > first_tok && enc.ids[r] == *unk_ && enc.ids[w - 1] == *unk_) {
          enc.offsets[w - 1].end = enc.offsets[r].end;
          continue;
        }
        enc.ids[w] = enc.ids[r];
        enc.offsets[w] = enc.offsets[r];
        ++w;
      }
      enc.ids.resize(w);
      enc.offsets.resize(w);
    }
  }
}

Encoding HfTokenizer::encode_with_offsets(std::string_view input, bool add_special) const {
  const unicode::RepairedText repaired(input);
  const std::string_view s = repaired.text();
  auto to_orig = [&](size_t b, size_t e) {
    auto [ib, ie] = repaired.to_input(b, e);
    return Span{ib, ie};
  };
  Encoding enc;
  std::vector<AddedTrie::Section> sections;
  raw_trie_.split(s, sections);
  strip_around_added(s, sections);
  for (size_t i = 0; i < sections.size(); ++i) {
    const auto& sec = sections[i];
    if (sec.e <= sec.b) continue;
    if (sec.value >= 0) {
      enc.ids.push_back(added_[sec.value].id);
      enc.offsets.push_back(to_orig(sec.b, sec.e));
      continue;
    }
    if (auto* a = added_by_content_.find(s.substr(sec.b, sec.e - sec.b))) {
      enc.ids.push_back(added_[*a].id);
      enc.offsets.push_back(to_orig(sec.b, sec.e));
      continue;
    }
    encode_section(repaired, sec.b, sec.e, static_cast<int>(i), enc);
  }
  for (const PostStep& p : post_) {
    if (p.kind != PostStep::Template) continue;
    Encoding out;
    bool seen_sequence = false;
    for (int32_t item : p.single) {
      if (item < 0) {
        seen_sequence = true;
        out.ids.insert(out.ids.end(), enc.ids.begin(), enc.ids.end());
        out.offsets.insert(out.offsets.end(), enc.offsets.begin(), enc.offsets.end());
      } else if (add_special) {
        // Special tokens get an empty span where they stand: before the text or after it.
        size_t at = seen_sequence ? input.size() : 0;
        out.ids.push_back(item);
        out.offsets.push_back({at, at});
      }
    }
    enc = std::move(out);
  }
  return enc;
}

std::string HfTokenizer::decode_with(const std::vector<TokenId>& ids, const DecodeOptions& opt) const {
  std::vector<std::string> toks;
  toks.reserve(ids.size());
  for (TokenId id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_.size() || vocab_[id].empty()) continue;
    if (opt.skip_special && skip_in_decode_[id]) continue;
    toks.push_back(vocab_[id]);
  }
  std::string out;
  if (dec_.empty()) {
    for (size_t i = 0; i < toks.size(); ++i) {
      if (i) out += ' ';
      out += toks[i];
    }
  } else {
    for (const DecStep& d : dec_) {
      switch (d.kind) {
        case DecStep::ByteLevel: {
          // Added tokens pass through verbatim; runs of other tokens are joined and
          // decoded from the byte alphabet (invalid UTF-8 -> U+FFFD, like TextDecoder).
          std::vector<std::string> next;
          std::string raw;
          auto flush = [&] {
            if (raw.empty()) return;
            next.push_back(unicode::is_valid_utf8(raw) ? raw : unicode::sanitize_utf8(raw));
            raw.clear();
          };
          std::string r;
          for (auto& t : toks) {
            if (added_by_content_.find(t)) {
              flush();
              next.push_back(t);
              continue;
            }
            if (byte_level_decode(t, r)) {
              raw += r;
              continue;
            }
            // A character outside the byte alphabet becomes byte 0 in the reference.
            for (size_t i = 0; i < t.size();) {
              size_t j = i;
              char32_t c = unicode::next_cp(t, j);
              std::string one;
              unicode::append_utf8(one, c);
              raw += byte_level_decode(one, r) ? r : std::string(1, '\0');
              i = j;
            }
          }
          flush();
          toks.swap(next);
          break;
        }
        case DecStep::Replace:
          for (auto& t : toks) t = replace_all(t, d.re, d.content).text;
          break;
        case DecStep::ByteFallback: {
          // Runs of <0xXX> tokens decode like TextDecoder(): U+FFFD for invalid
          // sequences, and a leading BOM is dropped (ignoreBOM is false there).
          auto utf8 = [](const std::string& b) {
            std::string t = unicode::is_valid_utf8(b) ? b : unicode::sanitize_utf8(b);
            if (t.compare(0, 3, "\xEF\xBB\xBF") == 0) t.erase(0, 3);
            return t;
          };
          std::vector<std::string> next;
          std::string bytes;
          bool have = false;
          for (auto& t : toks) {
            unsigned v = 0;
            bool is_byte = t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
                           std::isxdigit(static_cast<unsigned char>(t[3])) &&
                           std::isxdigit(static_cast<unsigned char>(t[4]));
            if (is_byte) {
              v = static_cast<unsigned>(std::stoul(t.substr(3, 2), nullptr, 16));
              bytes += static_cast<char>(v);
              have = true;
              continue;
            }
            if (have) {
              next.push_back(utf8(bytes));
              bytes.clear();
              have = false;
            }
            next.push_back(t);
          }
          if (have) next.push_back(utf8(bytes));
          toks.swap(next);
          break;
        }
        case DecStep::Fuse: {
          std::string all;
          for (auto& t : toks) all += t;
          toks.assign(1, all);
          break;
        }
        case DecStep::Strip: {
          const std::string& c = d.content;
          if (c.empty()) break;
          for (auto& t : toks) {
            size_t b = 0, e = t.size();
            for (size_t i = 0; i < d.start && e - b >= c.size() && t.compare(b, c.size(), c) == 0; ++i) b += c.size();
            for (size_t i = 0; i < d.stop && e - b >= c.size() && t.compare(e - c.size(), c.size(), c) == 0; ++i)
              e -= c.size();
            t = t.substr(b, e - b);
          }
          break;
        }
        case DecStep::Metaspace:
          for (size_t i = 0; i < toks.size(); ++i) {
            toks[i] = replace_str(toks[i], d.content, " ");
            if (i == 0 && !toks[i].empty() && toks[i][0] == ' ') toks[i].erase(0, 1);
          }
          break;
      }
    }
    for (auto& t : toks) out += t;
  }
  if (opt.clean_up_spaces.value_or(clean_up_)) out = clean_up_tokenization(std::move(out));
  return out;
}

}  // namespace

std::unique_ptr<BasicTokenizer> make_hf_tokenizer(std::string_view tokenizer_json, const json& config,
                                                  const std::string& where) {
  return std::make_unique<HfTokenizer>(tokenizer_json, config, where);
}

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(std::string_view tokenizer_json,
                                                  std::string_view tokenizer_config_json, const std::string& where) {
  json config;
  if (!tokenizer_config_json.empty()) {
    try {
      config = json::parse(tokenizer_config_json);
    } catch (const json::exception& e) {
      fail("{}: tokenizer_config.json is not valid JSON: {}", where, e.what());
    }
  }
  auto t = make_hf_tokenizer(tokenizer_json, config, where);
  if (auto b = config_token(config, "bos_token")) t->set_bos(t->piece_to_id(*b));
  if (auto e = config_token(config, "eos_token")) t->set_eos(t->piece_to_id(*e));
  if (auto p = config_token(config, "pad_token")) t->set_pad(t->piece_to_id(*p));
  if (auto u = config_token(config, "unk_token")) t->set_unk(t->piece_to_id(*u));
  return t;
}

}  // namespace genlens::text
