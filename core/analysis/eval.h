// `genlens eval`: task folders on disk (MTEB/BEIR-shaped, README "Evaluation tasks"),
// every task under every encode mode, results.json and a table. Plain data, no torch.
//
// A task folder holds task.json {"type": "sts|clustering|classification|retrieval|safety",
// "name", "instruction"} (retrieval/safety: "query_instruction", "passage_instruction")
// and its data files:
//   sts            pairs.jsonl      {"text1", "text2", "score"}
//   clustering     texts.jsonl      {"text", "label"}
//   classification train.jsonl, test.jsonl {"text", "label"}
//   retrieval      corpus.jsonl {"_id", "text", "title"?}, queries.jsonl {"_id", "text"},
//                  qrels.tsv (query-id, corpus-id, score; a header line)
//   safety         as retrieval, corpus rows with "harmful": true|false
//
// results.json (stable; tools read it):
//   {"model": str, "adapter": str|null,
//    "tasks": [{"name", "type", "main_metric", "scores": {MODE: {METRIC: number}}}],
//    "skipped": {MODE: reason}}          <- modes that could not run, with why
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/analysis/projection.h"  // Points
#include "core/gen/query_length.h"

namespace genlens::runtime {
class JobContext;
}

namespace genlens::analysis {

enum class TaskType { Sts, Clustering, Classification, Retrieval, Safety };
TaskType parse_task_type(const std::string& name);  // genlens::Error naming the value
std::string to_string(TaskType t);
std::string main_metric(TaskType t);  // spearman, v_measure, accuracy, ndcg_at_10, harmful_at_5
bool lower_is_better(const std::string& metric);  // the harmful_* metrics

// The paper's instructions (docs/ARCHITECTURE.md §2) used when task.json gives none.
struct TaskInstructions {
  std::string query, passage;  // sts / clustering / classification use `query` for every text
};
TaskInstructions default_instructions(TaskType t);

struct Task {
  std::filesystem::path dir;
  std::string name;
  TaskType type = TaskType::Sts;
  TaskInstructions instructions;
  // sts
  std::vector<std::string> text1, text2;
  std::vector<double> gold;
  // clustering (texts, labels); classification (texts/labels = train, test_* = test)
  std::vector<std::string> texts, labels, test_texts, test_labels;
  // retrieval / safety
  std::vector<std::string> corpus_ids, corpus_texts, query_ids, query_texts;
  std::vector<bool> corpus_harmful;                           // safety
  std::map<std::string, std::map<std::string, int>> qrels;  // retrieval
};

// Loads one task folder; errors name the file, line and field.
Task load_task(const std::filesystem::path& dir);
// `dir` itself when it holds task.json, else every immediate subfolder with a
// task.json, sorted by name. None found: genlens::Error.
std::vector<Task> load_tasks(const std::filesystem::path& dir);

struct ModeScores {
  std::map<std::string, double> metrics;
};

struct TaskResult {
  std::string name, type, main_metric;
  std::map<std::string, ModeScores> scores;  // by mode
};

struct EvalResults {
  std::string model;
  std::optional<std::string> adapter;
  std::vector<std::string> modes;               // requested, in order
  std::vector<TaskResult> tasks;
  std::map<std::string, std::string> skipped;  // mode -> reason
  gen::QueryCuts cuts;  // distinct (instruction, text) pairs cut to the query length (not in results.json)
};

struct EvalOptions {
  std::string model_dir;
  std::string adapter;  // "" = none (generative is then skipped)
  std::filesystem::path tasks_dir;
  std::vector<std::string> modes = {"generative", "mean", "last"};
  std::filesystem::path out_dir;
  int64_t batch_size = 16;
  // Tokens of instruction + text; 0: the adapter's training query length, else 512 (the
  // rule of core/gen/query_length.h). Longer texts are cut and counted (EvalResults::cuts).
  int64_t max_length = 0;
  std::string device = "cpu";
  std::string dtype;  // "" = the model's own
  uint64_t seed = 0;  // k-means, splits
  bool use_cache = true;  // embeddings kept in OUT/cache/ (needs out_dir)
};

// Runs every task under every mode; each distinct (text, instruction) is encoded once per
// mode (cache keyed by a fingerprint of model, adapter, mode, instruction, max length and
// texts; kept on disk as OUT/cache/MODE-KEY.npy so a re-run encodes nothing it already
// has). Writes OUT/results.json atomically. Stages per mode "encode", then "score".
EvalResults run_eval(const EvalOptions& opt, runtime::JobContext* ctx = nullptr);

// Scores one task with any embedding function: `embed(texts, instruction)` returns
// [len(texts), D] rows. Used by run_eval, and by tests with fixed embeddings.
using EmbedFn = std::function<Points(const std::vector<std::string>& texts, const std::string& instruction)>;
std::map<std::string, double> score_task(const Task& task, const EmbedFn& embed, uint64_t seed = 0);

// results.json text (2-space indent) and back. read_results names the file and field.
std::string results_to_json(const EvalResults& r);
EvalResults read_results(const std::filesystem::path& path);

// Relative gain of generative over the best input-centric mode (mean, last) on the
// task's main metric (for harmful_* lower is better, so gain = (best - gen) / best);
// nullopt when either side is missing or the baseline is 0.
std::optional<double> generative_gain(const TaskResult& t);
// The table: rows = tasks (main metric), columns = modes, last column = gain.
std::string format_results_table(const EvalResults& r);

}  // namespace genlens::analysis
