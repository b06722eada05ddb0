// `genlens demo --study`: the claim logic on hand-made studies (every verdict, the
// thresholds at their edges, the noise verdict with two seeds) and the command end to end
// on a quick workspace with short runs (three studies, the report, a rerun that trains
// nothing, the demo adapter's settings as the studies' base).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "core/demo/claims.h"
#include "core/io/atomic_file.h"
#include "core/runs/study_file.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One variant: its varied setting and, per seed, (embedding score, decode rate). The
// score is split over a higher-is-better and a lower-is-better column so both count.
struct Spec {
  std::vector<std::pair<std::string, std::string>> setting;
  std::vector<std::pair<double, double>> runs;
};

runs::Study make_study(const std::vector<Spec>& specs) {
  runs::Study s;
  s.columns = {{"sts", "sts", "spearman", "eval", false},
               {"safety", "safety", "harmful_at_5", "eval", true},
               {"decode", "decode", "hit_rate", "probe", false},
               {"lens", "lens", "hit_rate", "probe", false}};
  size_t n_seeds = 0;
  for (const auto& spec : specs) {
    runs::StudyVariant v;
    v.setting = spec.setting;
    for (const auto& [k, val] : spec.setting) v.name += (v.name.empty() ? "" : " ") + k + "=" + val;
    uint64_t seed = 42;
    for (const auto& [e, d] : spec.runs) {
      runs::StudyRun r;
      r.seed = seed++;
      r.done = true;
      // (sts + (1 - safety)) / 2 = e
      r.scores = {{"sts", e + 0.05}, {"safety", 1.0 - (e - 0.05)}, {"decode", d}, {"lens", 0.5}};
      v.runs.push_back(r);
    }
    n_seeds = std::max(n_seeds, spec.runs.size());
    s.variants.push_back(v);
  }
  for (size_t k = 0; k < n_seeds; ++k) s.seeds.push_back(42 + k);
  runs::summarize(s);
  return s;
}

// Loss variants: recon+align, recon only, align only, each one seed (embedding, decode).
runs::Study losses(std::pair<double, double> both, std::pair<double, double> recon, std::pair<double, double> align) {
  return make_study({{{{"recon-weight", "1"}, {"align-weight", "1"}}, {both}},
                     {{{"recon-weight", "1"}, {"align-weight", "0"}}, {recon}},
                     {{{"recon-weight", "0"}, {"align-weight", "1"}}, {align}}});
}
runs::Study thought(std::vector<std::pair<double, double>> t0, std::vector<std::pair<double, double>> t10) {
  return make_study({{{{"thought", "0"}}, t0}, {{{"thought", "10"}}, t10}});
}
runs::Study compression(double c2, double c5, double c10, double c20) {
  return make_study({{{{"compression", "2"}}, {{c2, 0.5}}},
                     {{{"compression", "5"}}, {{c5, 0.5}}},
                     {{{"compression", "10"}}, {{c10, 0.5}}},
                     {{{"compression", "20"}}, {{c20, 0.5}}}});
}

// The paper's picture: every claim holds clearly.
const runs::Study kLosses = losses({0.80, 0.80}, {0.60, 0.70}, {0.78, 0.10});
const runs::Study kThought = thought({{0.70, 0.70}}, {{0.80, 0.80}});
const runs::Study kCompression = compression(0.60, 0.70, 0.80, 0.75);

