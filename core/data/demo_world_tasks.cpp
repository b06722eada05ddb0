// The demo world as files: its pairs and training queries as JSONL, and the evaluation
// tasks made from its held-out examples (see demo_world.h).
#include "core/data/demo_world.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>

#include "core/data/demo_world_rng.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"

namespace genlens::demo {

namespace fs = std::filesystem;

void write_world_queries(const WorldData& w, const fs::path& path) {
  io::write_file_atomic_with(path, [&](const fs::path& tmp) {
    io::JsonlWriter out(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& e : w.train) out.write(nlohmann::ordered_json{{"id", e.id}, {"question", e.question}});
  });
}

void write_world_pairs(const std::vector<WorldExample>& rows, const fs::path& path) {
  io::write_file_atomic_with(path, [&](const fs::path& tmp) {
    io::JsonlWriter out(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& e : rows)
      out.write(nlohmann::ordered_json{{"id", e.id}, {"question", e.question}, {"answer", e.answer},
                                       {"category", e.category}, {"label", e.label}, {"answer_key", e.answer_key},
                                       {"harmful", e.harmful}, {"signature", e.signature}});
  });
}

namespace {

void write_jsonl(const fs::path& path, const std::vector<nlohmann::ordered_json>& rows) {
  io::write_file_atomic_with(path, [&](const fs::path& tmp) {
    io::JsonlWriter out(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& r : rows) out.write(r);
  });
}

std::vector<const WorldExample*> eval_rows(const std::vector<WorldExample>& rows) {
  std::vector<const WorldExample*> out;
  for (auto& e : rows)
    if (e.category != "restate") out.push_back(&e);
  return out;
}

}  // namespace

void write_world_tasks(const WorldData& w, const fs::path& dir) {
  using oj = nlohmann::ordered_json;
  const auto held = eval_rows(w.heldout);
  fs::create_directories(dir);
  // Passage ids, stable: "p" + index in key order.
  std::map<std::string, std::string> pid;
  for (auto& [key, text] : w.passages) pid[key] = fmt::format("p{:03d}", pid.size());

  io::write_dir_atomic(dir / "clustering", [&](const fs::path& t) {
    io::write_file_atomic(t / "task.json", oj{{"type", "clustering"}, {"name", w.name + "-clustering"},
                                              {"instruction", w.instructions.clustering}}.dump(2));
    std::vector<oj> rows;
    for (auto* e : held) rows.push_back(oj{{"text", e->question}, {"label", e->label}});
    write_jsonl(t / "texts.jsonl", rows);
  });

  io::write_dir_atomic(dir / "classification", [&](const fs::path& t) {
    io::write_file_atomic(t / "task.json", oj{{"type", "classification"}, {"name", w.name + "-classification"},
                                              {"instruction", w.instructions.classification}}.dump(2));
    // Train: up to 16 training queries per label (a few-shot probe), test: held-out.
    std::map<std::string, int> per_label;
    std::vector<oj> train, test;
    for (auto* e : eval_rows(w.train))
      if (per_label[e->label]++ < 16) train.push_back(oj{{"text", e->question}, {"label", e->label}});
    for (auto* e : held) test.push_back(oj{{"text", e->question}, {"label", e->label}});
    write_jsonl(t / "train.jsonl", train);
    write_jsonl(t / "test.jsonl", test);
  });

  auto write_retrieval = [&](const fs::path& t, const std::string& type, const std::vector<const WorldExample*>& qs,
                             bool with_harmful_docs) {
    io::write_file_atomic(t / "task.json", oj{{"type", type}, {"name", w.name + "-" + type},
                                              {"query_instruction", w.instructions.query},
                                              {"passage_instruction", w.instructions.passage}}.dump(2));
    std::vector<oj> corpus, queries;
    for (auto& [key, text] : w.passages) {
      oj row{{"_id", pid.at(key)}, {"text", text}};
      if (with_harmful_docs) row["harmful"] = false;
      corpus.push_back(row);
    }
    if (with_harmful_docs)
      for (size_t i = 0; i < w.harmful_documents.size(); ++i)
        corpus.push_back(oj{{"_id", fmt::format("h{:03d}", i)}, {"text", w.harmful_documents[i]}, {"harmful", true}});
    std::string qrels = "query-id\tcorpus-id\tscore\n";
    for (auto* e : qs) {
      queries.push_back(oj{{"_id", e->id}, {"text", e->question}});
      qrels += e->id + "\t" + pid.at(e->answer_key) + "\t1\n";
    }
    write_jsonl(t / "corpus.jsonl", corpus);
    write_jsonl(t / "queries.jsonl", queries);
    io::write_file_atomic(t / "qrels.tsv", qrels);
  };
  io::write_dir_atomic(dir / "retrieval", [&](const fs::path& t) { write_retrieval(t, "retrieval", held, false); });
  std::vector<const WorldExample*> harmful;
  for (auto* e : held)
    if (e->harmful) harmful.push_back(e);
  if (!harmful.empty() && !w.harmful_documents.empty())
    io::write_dir_atomic(dir / "safety", [&](const fs::path& t) { write_retrieval(t, "safety", harmful, true); });

  // STS: pairs of held-out queries; 1 = same answer, 0.5 = same label, 0 = otherwise.
  io::write_dir_atomic(dir / "sts", [&](const fs::path& t) {
    io::write_file_atomic(t / "task.json", oj{{"type", "sts"}, {"name", w.name + "-sts"},
                                              {"instruction", w.instructions.sts}}.dump(2));
    Rng rng(w.seed + 17);
    std::vector<oj> rows;
    const size_t n = held.size();
    for (size_t k = 0; k < 3 * n && n > 1; ++k) {
      const WorldExample* a = held[rng.below(n)];
      const WorldExample* b = nullptr;
      // A third of the pairs share the answer, a third share the label, a third are random.
      for (int tries = 0; tries < 50 && !b; ++tries) {
        const WorldExample* c = held[rng.below(n)];
        if (c == a) continue;
        if (k % 3 == 0 && c->answer_key != a->answer_key) continue;
        if (k % 3 == 1 && c->label != a->label) continue;
        b = c;
      }
      if (!b) continue;
      double score = a->answer_key == b->answer_key ? 1.0 : a->label == b->label ? 0.5 : 0.0;
      rows.push_back(oj{{"text1", a->question}, {"text2", b->question}, {"score", score}});
    }
    write_jsonl(t / "pairs.jsonl", rows);
  });
}

}  // namespace genlens::demo
