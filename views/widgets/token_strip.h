// A query's tokens as a wrapped strip of chips (whitespace shown as · and ↵); hovering a
// chip shows its id, its piece and the byte span of the input it covers.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace genlens::views {

struct TokenChip {
  int64_t id = 0;
  std::string piece;       // the token's text (decoded)
  int64_t begin = 0, end = 0;  // byte span in the input
  bool special = false;    // added tokens (BOS, the genlens special tokens) are tinted
  float score = NAN;       // a signed score (attribution): coloured when the strip has a scale
};

// Returns the index of the hovered chip, or -1. `score_scale` > 0: each chip with a
// score is coloured on the diverging map at score / score_scale (red +, blue -), and
// its tooltip gives the score.
int draw_token_strip(const char* id, const std::vector<TokenChip>& tokens, float width, float score_scale = 0);

// The diverging map's legend on one line: "-scale" [blue .. grey .. red] "+scale", then `what`.
void draw_score_legend(float score_scale, const char* what);

// The chip's visible text: spaces as ·, newlines as ↵, tabs as →.
std::string visible_piece(const std::string& piece);

}  // namespace genlens::views
