// The demo world: a small, seeded universe where many lexically different
// queries share one kind of response -- the input-output gap made concrete -- described
// by a world file (assets/demo/world.json; schema in README "The demo world").
//
// A world has slots (vocabularies; a slot is shared, or split into train / held-out
// values), categories (query templates split into train / held-out, response templates,
// a label, an answer key naming the passage that answers a query, signature words that
// show a response is of the right kind) and a restate intent ("Summarize the following
// passage: ..." -> the passage) so the model has an answer for passages too. Held-out
// queries use held-out templates AND held-out slot values: wordings the model never saw.
// Plain data: no torch here.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace genlens::demo {

struct WorldExample {
  std::string id;
  std::string category;    // category name ("anger"); "restate" for restatements
  std::string label;       // clustering / classification label
  std::string question;    // the user turn
  std::string answer;      // the world's answer (what the tiny LM learns to say)
  std::string answer_key;  // which passage answers it ("capital of Norvia", or the category)
  bool harmful = false;
  std::vector<std::string> signature;  // words (lower case) a right-kind response contains
};

// Task instructions put before the texts when the tasks are embedded. The demo's tiny LM
// (and its adapter) is trained on bare questions, so the query side has none by default:
// an instruction it never saw shifts every query the same way and drowns the content
// (measured: retrieval nDCG@10 0.53 with the instructions the paper uses, 0.72 without).
// The passage side is the restate intent's own wording.
struct WorldInstructions {
  std::string clustering;
  std::string classification;
  std::string sts;
  std::string query;
  std::string passage = "Summarize the following passage: ";
};

struct WorldData {
  std::string name;
  uint64_t seed = 0;
  WorldInstructions instructions;
  std::vector<WorldExample> train, heldout;    // restatements only in train
  std::map<std::string, std::string> passages;  // answer_key -> answer passage
  std::map<std::string, std::string> passage_category;  // answer_key -> category
  std::vector<std::string> harmful_documents;   // safety corpus (marked harmful)
  std::vector<std::string> categories;          // in file order (labels may repeat)
  // What the world asks for and cannot make, one line each naming the field
  // ("categories[5] (first_aid): 3 held-out queries of the 14 asked: ..."): too few
  // different held-out wordings, an answer key with no passage, half a safety task.
  // The demo report lists them; `genlens demo --strict` refuses.
  std::vector<std::string> shortfalls;
};

struct WorldOptions {
  double scale = 1.0;        // multiplies every category's counts (>= 1 row each)
  int64_t seed_offset = 0;   // added to the file's seed
};

// Reads and validates a world file and generates its examples (deterministic in the
// seed). Every field is checked against the world schema (type, range, required, unknown
// keys; totals that keep a demo within a laptop's memory and time) before anything is
// generated: a bad file is a genlens::Error naming the file and the JSON path
// ("world.json: categories[0] (tool).count.train: expected a whole number from 1 to 2000,
// found -5"). Nothing is written.
WorldData generate_world(const std::filesystem::path& world_file, const WorldOptions& options = {});

// The world schema as a Markdown table (field, type, required, bounds, default), made from
// the one table validation uses; README "The demo world" carries it verbatim.
std::string world_schema_markdown();

// Evaluation tasks in the task-folder format of `genlens eval` (README "Evaluation
// tasks"), from the held-out examples: <dir>/clustering, classification, retrieval,
// sts, safety. Written atomically, one folder each.
void write_world_tasks(const WorldData& world, const std::filesystem::path& dir);

// Training queries ({"id","question"}) and the world's own pairs ({"id","question",
// "answer"}) as JSONL.
void write_world_queries(const WorldData& world, const std::filesystem::path& path);
void write_world_pairs(const std::vector<WorldExample>& rows, const std::filesystem::path& path);

// World pairs as write_world_pairs writes them ({"id", "question", "answer"} and the
// optional "category", "label", "answer_key", "harmful", "signature"); a responses JSONL
// reads as well. A damaged row is an error naming FILE:LINE and the field.
std::vector<WorldExample> read_world_examples(const std::filesystem::path& path);

// Whether `response` is of the example's kind: it contains one of the signature words
// (case-insensitive, whole-word).
bool right_kind(const WorldExample& example, const std::string& response);

// The default world file: $GENLENS_DEMO_WORLD when set, else the source tree's
// assets/demo/world.json.
std::filesystem::path default_world_file();

}  // namespace genlens::demo
