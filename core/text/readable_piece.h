// A vocabulary piece as the text it stands for, for people: byte-level BPE pieces
// ("Ġthe", "Ċ") are mapped back to bytes, Metaspace "▁" to a space, byte-fallback
// "<0x0A>" to its byte; then spaces are shown as "·", newlines/tabs as "\n"/"\t",
// other control bytes as "\xNN", and bytes that are not complete UTF-8 on their own
// (a multi-byte character split across tokens) as "<0xE2>" -- never mojibake.
// Special tokens ("<|im_end|>") come back unchanged.
#pragma once
#include <string>
#include <string_view>

namespace genlens::text {

class Tokenizer;

enum class PieceScheme { ByteLevel, Metaspace, Plain };
// How `tok` spells its pieces (looks at the vocabulary: "Ġ"/"Ċ" pieces mean byte-level).
PieceScheme piece_scheme(const Tokenizer& tok);

// The raw bytes a piece stands for (no visibility markup). Byte-level pieces with
// characters outside the byte alphabet are returned unchanged.
std::string piece_bytes(std::string_view piece, PieceScheme scheme);

// Bytes -> readable, as described above.
std::string make_visible(std::string_view bytes);

// piece_bytes + make_visible; special tokens of `tok` unchanged.
std::string readable_piece(const Tokenizer& tok, int32_t id);
std::string readable_piece(std::string_view piece, PieceScheme scheme);

}  // namespace genlens::text
