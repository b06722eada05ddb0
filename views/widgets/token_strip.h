// A query's tokens as a wrapped strip of chips (whitespace shown as · and ↵); hovering a
// chip shows its id, its piece and the byte span of the input it covers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace genlens::views {

struct TokenChip {
  int64_t id = 0;
  std::string piece;       // the token's text (decoded)
  int64_t begin = 0, end = 0;  // byte span in the input
  bool special = false;    // added tokens (BOS, the genlens special tokens) are tinted
};

// Returns the index of the hovered chip, or -1.
int draw_token_strip(const char* id, const std::vector<TokenChip>& tokens, float width);

// The chip's visible text: spaces as ·, newlines as ↵, tabs as →.
std::string visible_piece(const std::string& piece);

}  // namespace genlens::views
