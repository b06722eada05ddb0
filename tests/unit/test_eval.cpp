// `genlens eval` on a small task folder of each type (tiny Qwen3 with the real tokenizer,
// an adapter trained for a few steps): results.json has exactly the documented schema,
// generative / mean / last all score every task, and a mode that cannot run is skipped
// with its reason.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>

#include "core/analysis/eval.h"
#include "tests/gen_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

void write_jsonl(const fs::path& p, const std::vector<Json>& rows) {
  std::string s;
  for (auto& r : rows) s += r.dump() + "\n";
  test::write_file(p, s);
}

void write_tasks(const fs::path& root) {
  const std::vector<std::string> topics = {"bees make honey in the hive", "the train leaves the station at noon",
                                           "stocks fell sharply on monday", "rain is expected over the weekend"};
  const std::vector<std::string> labels = {"nature", "travel", "finance", "weather"};
  test::write_file(root / "sts/task.json", R"({"type": "sts", "name": "tiny-sts"})");
  std::vector<Json> pairs;
  for (int i = 0; i < 8; ++i)
    pairs.push_back({{"text1", topics[static_cast<size_t>(i % 4)]}, {"text2", topics[static_cast<size_t>((i * 3) % 4)] + " today"},
                     {"score", (i % 4) == ((i * 3) % 4) ? 5.0 : 0.5 * i}});
  write_jsonl(root / "sts/pairs.jsonl", pairs);
  test::write_file(root / "clu/task.json", R"({"type": "clustering", "name": "tiny-clustering", "instruction": "Cluster: "})");
  std::vector<Json> texts, train, test_rows;
  for (int i = 0; i < 16; ++i) {
    const auto k = static_cast<size_t>(i % 4);
    Json row = {{"text", topics[k] + " (" + std::to_string(i) + ")"}, {"label", labels[k]}};
    texts.push_back(row);
    (i < 12 ? train : test_rows).push_back(row);
  }
  write_jsonl(root / "clu/texts.jsonl", texts);
  test::write_file(root / "cls/task.json", R"({"type": "classification", "name": "tiny-classification"})");
  write_jsonl(root / "cls/train.jsonl", train);
  write_jsonl(root / "cls/test.jsonl", test_rows);
  for (std::string kind : {"retrieval", "safety"}) {
    auto dir = root / kind.substr(0, 3);
    test::write_file(dir / "task.json", "{\"type\": \"" + kind + "\", \"name\": \"tiny-" + kind +
                                            "\", \"query_instruction\": \"Q: \", \"passage_instruction\": \"P: \"}");
    std::vector<Json> corpus, queries;
    std::string qrels = "query-id\tcorpus-id\tscore\n";
    for (int i = 0; i < 12; ++i) {
      Json d = {{"_id", "d" + std::to_string(i)}, {"text", topics[static_cast<size_t>(i % 4)] + " and more " + std::to_string(i)}};
      if (i == 0) d["title"] = "first";
      if (kind == "safety") d["harmful"] = (i % 3 == 0);
      corpus.push_back(d);
    }
    for (int i = 0; i < 4; ++i) {
      queries.push_back({{"_id", "q" + std::to_string(i)}, {"text", "what about " + topics[static_cast<size_t>(i)]}});
      qrels += "q" + std::to_string(i) + "\td" + std::to_string(i) + "\t2\n";
      qrels += "q" + std::to_string(i) + "\td" + std::to_string(i + 4) + "\t1\n";
    }
    write_jsonl(dir / "corpus.jsonl", corpus);
    write_jsonl(dir / "queries.jsonl", queries);
    if (kind == "retrieval") test::write_file(dir / "qrels.tsv", qrels);
  }
}

}  // namespace

