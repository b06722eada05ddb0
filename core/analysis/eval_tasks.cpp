// Task folders on disk (eval.h): task.json + the JSONL / TSV files of each task type.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/analysis/eval.h"
#include "core/io/json_check.h"
#include "core/io/jsonl.h"
#include "core/util/error.h"

namespace genlens::analysis {
namespace fs = std::filesystem;

TaskType parse_task_type(const std::string& n) {
  if (n == "sts") return TaskType::Sts;
  if (n == "clustering") return TaskType::Clustering;
  if (n == "classification") return TaskType::Classification;
  if (n == "retrieval") return TaskType::Retrieval;
  if (n == "safety") return TaskType::Safety;
  fail("expected \"type\" sts, clustering, classification, retrieval or safety, found \"{}\"", n);
}

std::string to_string(TaskType t) {
  switch (t) {
    case TaskType::Sts: return "sts";
    case TaskType::Clustering: return "clustering";
    case TaskType::Classification: return "classification";
    case TaskType::Retrieval: return "retrieval";
    case TaskType::Safety: return "safety";
  }
  return "?";
}

std::string main_metric(TaskType t) {
  switch (t) {
    case TaskType::Sts: return "spearman";
    case TaskType::Clustering: return "v_measure";
    case TaskType::Classification: return "accuracy";
    case TaskType::Retrieval: return "ndcg_at_10";
    case TaskType::Safety: return "harmful_at_5";
  }
  return "?";
}

bool lower_is_better(const std::string& metric) { return metric.rfind("harmful_", 0) == 0; }

TaskInstructions default_instructions(TaskType t) {
  switch (t) {
    case TaskType::Sts: return {"Generate text that is semantically similar to this text: ", ""};
    case TaskType::Clustering: return {"Cluster the following text: ", ""};
    case TaskType::Classification: return {"Classify the following text: ", ""};
    case TaskType::Retrieval:
    case TaskType::Safety:
      return {"Generate a passage that best answers this question: ", "Summarize the following passage: "};
  }
  return {};
}

namespace {

struct LabelledText {
  std::vector<std::string> texts, labels;
};

// "label" may be a string or a number in the wild; kept as text.
std::string label_text(const io::JsonlReader& r, const io::Json& row) {
  auto it = row.find("label");
  if (it == row.end()) fail("{}: missing field \"label\"", r.where());
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_boolean()) return it->dump();
  fail("{}: field \"label\" must be a string or an integer, found {}", r.where(), it->dump());
}

LabelledText read_labelled(const fs::path& p) {
  LabelledText out;
  io::JsonlReader r(p);
  io::Json row;
  while (r.next(row)) {
    out.texts.push_back(r.get_string(row, "text"));
    out.labels.push_back(label_text(r, row));
  }
  if (out.texts.empty()) fail("{}: no rows", p.string());
  return out;
}

void read_corpus(const fs::path& p, Task& t, bool harmful_field) {
  io::JsonlReader r(p);
  io::Json row;
  while (r.next(row)) {
    t.corpus_ids.push_back(r.get_id(row, "_id"));
    auto title = r.get_string_opt(row, "title");
    auto text = r.get_string(row, "text");
    t.corpus_texts.push_back(title && !title->empty() ? *title + " " + text : text);  // BEIR joins title and text
    if (harmful_field) {
      auto it = row.find("harmful");
      if (it == row.end() || !it->is_boolean())
        fail("{}: safety corpus rows need \"harmful\": true or false{}", r.where(),
             it == row.end() ? std::string() : ", found " + it->dump());
      t.corpus_harmful.push_back(it->get<bool>());
    }
  }
  if (t.corpus_ids.empty()) fail("{}: no documents", p.string());
}

void read_queries(const fs::path& p, Task& t) {
  io::JsonlReader r(p);
  io::Json row;
  while (r.next(row)) {
    t.query_ids.push_back(r.get_id(row, "_id"));
    t.query_texts.push_back(r.get_string(row, "text"));
  }
  if (t.query_ids.empty()) fail("{}: no queries", p.string());
}

void read_qrels(const fs::path& p, Task& t) {
  std::ifstream in(p);
  if (!in) fail("{}: cannot open (retrieval tasks need qrels.tsv: query-id, corpus-id, score)", p.string());
  std::string line;
  int64_t ln = 0;
  while (std::getline(in, line)) {
    ++ln;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::istringstream ss(line);
    std::string q, d, s;
    if (!std::getline(ss, q, '\t') || !std::getline(ss, d, '\t') || !std::getline(ss, s, '\t'))
      fail("{}:{}: expected three tab-separated columns (query-id, corpus-id, score), found \"{}\"", p.string(), ln,
           line);
    if (ln == 1 && q == "query-id") continue;  // BEIR's header line
    size_t used = 0;
    int score = 0;
    try {
      score = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size()) fail("{}:{}: score must be an integer, found \"{}\"", p.string(), ln, s);
    t.qrels[q][d] = score;
  }
  if (t.qrels.empty()) fail("{}: no judgements", p.string());
}

}  // namespace

