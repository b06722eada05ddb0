// The Hugging Face tokenizer.json backend: added tokens -> normalizer -> pre-tokenizer
// -> BPE model -> post-processor, and the decoder chain back. This file loads and
// validates tokenizer.json and runs the chain; the components live in hf_json.cpp
// (field helpers), hf_normalizers.cpp, hf_pre_tokenizers.cpp and hf_decoders.cpp
// (declared in hf_components.h), the BPE model in bpe.cpp. Behaviour follows the JS
// reference (@huggingface/tokenizers), which the parity tests compare against; where
// the reference lacks a feature (Split behaviours other than Isolated/Removed,
// Metaspace split=true) the Rust crate's behaviour is used. Every token carries the byte
// range of the original input it came from.
#include <functional>
#include <unordered_set>

#include "core/text/added_trie.h"
#include "core/text/backends.h"
#include "core/text/bpe.h"
#include "core/text/hf_components.h"
#include "core/util/error.h"

namespace genlens::text {

using json = nlohmann::json;
using unicode::Aligned;

namespace {

using namespace hf;

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
      const int64_t n_tokens = static_cast<int64_t>(model_->vocab().size() + j["added_tokens"].size());
      if (id + 1 > BpeModel::sparse_id_bound(n_tokens))
        fail("{}: added_tokens[{}]: id {} is far beyond the {} tokens of the vocabulary and added_tokens; ids must run "
             "(nearly) contiguously from 0", where, k, id, n_tokens);
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
      if (p.contains("processors") && !p["processors"].is_array())
        fail("{}: Sequence post_processor: field \"processors\": expected an array", where);
      for (auto& q : p.value("processors", json::array())) parse_post(q);
      return;
    } else if (t == "ByteLevel") {
      return;
    } else if (t == "TemplateProcessing") {
      s.kind = PostStep::Template;
      if (!p.contains("single") || !p["single"].is_array())
        fail("{}: TemplateProcessing: field \"single\": expected an array", where);
      for (auto& item : p["single"]) {
        if (!item.is_object())
          fail("{}: TemplateProcessing: field \"single\": expected objects, found {}", where, item.dump().substr(0, 200));
        if (item.contains("SpecialToken")) {
          const json& st = item["SpecialToken"];
          if (!st.is_object() || !st.contains("id") || !st["id"].is_string())
            fail("{}: TemplateProcessing: SpecialToken: expected {{\"id\": string}}, found {}", where,
                 st.dump().substr(0, 200));
          s.single.push_back(tok(st["id"].get<std::string>()));
        }
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
      const std::string normalized = hf::normalize_content(norm_, a.content);
      norm_trie_.add(normalized, static_cast<int32_t>(i));
      added_by_content_.put(normalized, static_cast<int32_t>(i));
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
  Aligned n = hf::normalize_aligned(norm_, text);
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
    hf::apply_decoders(dec_, toks, [&](const std::string& t) { return added_by_content_.find(t) != nullptr; });
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
