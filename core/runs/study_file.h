// A study on disk: STUDY/study.json, what `genlens study` wrote and the studio's Compare
// tab reads. Plain data (no torch); the writer is core/runs/study.cpp.
//
// STUDY/
//   study.json              this file's Study, rewritten atomically after every run
//   table.md                the Markdown table (study_table_markdown)
//   variants/NAME/seed-S/   one training run per (variant, seed):
//     run/                  `genlens train --out` (checkpoints, metrics.jsonl)
//     eval/results.json     `genlens eval --modes generative` (+ its embedding cache)
//     probe/probe.json      held-out decode and lens rates (core/runs/probe.h)
//     probe/samples.jsonl   per held-out query: decoded text, lens words, hits
//     probe/map.json        the held-out queries' generative map (pca, umap, labels, texts)
//     done.json             written last: the run's scores; a rerun skips a run that has it
//
// study.json:
//   {"format": "genlens-study/1", "model", "data", "tasks", "heldout" (null: none),
//    "base": {training settings as trainer_state.json holds them},
//    "vary": [{"key": "recon-weight", "values": ["1", "0"]}], "combine": "grid"|"zip",
//    "seeds": [42, 43], "modes": ["generative"],
//    "columns": [{"id", "label", "metric", "kind": "eval"|"probe", "lower_is_better"}],
//    "variants": [{"name", "setting": {"recon-weight": "0"}, "settings": {...full...},
//                  "runs": [{"seed", "dir", "done", "scores": {COLUMN_ID: number}}],
//                  "mean": {COLUMN_ID: number}, "spread": {COLUMN_ID: number}}]}
// Column ids are the task names of results.json (their main metric, mode generative),
// then "decode" and "lens" when a held-out file was given.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace genlens::runs {

inline constexpr const char* kStudyFormat = "genlens-study/1";

// One varied setting: its `genlens train` option without the dashes ("recon-weight",
// "thought", "lr", "seed") and its values as given.
struct VaryAxis {
  std::string key;
  std::vector<std::string> values;
};

// Grid: every combination of the axes' values; Zip: the i-th value of every axis together
// (all axes the same length).
enum class Combine { Grid, Zip };

struct StudyColumn {
  std::string id;      // task name, "decode" or "lens"
  std::string label;   // what a table header shows ("sts-demo", "decode")
  std::string metric;  // "spearman", "right_kind", ...
  std::string kind;    // "eval" or "probe"
  bool lower_is_better = false;
};

struct StudyRun {
  uint64_t seed = 0;
  std::string dir;  // relative to the study folder: variants/NAME/seed-S
  bool done = false;
  std::map<std::string, double> scores;  // by column id
};

struct StudyVariant {
  std::string name;                                          // "recon-weight=0 align-weight=1"
  std::vector<std::pair<std::string, std::string>> setting;  // the varied keys and values, in --vary order
  nlohmann::json settings;                                   // the full training settings (seed: the first run's)
  std::vector<StudyRun> runs;                                // one per seed
  // Over the finished runs, per column: the mean and the sample standard deviation
  // (0 with one run); a column no finished run scored is absent.
  std::map<std::string, double> mean, spread;
};

struct Study {
  std::filesystem::path dir;  // the study folder (not stored; where it was read from)
  std::string model, data, tasks;
  std::optional<std::string> heldout;
  nlohmann::json base;
  std::vector<VaryAxis> vary;
  Combine combine = Combine::Grid;
  std::vector<uint64_t> seeds;
  std::vector<std::string> modes;
  std::vector<StudyColumn> columns;
  std::vector<StudyVariant> variants;
};

std::string to_string(Combine c);

// Fills mean and spread of every variant from its finished runs.
void summarize(Study& s);

// The variant with the best mean in the column (highest, or lowest for lower_is_better);
// nullopt when no variant has it.
std::optional<size_t> best_variant(const Study& s, const std::string& column);
// Whether variant v's mean is within the spread of the best one: |mean_v - mean_best| <=
// max(spread_v, spread_best), with more than one seed. Such a difference is noise.
bool within_spread_of_best(const Study& s, size_t v, const std::string& column);

nlohmann::ordered_json study_to_json(const Study& s);
// `path`: a study folder or its study.json. Errors name the file and the field.
Study read_study(const std::filesystem::path& path);

// The table: variants x columns, "0.650" or "0.650 ± 0.012" (seeds), the best of each
// column in bold, "~" after a value within the spread of the best; a legend under it.
std::string study_table_markdown(const Study& s);

}  // namespace genlens::runs
