// `genlens bench all` at tiny shapes: every case prints one well-formed JSON object with
// the documented fields, and --vs-python runs tests/bench/peer.py on the same checkpoint
// (Debian's python3-torch) and reports its figures and the ratio. No timing is asserted:
// benchmarks print figures, they never pass or fail on speed.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;
using Json = nlohmann::json;

namespace {

bool positive_number(const Json& j) { return j.is_number() && std::isfinite(j.get<double>()) && j.get<double>() > 0; }

}  // namespace

TEST_CASE("bench all: one well-formed JSON object per case, the Python peer beside each") {
  test::TempDir tmp("bench-all");
  const std::string out = (tmp / "out.jsonl").string(), err = (tmp / "err.txt").string();
  auto r = test::run_command(test::shell_quote(GENLENS_CLI_PATH) +
                             " bench all --hidden 32 --layers 2 --heads 2 --vocab 300 --batch 2 --query-len 8"
                             " --response-len 6 --thought 2 --compression 3 --new-tokens 4 --steps 2 --umap-n 300"
                             " --umap-dim 16 --vs-python --python " + test::shell_quote(test::system_python()) +
                             " >" + test::shell_quote(out) + " 2>" + test::shell_quote(err));
  auto read = [](const std::string& p) {
    std::ifstream f(p);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  INFO("stderr: " << read(err));
  REQUIRE(r.exit_code == 0);
  std::map<std::string, Json> cases;
  std::istringstream lines(read(out));
  std::string line;
  while (std::getline(lines, line)) {
    INFO(line);
    Json j;
    REQUIRE_NOTHROW(j = Json::parse(line));
    REQUIRE(j.is_object());
    cases[j.at("bench").get<std::string>() + "/" + j.at("case").get<std::string>()] = j;
  }
  for (auto* name : {"encode/mean", "encode/generative", "train/step", "generate/greedy", "lens/all-layers-top10",
                     "lens/per-layer-baseline", "umap/fit"}) {
    CAPTURE(name);
    REQUIRE(cases.count(name) == 1);
    const Json& j = cases[name];
    CHECK(j.at("impl") == "genlens");
    CHECK(positive_number(j.at("items_per_s")));
    CHECK(positive_number(j.at("latency_ms").at("p50")));
    CHECK(j.at("latency_ms").at("p95").get<double>() >= j.at("latency_ms").at("p50").get<double>());
    CHECK(positive_number(j.at("peak_rss_mb")));
    if (std::string(name) == "umap/fit") {
      CHECK(j.at("trustworthiness").get<double>() > 0.5);
      continue;
    }
    CHECK(j.at("hidden") == 32);
    CHECK(j.at("layers") == 2);
    CHECK(j.at("vocab") == 300);
    CHECK(j.at("batch") == 2);
    CHECK(j.at("dtype") == "float32");
    CHECK(j.at("device") == "cpu");
    CHECK(j.at("threads").get<int>() >= 1);
    CHECK(positive_number(j.at("tokens_per_s")));
    CHECK(positive_number(j.at("tflops")));
    CHECK(j.at("mfu").is_null());           // no peak known for a CPU
    CHECK(j.at("cuda_peak_mb").is_null());
    if (std::string(name).rfind("lens/", 0) == 0) continue;  // no peer case
    const Json& p = j.at("vs_python");
    INFO(p.dump());
    REQUIRE_FALSE(p.contains("error"));
    CHECK((p.at("impl") == "python-eager" || p.at("impl") == "hf-transformers"));
    CHECK(positive_number(p.at("items_per_s")));
    CHECK(positive_number(p.at("speedup")));
  }
  const Json& t = cases["train/step"];
  CHECK(t.at("response_len") == 6);
  CHECK(positive_number(t.at("peak_rss_forward_mb")));
  CHECK(positive_number(t.at("memory_vs_forward")));
  CHECK(t.at("recompute") == false);  // auto: off on the CPU
  CHECK(cases["generate/greedy"].at("new_tokens") == 4);
  // 2 rows x 4 new tokens, never stopping early.
  CHECK(cases["generate/greedy"].at("tokens_per_s").get<double>() ==
        doctest::Approx(8.0 * cases["generate/greedy"].at("items_per_s").get<double>() / 2.0));
}

TEST_CASE("bench: an unknown --shape names the shapes there are") {
  auto r = test::run_genlens("bench encode --shape qwen9-0b --steps 1");
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("qwen3-0.6b") != std::string::npos);
  CHECK(r.output.find("qwen9-0b") != std::string::npos);
}

