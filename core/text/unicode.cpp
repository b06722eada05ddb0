#include "core/text/unicode.h"

#include <algorithm>
#include <cstring>

#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>

#include "core/util/error.h"

namespace genlens::text::unicode {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char32_t next_cp(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) { ++i; return b; }
  size_t n = seq_len(b);
  char32_t cp = b & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

namespace {

// The WHATWG UTF-8 decoder state machine. Calls emit(cp, src_begin, src_end) for each
// decoded code point or U+FFFD; returns false as soon as an error occurs if stop_on_error.
template <class Emit>
bool decode_whatwg(std::string_view s, Emit&& emit, bool stop_on_error) {
  size_t needed = 0, seen = 0, start = 0;
  char32_t cp = 0;
  unsigned lower = 0x80, upper = 0xBF;
  size_t i = 0;
  while (i < s.size()) {
    unsigned b = static_cast<unsigned char>(s[i]);
    if (needed == 0) {
      start = i;
      if (b <= 0x7F) {
        emit(b, i, i + 1);
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1; cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;
        if (b == 0xED) upper = 0x9F;
        needed = 2; cp = b & 0x0F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;
        if (b == 0xF4) upper = 0x8F;
        needed = 3; cp = b & 0x07;
      } else {
        if (stop_on_error) return false;
        emit(0xFFFD, i, i + 1);
      }
      ++i;
      continue;
    }
    if (b < lower || b > upper) {
      if (stop_on_error) return false;
      emit(0xFFFD, start, i);
      needed = seen = 0; cp = 0; lower = 0x80; upper = 0xBF;
      continue;  // reprocess this byte
    }
    lower = 0x80; upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    ++i;
    if (++seen == needed) {
      emit(cp, start, i);
      needed = seen = 0; cp = 0;
    }
  }
  if (needed != 0) {
    if (stop_on_error) return false;
    emit(0xFFFD, start, s.size());
  }
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  // ASCII fast path, 8 bytes at a time.
  size_t i = 0;
  const size_t n = s.size();
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (w & 0x8080808080808080ULL) break;
    i += 8;
  }
  while (i < n && static_cast<unsigned char>(s[i]) < 0x80) ++i;
  if (i == n) return true;
  return decode_whatwg(s.substr(i), [](char32_t, size_t, size_t) {}, true);
}

std::string sanitize_utf8(std::string_view s, std::vector<uint32_t>* src_begin,
                          std::vector<uint32_t>* src_end) {
  std::string out;
  out.reserve(s.size() + 8);
  decode_whatwg(
      s,
      [&](char32_t cp, size_t b, size_t e) {
        size_t before = out.size();
        append_utf8(out, cp);
        if (src_begin) {
          for (size_t k = before; k < out.size(); ++k) {
            src_begin->push_back(static_cast<uint32_t>(b));
            src_end->push_back(static_cast<uint32_t>(e));
          }
        }
      },
      false);
  return out;
}

RepairedText::RepairedText(std::string_view input) : input_(input), repaired_(!is_valid_utf8(input)) {
  if (repaired_) clean_ = sanitize_utf8(input, &src_begin_, &src_end_);
}

std::pair<size_t, size_t> RepairedText::to_input(size_t b, size_t e) const {
  if (!repaired_) return {b, e};
  if (b < e) return {src_begin_[b], std::max<size_t>(src_end_[e - 1], src_begin_[b])};
  size_t p = b < src_begin_.size() ? src_begin_[b] : input_.size();
  return {p, p};
}

bool is_js_space(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000: case 0xFEFF:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_white_space(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_py_space(char32_t c) { return is_white_space(c) || (c >= 0x1C && c <= 0x1F); }

namespace {
// Decodes one code point at s[i] and returns its byte length, or 0 when the bytes at i
// are not a well-formed UTF-8 sequence (then the caller treats byte i as a non-space).
size_t decode_checked(std::string_view s, size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  const size_t n = b0 >= 0xC2 && b0 < 0xE0 ? 2 : b0 >= 0xE0 && b0 < 0xF0 ? 3 : b0 >= 0xF0 && b0 < 0xF5 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  size_t j = i;
  cp = next_cp(s, j);
  const char32_t least = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;  // overlongs are ill-formed
  if (cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}
}  // namespace

std::string_view py_strip(std::string_view s) {
  // One forward pass: the first and the last non-space code point bound the result.
  size_t i = 0, b = std::string_view::npos, e = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    size_t n = decode_checked(s, i, cp);
    const bool space = n > 0 && is_py_space(cp);
    if (n == 0) n = 1;
    if (!space) {
      if (b == std::string_view::npos) b = i;
      e = i + n;
    }
    i += n;
  }
  return b == std::string_view::npos ? std::string_view() : s.substr(b, e - b);
}

void js_trim_range(std::string_view s, size_t& b, size_t& e, bool left, bool right) {
  b = 0;
  e = s.size();
  if (left) {
    while (b < e) {
      size_t j = b;
      if (!is_js_space(next_cp(s, j))) break;
      b = j;
    }
  }
  if (right) {
    while (e > b) {
      size_t k = e - 1;
      while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
      size_t j = k;
      if (!is_js_space(next_cp(s, j))) break;
      e = k;
    }
  }
}

std::string js_trim(std::string_view s) {
  size_t b, e;
  js_trim_range(s, b, e, true, true);
  return std::string(s.substr(b, e - b));
}

void Aligned::make_explicit() {
  if (!identity) return;
  begin.resize(text.size());
  end.resize(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    begin[i] = static_cast<uint32_t>(i);
    end[i] = static_cast<uint32_t>(i + 1);
  }
  identity = false;
}

namespace {

const icu::Normalizer2* get_normalizer(NormForm form) {
  UErrorCode st = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case NormForm::NFC: n = icu::Normalizer2::getNFCInstance(st); break;
    case NormForm::NFD: n = icu::Normalizer2::getNFDInstance(st); break;
    case NormForm::NFKC: n = icu::Normalizer2::getNFKCInstance(st); break;
    case NormForm::NFKD: n = icu::Normalizer2::getNFKDInstance(st); break;
  }
  if (U_FAILURE(st) || !n) fail("ICU: cannot create a Unicode normalizer ({})", u_errorName(st));
  return n;
}

}  // namespace

bool is_normalized(std::string_view s, NormForm form) {
  UErrorCode st = U_ZERO_ERROR;
  bool ok = get_normalizer(form)->isNormalizedUTF8(
      icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), st);
  return U_SUCCESS(st) && ok;
}

Aligned normalize(std::string_view s, NormForm form) {
  Aligned out;
  // ASCII is invariant under every normalization form.
  bool ascii = true;
  for (unsigned char c : s)
    if (c >= 0x80) { ascii = false; break; }
  if (ascii || is_normalized(s, form)) {
    out.text.assign(s);
    return out;
  }
  const icu::Normalizer2* norm = get_normalizer(form);
  UErrorCode st = U_ZERO_ERROR;
  icu::Edits edits;
  icu::StringByteSink<std::string> sink(&out.text, static_cast<int32_t>(s.size() + 16));
  norm->normalizeUTF8(0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, &edits, st);
  if (U_FAILURE(st)) fail("ICU: Unicode normalization failed ({})", u_errorName(st));
  out.identity = false;
  out.begin.assign(out.text.size(), 0);
  out.end.assign(out.text.size(), 0);
  auto it = edits.getFineIterator();
  while (it.next(st)) {
    int32_t src = it.sourceIndex(), dst = it.destinationIndex();
    int32_t ol = it.oldLength(), nl = it.newLength();
    if (!it.hasChange()) {
      for (int32_t k = 0; k < nl; ++k) {
        out.begin[dst + k] = static_cast<uint32_t>(src + k);
        out.end[dst + k] = static_cast<uint32_t>(src + k + 1);
      }
    } else {
      for (int32_t k = 0; k < nl; ++k) {
        out.begin[dst + k] = static_cast<uint32_t>(src);
        out.end[dst + k] = static_cast<uint32_t>(src + ol);
      }
    }
  }
  return out;
}

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace genlens::text::unicode
