// tokenizer.json decoders (Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)
// and the clean-up of tokenization spaces.
#include "core/text/hf_components.h"

#include <cctype>

#include "core/text/bpe.h"
#include "core/util/error.h"

namespace genlens::text::hf {

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
    s.start = count_or(j, "start", 0, where + ": Strip decoder");
    s.stop = count_or(j, "stop", 0, where + ": Strip decoder");
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


void apply_decoders(const std::vector<DecStep>& steps, std::vector<std::string>& toks,
                    const std::function<bool(const std::string&)>& is_added) {
  for (const DecStep& d : steps) {
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
          if (is_added(t)) {
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
}

}  // namespace genlens::text::hf
