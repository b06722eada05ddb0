#include "core/text/readable_piece.h"

#include <fmt/format.h>

#include "core/text/bpe.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"

namespace genlens::text {

PieceScheme piece_scheme(const Tokenizer& tok) {
  if (tok.backend_name() == "sentencepiece") return PieceScheme::Metaspace;
  if (tok.piece_to_id("Ġ") || tok.piece_to_id("Ċ") || tok.piece_to_id("Ġthe")) return PieceScheme::ByteLevel;
  if (tok.piece_to_id("▁") || tok.piece_to_id("▁the") || tok.piece_to_id("<0x0A>")) return PieceScheme::Metaspace;
  return PieceScheme::Plain;
}

namespace {
// "<0x0A>" (byte fallback) -> the byte, else -1.
int byte_fallback(std::string_view p) {
  if (p.size() != 6 || p.substr(0, 3) != "<0x" || p[5] != '>') return -1;
  int v = 0;
  for (char c : p.substr(3, 2)) {
    v *= 16;
    if (c >= '0' && c <= '9') v += c - '0';
    else if (c >= 'A' && c <= 'F') v += c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v += c - 'a' + 10;
    else return -1;
  }
  return v;
}
}  // namespace

std::string piece_bytes(std::string_view piece, PieceScheme scheme) {
  switch (scheme) {
    case PieceScheme::ByteLevel: {
      std::string out;
      if (byte_level_decode(piece, out)) return out;
      return std::string(piece);
    }
    case PieceScheme::Metaspace: {
      if (int b = byte_fallback(piece); b >= 0) return std::string(1, static_cast<char>(b));
      std::string out;
      static const std::string_view kMeta = "▁";
      for (size_t i = 0; i < piece.size();) {
        if (piece.substr(i, kMeta.size()) == kMeta) {
          out.push_back(' ');
          i += kMeta.size();
        } else {
          out.push_back(piece[i++]);
        }
      }
      return out;
    }
    case PieceScheme::Plain: break;
  }
  return std::string(piece);
}

std::string make_visible(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (b == ' ') out += "·";
      else if (b == '\n') out += "\\n";
      else if (b == '\t') out += "\\t";
      else if (b == '\r') out += "\\r";
      else if (b < 0x20 || b == 0x7F) out += fmt::format("\\x{:02X}", b);
      else out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    // A multi-byte character: copy it when complete and well-formed, else mark each
    // byte (a character split across tokens shows as <0xE2><0x80> here and <0x94> there).
    const size_t n = (b >= 0xC2 && b <= 0xF4) ? unicode::seq_len(b) : 1;
    if (n > 1 && i + n <= s.size() && unicode::is_valid_utf8(s.substr(i, n))) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += fmt::format("<0x{:02X}>", b);
      ++i;
    }
  }
  return out;
}

std::string readable_piece(std::string_view piece, PieceScheme scheme) {
  return make_visible(piece_bytes(piece, scheme));
}

std::string readable_piece(const Tokenizer& tok, int32_t id) {
  if (id < 0 || id >= tok.vocab_size()) return fmt::format("<id {}>", id);
  std::string piece = tok.id_to_piece(id);
  if (tok.is_special(id)) return piece;
  for (const auto& a : tok.added_tokens())
    if (a.id == id) return make_visible(a.content);
  return readable_piece(piece, piece_scheme(tok));
}

}  // namespace genlens::text
