// The paper's ablation claims judged on the demo's three studies (core/demo/ablations.h):
// a pure function of the studies, so the thresholds are tested on hand-made numbers.
//
// Embedding score of a variant: the mean, over the study's eval columns, of the column's
// main metric, a lower_is_better column counted as 1 - x (so higher is better everywhere).
// Decode rate: the held-out probe's "decode" column.
//
// Each claim is one or more comparisons. A comparison is "inside the noise" when the study
// has more than one seed and the two sides differ by no more than the larger seed spread
// of the two variants (StudyVariant::spread; for the embedding score the spread of the
// per-run scores). Verdict: "not reproduced" when a comparison fails outside the noise,
// else "inside the noise" when one is inside it, else "reproduced".
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/runs/study_file.h"

namespace genlens::demo {

inline constexpr const char* kReproduced = "reproduced";
inline constexpr const char* kNotReproduced = "not reproduced";
inline constexpr const char* kInsideNoise = "inside the noise";

// The thresholds the claims are held to (stated in the output with each claim).
inline constexpr double kCloseRatio = 0.95;     // "about as good": >= 0.95 x the other's score
inline constexpr double kLostRatio = 0.5;       // "loses": <= half the other's decode rate
inline constexpr double kWellAboveDecode = 0.2;  // "well above": >= 20 points more decode rate

struct Claim {
  std::string id;        // "a" .. "e"
  std::string paper;     // what the paper says
  std::string test;      // the thresholds it is held to here
  std::string verdict;   // kReproduced, kNotReproduced or kInsideNoise
  std::string evidence;  // one sentence with the numbers
};

// One line defining the embedding score (for the report).
std::string embedding_score_definition();

// The embedding score of variant v and the sample spread of its per-run scores (0 with one
// run); nullopt when the variant has no finished run with every eval column.
struct Score {
  double mean = 0, spread = 0;
  int runs = 0;
};
std::optional<Score> embedding_score(const runs::Study& s, const runs::StudyVariant& v);

// The five claims, a to e, from the losses study (recon-weight/align-weight zipped over
// 1/1, 1/0, 0/1), the thought study (thought = 0, 10) and the compression study
// (compression = 2, 5, 10, 20). Variants are found by their varied values; a missing one
// makes its claim "not reproduced" with the evidence saying what is missing.
std::vector<Claim> judge_claims(const runs::Study& losses, const runs::Study& thought, const runs::Study& compression);

nlohmann::ordered_json claims_to_json(const std::vector<Claim>& claims);
// "## Claims" with the definition, the verdict rule and one bullet per claim.
std::string claims_markdown(const std::vector<Claim>& claims);

}  // namespace genlens::demo
