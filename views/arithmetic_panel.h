// Embedding arithmetic in the inspector: an expression over queries and corpus rows in
// the compression-state space ("A" - "B" + "C", row:N; core/analysis/embedding_expr.h),
// the text decoded from that point, and its nearest corpus texts.
#pragma once
#include <string>
#include <vector>

#include "views/neighbour_list.h"
#include "views/view_common.h"

namespace genlens::views {

struct ArithmeticSnapshot {
  std::string expression;  // the one the results below belong to
  std::string decoded;
  std::vector<Neighbour> neighbours;
  Status status{Status::Idle,
                "Type an expression of quoted queries and corpus rows, e.g. \"I am furious\" - \"I am so angry\" + "
                "\"I am so happy\", or 0.5*row:3 + 0.5*row:7, and press Decode."};
};

struct ArithmeticState {
  char expression[2048] = "";
};

struct ArithmeticIntents {
  bool decode = false;       // decode state.expression
  bool use_inspected = false;  // put the inspected query into the box, quoted
};

ArithmeticIntents draw_arithmetic_panel(const ArithmeticSnapshot& snap, ArithmeticState& state, float width);

}  // namespace genlens::views