Task load_task(const fs::path& dir) {
  Task t;
  t.dir = dir;
  auto meta_path = dir / "task.json";
  std::ifstream in(meta_path);
  if (!in) fail("{}: cannot open (every task folder needs task.json)", meta_path.string());
  io::Json meta;
  try {
    meta = io::Json::parse(in);
  } catch (const std::exception& e) {
    fail("{}: not valid JSON ({})", meta_path.string(), e.what());
  }
  // Every key is checked: a misspelt one ("instrucion") would otherwise be ignored
  // silently and the task embedded with the default instruction.
  const io::JsonCheck check(meta_path.string());
  check.known_keys(meta, {"type", "name", "description", "instruction", "query_instruction", "passage_instruction"},
                   "");
  auto str = [&](const char* key) { return check.string_field(meta, key, ""); };
  auto type = str("type");
  if (!type) fail("{}: missing field \"type\" (sts, clustering, classification, retrieval or safety)", meta_path.string());
  try {
    t.type = parse_task_type(*type);
  } catch (const Error& e) {
    fail("{}: {}", meta_path.string(), e.what());
  }
  t.name = str("name").value_or(dir.filename().string());
  str("description");  // free text for people
  t.instructions = default_instructions(t.type);
  const auto instruction = str("instruction"), query_instruction = str("query_instruction");
  if (instruction && query_instruction)
    check.bad("", "both \"instruction\" and \"query_instruction\" are given; they set the same instruction "
                  "(keep one)");
  if (instruction) t.instructions.query = *instruction;
  if (query_instruction) t.instructions.query = *query_instruction;
  if (auto i = str("passage_instruction")) {
    if (t.type != TaskType::Retrieval && t.type != TaskType::Safety)
      check.bad("passage_instruction", fmt::format("only retrieval and safety tasks have passages; a {} task embeds "
                                                   "its texts with \"instruction\"", to_string(t.type)));
    t.instructions.passage = *i;
  }
  switch (t.type) {
    case TaskType::Sts: {
      io::JsonlReader r(dir / "pairs.jsonl");
      io::Json row;
      while (r.next(row)) {
        t.text1.push_back(r.get_string(row, "text1"));
        t.text2.push_back(r.get_string(row, "text2"));
        auto it = row.find("score");
        if (it == row.end() || !it->is_number()) fail("{}: field \"score\" must be a number", r.where());
        t.gold.push_back(it->get<double>());
      }
      if (t.gold.size() < 2) fail("{}: an STS task needs at least 2 pairs", (dir / "pairs.jsonl").string());
      break;
    }
    case TaskType::Clustering: {
      auto l = read_labelled(dir / "texts.jsonl");
      t.texts = std::move(l.texts);
      t.labels = std::move(l.labels);
      break;
    }
    case TaskType::Classification: {
      auto tr = read_labelled(dir / "train.jsonl"), te = read_labelled(dir / "test.jsonl");
      t.texts = std::move(tr.texts);
      t.labels = std::move(tr.labels);
      t.test_texts = std::move(te.texts);
      t.test_labels = std::move(te.labels);
      break;
    }
    case TaskType::Retrieval:
    case TaskType::Safety: {
      read_corpus(dir / "corpus.jsonl", t, t.type == TaskType::Safety);
      read_queries(dir / "queries.jsonl", t);
      if (t.type == TaskType::Retrieval || fs::exists(dir / "qrels.tsv")) read_qrels(dir / "qrels.tsv", t);
      break;
    }
  }
  return t;
}

std::vector<Task> load_tasks(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail("--tasks {}: not a directory", dir.string());
  if (fs::exists(dir / "task.json")) return {load_task(dir)};
  std::vector<fs::path> dirs;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / "task.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  if (dirs.empty()) fail("--tasks {}: no task folder (a folder with task.json) found", dir.string());
  std::vector<Task> tasks;
  for (auto& d : dirs) tasks.push_back(load_task(d));
  return tasks;
}

}  // namespace genlens::analysis
