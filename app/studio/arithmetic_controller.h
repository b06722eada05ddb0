// The embedding-arithmetic feature of the inspector: one job decoding the point an
// expression names and finding its neighbours, and the snapshot it fills in
// (views/arithmetic_panel.h).
#pragma once
#include <string>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "app/studio/studio_results.h"
#include "views/arithmetic_panel.h"

namespace genlens::studio {

class ArithmeticController {
 public:
  explicit ArithmeticController(StudioContext& cx) : cx_(cx) {}

  // Decodes `expression` (instruction: the inspector's preset's, as the queries').
  void start(const std::string& expression, const std::string& instruction);
  // Appends `query` to the box as a quoted term ("+ \"...\"" after what is there).
  void add_term(const std::string& query);
  void poll();

  int job() const { return job_.id(); }
  const views::ArithmeticSnapshot& snapshot() const { return snap_; }
  views::ArithmeticState& ui() { return state_; }
  // The decoded text, else the status line.
  std::string script_value() const { return snap_.status.is_ready() ? snap_.decoded : snap_.status.text; }

 private:
  StudioContext& cx_;
  views::ArithmeticSnapshot snap_;
  views::ArithmeticState state_;
  Pending<QueryResults> job_;
};

}  // namespace genlens::studio
