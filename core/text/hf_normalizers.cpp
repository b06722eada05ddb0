// tokenizer.json normalizers (Sequence, NFC/NFD/NFKC/NFKD, Prepend, Replace, Strip), applied
// with byte alignment to the input so offsets survive normalization.
#include "core/text/hf_components.h"

#include "core/util/error.h"

namespace genlens::text::hf {

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

Aligned normalize_aligned(const std::vector<NormStep>& steps, std::string_view text) {
  Aligned n;
  n.text.assign(text);
  for (auto& st : steps) {
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
  return n;
}

std::string normalize_content(const std::vector<NormStep>& steps, const std::string& content) {
  Aligned cur;
  cur.text = content;
  for (auto& s : steps) {
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
  return cur.text;
}

}  // namespace genlens::text::hf
