// tokenizer.json pre-tokenizers (Sequence, Split with every behaviour, ByteLevel, Metaspace,
// Digits, Whitespace, WhitespaceSplit); pieces keep their byte alignment.
#include "core/text/hf_components.h"

#include <tuple>

#include "core/util/error.h"

namespace genlens::text::hf {

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

}  // namespace genlens::text::hf