TEST_CASE("bench intervene: ablation, trace, attribution and the tuned lens, one JSON object each, and a clear error on a small vocabulary") {
  auto r = test::run_genlens("bench intervene --vocab 151669 --hidden 64 --layers 2 --heads 4 --thought 3 "
                             "--compression 4 --batch 2 --steps 1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, Json> cases;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') {
      auto j = Json::parse(line);
      CHECK(j["bench"] == "intervene");
      CHECK(positive_number(j["latency_ms"]["p50"]));
      cases[j["case"].get<std::string>()] = j;
    }
  REQUIRE(cases.size() == 5);
  CHECK(cases["attribute-8-points"]["path_points"] == 8);
  CHECK(cases["attribute-8-points"]["completeness_rel"].get<double>() < 0.05);  // midpoint rule, 8 points
  CHECK(cases["ablate-every-position"]["rows"] == 8);  // all 7 together, then each alone
  CHECK(cases["trace-special-positions"]["cells"] == 3 * 7);
  CHECK(cases["trace-special-positions"]["forwards"] == 3);
  CHECK(cases["tuned-lens-step"]["positions"] == 14);
  auto e = test::run_genlens("bench intervene --steps 1");
  CHECK(e.exit_code != 0);
  CHECK(e.output.find("give --vocab") != std::string::npos);
}

TEST_CASE("bench weights: bf16 matrices against float32 on one model, agreement counted, half the bytes") {
  auto r = test::run_genlens("bench weights --hidden 32 --layers 2 --heads 2 --vocab 300 --query-len 6 --prompts 5 "
                             "--new-tokens 4");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto brace = r.output.rfind("\n{");
  REQUIRE(brace != std::string::npos);
  auto j = Json::parse(r.output.substr(brace + 1));
  CHECK(j["case"] == "bf16-vs-f32");
  CHECK(j["prompts"] == 5);
  CHECK(j["greedy_tokens"] == 5 * 4);
  CHECK(j["lens_cells"] == 5 * 3 * 6);  // prompts x (layers + 1) x the prompt's 6 positions
  CHECK(j["greedy_identical_prompts"].get<int>() <= 5);
  CHECK(j["greedy_tokens_before_first_difference"].get<int>() <= 20);
  CHECK(j["lens_top1_identical"].get<int>() <= 90);
  CHECK(j["lens_top1_identical"].get<int>() >= 45);  // rounding moves a few near-ties, not half the cells
  const double ratio = j["weights_mb"]["bf16"].get<double>() / j["weights_mb"]["f32"].get<double>();
  CHECK(ratio > 0.5);  // the norms stay float32
  CHECK(ratio < 0.52);
  CHECK(positive_number(j["decode_tokens_per_s"]["bf16"]));
  CHECK(r.output.find("greedy identical") != std::string::npos);
}

TEST_CASE("bench inspector: the parts of one query appear in the studio's order, each time after the last") {
  for (const char* weights : {"same", "bf16"}) {
    CAPTURE(weights);
    auto r = test::run_genlens(std::string("bench inspector --vocab 151669 --hidden 64 --layers 2 --heads 4 --steps 1 "
                                           "--weights ") + weights);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto brace = r.output.find("\n{");
    REQUIRE(brace != std::string::npos);
    auto j = Json::parse(r.output.substr(brace + 1, r.output.find('\n', brace + 1) - brace - 1));
    CHECK(j["bench"] == "inspector");
    CHECK(j["weights"] == (std::string(weights) == "bf16" ? "bfloat16" : "float32"));
    CHECK(j["model_answer"] == true);  // the Qwen3 chat template: the answer is timed too
    const double lens = j["lens_s"], first = j["first_token_s"], decoded = j["decoded_s"], answer = j["answer_s"];
    CHECK(lens > 0);
    CHECK(first >= lens);
    CHECK(decoded >= first);
    CHECK(answer >= decoded);
    CHECK(j["latency_ms"]["p50"].get<double>() / 1e3 >= answer);
  }
}