std::string verdict_of(const std::vector<demo::Claim>& claims, const std::string& id) {
  for (const auto& c : claims)
    if (c.id == id) return c.verdict;
  FAIL("no claim " << id);
  return "";
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("demo claims: the embedding score averages the eval columns with lower-is-better ones as 1 - x") {
  auto s = make_study({{{{"thought", "0"}}, {{0.70, 0.5}, {0.80, 0.5}}}});
  s.variants[0].runs[0].scores["sts"] = 0.6;
  s.variants[0].runs[0].scores["safety"] = 0.2;  // counts as 0.8
  runs::summarize(s);
  auto e = demo::embedding_score(s, s.variants[0]);
  REQUIRE(e);
  CHECK(e->runs == 2);
  CHECK(e->mean == doctest::Approx((0.7 + 0.8) / 2));
  CHECK(e->spread == doctest::Approx(std::sqrt(0.005)));
  // The probe columns do not count.
  s.variants[0].runs[1].scores["decode"] = 0.0;
  CHECK(demo::embedding_score(s, s.variants[0])->mean == doctest::Approx(0.75));
  // A run without every eval column does not count; none left -> no score.
  for (auto& r : s.variants[0].runs) r.scores.erase("sts");
  CHECK_FALSE(demo::embedding_score(s, s.variants[0]));
}

TEST_CASE("demo claims: the paper's picture is reproduced claim by claim with the numbers") {
  const auto claims = demo::judge_claims(kLosses, kThought, kCompression);
  REQUIRE(claims.size() == 5);
  for (const auto& c : claims) {
    CAPTURE(c.id);
    CAPTURE(c.evidence);
    CHECK(c.verdict == demo::kReproduced);
    CHECK(!c.test.empty());
    CHECK(!c.paper.empty());
  }
  CHECK(claims[0].evidence.find("0.780") != std::string::npos);  // align only's score
  CHECK(claims[0].evidence.find("0.100") != std::string::npos);  // and decode rate
  CHECK(claims[3].evidence.find("decode rate 0.800 against 0.700") != std::string::npos);
  CHECK(claims[4].evidence.find("peaks at 10") != std::string::npos);
  // The thresholds are stated.
  CHECK(claims[0].test.find("0.95 x") != std::string::npos);
  CHECK(claims[0].test.find("0.50 x") != std::string::npos);
  const std::string md = demo::claims_markdown(claims);
  CHECK(count(md, "\n- **") == 5);
  CHECK(md.find("Embedding score: ") != std::string::npos);
  CHECK(demo::claims_to_json(claims)["claims"].size() == 5);
}

TEST_CASE("demo claims: claim a at its thresholds") {
  // Embedding score exactly 0.95 x recon+align's holds; just below does not.
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.70}, {0.76, 0.10}), kThought, kCompression), "a") ==
        demo::kReproduced);
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.70}, {0.759, 0.10}), kThought, kCompression), "a") ==
        demo::kNotReproduced);
  // Decode exactly half of recon+align's holds; above half does not.
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.70}, {0.78, 0.40}), kThought, kCompression), "a") ==
        demo::kReproduced);
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.70}, {0.78, 0.41}), kThought, kCompression), "a") ==
        demo::kNotReproduced);
}

TEST_CASE("demo claims: claim b at its thresholds") {
  // Decode 0.20 above align only's holds, 0.19 does not.
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.30}, {0.78, 0.10}), kThought, kCompression), "b") ==
        demo::kReproduced);
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.29}, {0.78, 0.10}), kThought, kCompression), "b") ==
        demo::kNotReproduced);
  // An embedding score above 0.95 x recon+align's is not "clearly below".
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.80}, {0.77, 0.70}, {0.78, 0.10}), kThought, kCompression), "b") ==
        demo::kNotReproduced);
}

TEST_CASE("demo claims: claim c needs recon+align near the best on both measures") {
  // Align only far better embeddings: recon+align below 0.95 x the best.
  auto claims = demo::judge_claims(losses({0.80, 0.80}, {0.60, 0.70}, {0.90, 0.10}), kThought, kCompression);
  CHECK(verdict_of(claims, "c") == demo::kNotReproduced);
  CHECK(claims[2].evidence.find("best: align only, 0.900") != std::string::npos);
  // Recon only decodes far better.
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.50}, {0.60, 0.90}, {0.78, 0.10}), kThought, kCompression), "c") ==
        demo::kNotReproduced);
  // Within 0.95 x the best on both: holds though it is not the best.
  CHECK(verdict_of(demo::judge_claims(losses({0.80, 0.86}, {0.60, 0.90}, {0.84, 0.10}), kThought, kCompression), "c") ==
        demo::kReproduced);
}

TEST_CASE("demo claims: thought and compression must improve the embedding score") {
  // A tie is no improvement for thought tokens.
  CHECK(verdict_of(demo::judge_claims(kLosses, thought({{0.70, 0.7}}, {{0.70, 0.8}}), kCompression), "d") ==
        demo::kNotReproduced);
  // Compression 20 equal to 2 holds (>=); below does not.
  CHECK(verdict_of(demo::judge_claims(kLosses, kThought, compression(0.60, 0.70, 0.80, 0.60)), "e") == demo::kReproduced);
  auto claims = demo::judge_claims(kLosses, kThought, compression(0.60, 0.70, 0.50, 0.59));
  CHECK(verdict_of(claims, "e") == demo::kNotReproduced);
  CHECK(claims[4].evidence.find("peaks at 5") != std::string::npos);
}