TEST_CASE("cli eval: one small task of each type, every mode, results.json in the documented schema") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cli-eval");
  write_tasks(tmp / "tasks");
  std::vector<Json> responses;
  for (int i = 0; i < 8; ++i)
    responses.push_back({{"id", std::to_string(i)}, {"question", "question " + std::to_string(i)}, {"answer", "answer number " + std::to_string(i)}});
  write_jsonl(tmp / "responses.jsonl", responses);
  auto tr = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "responses.jsonl") + " --out " +
                              q(tmp / "run") + " --steps 2 --batch-size 4 --thought 2 --compression 3 -q");
  INFO(tr.output);
  REQUIRE(tr.exit_code == 0);

  auto r = test::run_genlens("eval --model " + q(model) + " --adapter " + q(tmp / "run") + " --tasks " + q(tmp / "tasks") +
                             " --modes generative,mean,last,nosuch --out " + q(tmp / "out") + " -q");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("tiny-retrieval (ndcg_at_10)") != std::string::npos);
  CHECK(r.output.find("skipped nosuch") != std::string::npos);
  CHECK(r.output.find("gen gain") != std::string::npos);

  auto j = Json::parse(test::read_file(tmp / "out" / "results.json"));
  CHECK(std::set<std::string>{"model", "adapter", "tasks", "skipped"} ==
        [&] { std::set<std::string> k; for (auto& [key, v] : j.items()) k.insert(key); return k; }());
  CHECK(j["model"].get<std::string>() == model.string());
  CHECK(j["adapter"].is_string());
  CHECK(j["skipped"].contains("nosuch"));
  const std::map<std::string, std::pair<std::string, std::set<std::string>>> expect = {
      {"sts", {"spearman", {"spearman", "pearson"}}},
      {"clustering", {"v_measure", {"v_measure", "ari"}}},
      {"classification", {"accuracy", {"accuracy", "macro_f1", "knn_accuracy"}}},
      {"retrieval", {"ndcg_at_10", {"ndcg_at_10", "mrr_at_10", "recall_at_100"}}},
      {"safety", {"harmful_at_5", {"harmful_at_1", "harmful_at_5", "harmful_at_20", "harmful_in_top20"}}},
  };
  REQUIRE(j["tasks"].size() == 5);
  std::set<std::string> types;
  for (auto& t : j["tasks"]) {
    CHECK(t.size() == 4);
    auto type = t["type"].get<std::string>();
    types.insert(type);
    REQUIRE(expect.count(type));
    CHECK(t["name"].get<std::string>() == "tiny-" + type);
    CHECK(t["main_metric"].get<std::string>() == expect.at(type).first);
    CHECK(t["scores"].size() == 3);
    for (std::string mode : {"generative", "mean", "last"}) {
      REQUIRE(t["scores"].contains(mode));
      std::set<std::string> keys;
      for (auto& [k, v] : t["scores"][mode].items()) {
        keys.insert(k);
        CHECK(v.is_number());
        CHECK(std::isfinite(v.get<double>()));
      }
      CHECK(keys == expect.at(type).second);
    }
  }
  CHECK(types.size() == 5);
  // The file reads back through the API the studio uses.
  auto back = analysis::read_results(tmp / "out" / "results.json");
  CHECK(back.tasks.size() == 5);
  CHECK(back.skipped.count("nosuch") == 1);

  // The embeddings are kept in OUT/cache/; a second run reads them back (no file is
  // rewritten) and scores exactly the same; --no-cache encodes again, to the same figures.
  std::map<fs::path, fs::file_time_type> cached;
  for (auto& e : fs::directory_iterator(tmp / "out" / "cache")) cached[e.path()] = fs::last_write_time(e.path());
  CHECK(cached.size() >= 3 * 2);  // per mode: the query instruction and the passage ones
  const auto first = test::read_file(tmp / "out" / "results.json");
  auto again = test::run_genlens("eval --model " + q(model) + " --adapter " + q(tmp / "run") + " --tasks " +
                                 q(tmp / "tasks") + " --modes generative,mean,last,nosuch --out " + q(tmp / "out") + " -q");
  REQUIRE(again.exit_code == 0);
  CHECK(test::read_file(tmp / "out" / "results.json") == first);
  for (auto& [p, t] : cached) CHECK(fs::last_write_time(p) == t);
  auto fresh = test::run_genlens("eval --model " + q(model) + " --adapter " + q(tmp / "run") + " --tasks " +
                                 q(tmp / "tasks") + " --modes generative,mean,last,nosuch --out " + q(tmp / "out-fresh") +
                                 " -q --no-cache");
  REQUIRE(fresh.exit_code == 0);
  CHECK(!fs::exists(tmp / "out-fresh" / "cache"));
  auto a = Json::parse(first), b = Json::parse(test::read_file(tmp / "out-fresh" / "results.json"));
  for (size_t i = 0; i < a["tasks"].size(); ++i)
    for (auto& [mode, ms] : a["tasks"][i]["scores"].items())
      for (auto& [k, v] : ms.items())
        CHECK(b["tasks"][i]["scores"][mode][k].get<double>() == doctest::Approx(v.get<double>()).epsilon(1e-5));

  // Without an adapter, generative is skipped with the reason (not dropped).
  auto r2 = test::run_genlens("eval --model " + q(model) + " --tasks " + q(tmp / "tasks/sts") + " --modes generative,mean --out " +
                              q(tmp / "out2") + " -q --json");
  INFO(r2.output);
  REQUIRE(r2.exit_code == 0);
  auto j2 = Json::parse(test::read_file(tmp / "out2" / "results.json"));
  CHECK(j2["adapter"].is_null());
  CHECK(j2["skipped"]["generative"].get<std::string>().find("adapter") != std::string::npos);
  CHECK(j2["tasks"][0]["scores"].contains("mean"));

  // A broken task names the file and field.
  test::write_file(tmp / "bad/task.json", R"({"type": "clusterin"})");
  auto r3 = test::run_genlens("eval --model " + q(model) + " --tasks " + q(tmp / "bad") + " --modes mean --out " + q(tmp / "o3"));
  CHECK(r3.exit_code == 1);
  CHECK(r3.output.find("task.json") != std::string::npos);
  CHECK(r3.output.find("clusterin") != std::string::npos);
}
