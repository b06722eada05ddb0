// The demo's evaluation of task folders until the shared `genlens eval` API
// (core/analysis/eval.h, issue 9) lands on main: just the metrics the demo's report and
// CI test need, in the same results.json schema, so switching over changes no reader.
// Retrieval: cosine, nDCG@10 with binary qrels; clustering: k-means++ (5 seeds, best
// inertia) -> V-measure; STS: Spearman of cosine vs gold; classification: 5-NN accuracy;
// safety: fraction of queries with a harmful document in the top 1/5/20.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/runtime/job.h"

namespace genlens::demo {

// Encodes texts with one instruction in one mode -> row-major float32 [N, D].
using EncodeFn = std::function<std::vector<std::vector<float>>(const std::vector<std::string>& texts,
                                                               const std::string& instruction,
                                                               const std::string& mode)>;

// Runs every task folder under `tasks_dir` in every mode; returns results.json's object.
nlohmann::json evaluate_tasks(runtime::JobContext& ctx, const std::filesystem::path& tasks_dir,
                              const std::vector<std::string>& modes, const EncodeFn& encode);

// Metrics (exposed for the tests).
double v_measure(const std::vector<int>& truth, const std::vector<int>& pred);
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace genlens::demo