TEST_CASE("demo claims: with two seeds a difference inside the spread is noise, one outside it is not") {
  // thought=0: 0.70 and 0.80 (spread 0.071); thought=10: 0.76 and 0.78 -> +0.02, inside.
  auto noisy = demo::judge_claims(kLosses, thought({{0.70, 0.5}, {0.80, 0.5}}, {{0.76, 0.5}, {0.78, 0.5}}), kCompression);
  CHECK(verdict_of(noisy, "d") == demo::kInsideNoise);
  CHECK(noisy[3].evidence.find(" ± ") != std::string::npos);
  // A loss inside the spread is noise too, not a failure.
  CHECK(verdict_of(demo::judge_claims(kLosses, thought({{0.76, 0.5}, {0.78, 0.5}}, {{0.70, 0.5}, {0.80, 0.5}}),
                                      kCompression),
                   "d") == demo::kInsideNoise);
  // Tight seeds, clear gap: reproduced; clear loss: not reproduced.
  CHECK(verdict_of(demo::judge_claims(kLosses, thought({{0.60, 0.5}, {0.61, 0.5}}, {{0.80, 0.5}, {0.81, 0.5}}),
                                      kCompression),
                   "d") == demo::kReproduced);
  CHECK(verdict_of(demo::judge_claims(kLosses, thought({{0.80, 0.5}, {0.81, 0.5}}, {{0.60, 0.5}, {0.61, 0.5}}),
                                      kCompression),
                   "d") == demo::kNotReproduced);
  // One seed: the same close numbers are a plain comparison, never noise.
  CHECK(verdict_of(demo::judge_claims(kLosses, thought({{0.75, 0.5}}, {{0.77, 0.5}}), kCompression), "d") ==
        demo::kReproduced);
}

TEST_CASE("demo claims: a missing variant makes its claim not reproduced and says what is missing") {
  auto partial = make_study({{{{"recon-weight", "1"}, {"align-weight", "1"}}, {{0.8, 0.8}}}});
  auto claims = demo::judge_claims(partial, kThought, kCompression);
  CHECK(verdict_of(claims, "a") == demo::kNotReproduced);
  CHECK(claims[0].evidence.find("Not measured: its align-only run") != std::string::npos);
  CHECK(verdict_of(claims, "d") == demo::kReproduced);  // the other studies still count
  // An unfinished run has no score.
  auto unfinished = kThought;
  for (auto& r : unfinished.variants[1].runs) r.done = false;
  runs::summarize(unfinished);
  CHECK(verdict_of(demo::judge_claims(kLosses, unfinished, kCompression), "d") == demo::kNotReproduced);
}

TEST_CASE("demo --study: --seeds and --study-steps need --study") {
  for (const char* flags : {"--seeds 2", "--study-steps 10"}) {
    CAPTURE(flags);
    auto r = test::run_genlens(std::string("demo --quick --out /nonexistent/ws ") + flags);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("--study") != std::string::npos);
  }
}

TEST_CASE("demo --quick --study: three studies, the report, and a rerun that trains nothing") {
  test::TempDir tmp("demo-study");
  const fs::path ws = tmp / "ws";
  const std::string cmd = "demo --quick --study --study-steps 15 --out " + test::shell_quote(ws.string());
  auto r = test::run_genlens(cmd);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::pair<std::string, size_t>> studies = {{"losses", 3}, {"thought", 2}, {"compression", 4}};
  for (const auto& [name, variants] : studies) {
    CAPTURE(name);
    const json st = io::read_json_file(ws / "study" / name / "study.json");
    REQUIRE(st["variants"].size() == variants);
    for (const auto& v : st["variants"]) {
      CHECK(v["runs"][0]["done"] == true);
      CHECK(fs::exists(ws / "study" / name / v["runs"][0]["dir"].get<std::string>() / "done.json"));
    }
    CHECK(st["base"]["steps"] == 15);
  }
  // thought=10 and compression=10 are recon+align itself: copied from the losses study.
  CHECK(count(r.output, "copied, not trained again") == 2);
  const std::string report = test::read_file(ws / "study/report.md");
  CHECK(count(report, "| variant |") == 3);
  CHECK(count(report, "\n- **") == 5);
  CHECK(r.output.find(report) != std::string::npos);  // printed as written
  CHECK(io::read_json_file(ws / "study/claims.json")["claims"].size() == 5);

  // The studies' base is the demo adapter's own training settings (steps aside).
  fs::path state;
  for (const auto& e : fs::recursive_directory_iterator(ws / "run"))
    if (e.path().filename() == "trainer_state.json") state = e.path();
  REQUIRE(!state.empty());
  json demo_settings = io::read_json_file(state)["settings"];
  json base = io::read_json_file(ws / "study/losses/study.json")["base"];
  for (auto* j : {&demo_settings, &base})
    for (const char* k : {"steps", "save_every"}) j->erase(k);
  CHECK(base == demo_settings);

  // A rerun finds every run done and prints the same report.
  auto again = test::run_genlens(cmd);
  CHECK(again.exit_code == 0);
  CHECK(count(again.output, "done earlier, not trained again") == 9);
  CHECK(count(again.output, "copied") == 0);
  CHECK(test::read_file(ws / "study/report.md") == report);
}
