// Integrated gradients over the input token embeddings (core/analysis/attribution.h,
// `genlens attribute`): completeness, the gradient against finite differences, an
// independent Python re-computation (tests/reference/attribution_ref.py), the CLI's
// table, JSON and errors.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/analysis/attribution.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/lens_fixtures.h"

using namespace genlens;

namespace {

struct Fixture : test::AdapterModel {
  std::vector<int32_t> ids(const std::string& text) const {
    auto v = tok->encode(text, /*add_special=*/true);
    return std::vector<int32_t>(v.begin(), v.end());
  }
  torch::Tensor embed(gen::EncodeMode mode, const std::vector<int32_t>& row) const {
    gen::EncodeOptions eo;
    eo.mode = mode;
    return gen::encode_ids(*lm, mode == gen::EncodeMode::Generative ? &adapter.adapter : nullptr,
                           {gen::TokenRow(row.begin(), row.end())}, eo)[0];
  }
  std::string cli_base() const { return command("attribute"); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

std::string join_ids(const std::vector<int32_t>& v) {
  std::string s;
  for (auto i : v) s += (s.empty() ? "" : ",") + std::to_string(i);
  return s;
}

const char* kQuery = "why is the sky blue on a clear day?";
const char* kTarget = "sunlight scattering in the air";

}  // namespace

TEST_CASE("attribute: completeness within 1 percent at 64 steps and 2 percent at 32 (token baseline)") {
  auto& f = fixture();
  const auto ids = f.ids(kQuery);
  analysis::AttributionOptions ao;
  ao.baseline_id = analysis::neutral_token_id(*f.tok);
  for (auto mode : {gen::EncodeMode::Generative, gen::EncodeMode::Mean}) {
    for (bool self : {true, false}) {
      auto target = f.embed(mode, self ? ids : f.ids(kTarget));
      for (int64_t steps : {64, 32}) {
        ao.steps = steps;
        auto r = analysis::integrated_gradients(*f.lm, &f.adapter.adapter, mode, ids, target, ao);
        CAPTURE(gen::to_string(mode));
        CAPTURE(self);
        CAPTURE(steps);
        CAPTURE(r.f_input);
        CAPTURE(r.f_baseline);
        CAPTURE(r.score_sum());
        REQUIRE(r.scores.size() == ids.size());
        if (self) CHECK(r.f_input == doctest::Approx(1.0).epsilon(1e-5));
        // The difference is not negligible, so the relative figure means something.
        CHECK(std::abs(r.f_input - r.f_baseline) > 0.01);
        CHECK(r.completeness_rel() < (steps == 64 ? 0.01 : 0.02));
        MESSAGE(gen::to_string(mode) << (self ? " self" : " text") << " steps " << steps << ": completeness "
                                     << r.completeness_abs() << " abs, " << r.completeness_rel() << " rel");
      }
    }
  }
}

TEST_CASE("attribute: the scores do not depend on how many path points share a forward") {
  auto& f = fixture();
  const auto ids = f.ids(kQuery);
  auto target = f.embed(gen::EncodeMode::Generative, f.ids(kTarget));
  analysis::AttributionOptions ao;
  ao.baseline_id = analysis::neutral_token_id(*f.tok);
  ao.steps = 8;
  ao.batch_size = 1;
  auto a = analysis::integrated_gradients(*f.lm, &f.adapter.adapter, gen::EncodeMode::Generative, ids, target, ao);
  ao.batch_size = 5;  // 5 + 3: a short last batch
  auto b = analysis::integrated_gradients(*f.lm, &f.adapter.adapter, gen::EncodeMode::Generative, ids, target, ao);
  double scale = 0;
  for (double s : a.scores) scale = std::max(scale, std::abs(s));
  REQUIRE(scale > 0);
  for (size_t i = 0; i < ids.size(); ++i) CHECK(std::abs(a.scores[i] - b.scores[i]) <= 1e-5 * scale);
}

TEST_CASE("attribute: the gradient along each token equals a central finite difference (float32)") {
  // DecoderLM::load refuses float64, so this C++ check runs in float32 with a step large
  // enough for float32 rounding (tolerance 1e-3); the float64 finite difference at 1e-4
  // is the Python reference test below.
  auto& f = fixture();
  const auto ids = f.ids(kQuery);
  const auto mode = gen::EncodeMode::Generative;
  auto target = f.embed(mode, f.ids(kTarget));
  analysis::AttributionOptions ao;
  ao.baseline_id = analysis::neutral_token_id(*f.tok);
  torch::Tensor x, base;
  {
    torch::NoGradGuard ng;
    std::vector<int64_t> ids64(ids.begin(), ids.end());
    x = f.lm->embed(torch::tensor(ids64, torch::kLong).unsqueeze(0)).squeeze(0);
    base = analysis::baseline_embeddings(*f.lm, static_cast<int64_t>(ids.size()), ao);
  }
  auto p0 = base + 0.5 * (x - base);
  auto p = p0.unsqueeze(0).clone().requires_grad_(true);
  auto fv = analysis::attribution_objective(*f.lm, &f.adapter.adapter, mode, p, target);
  auto g = torch::autograd::grad({fv.sum()}, {p})[0][0];
  torch::NoGradGuard ng;
  const double h = 1e-2;
  double worst = 0, scale = 0;
  std::vector<double> ad, fd;
  for (int64_t i = 0; i < static_cast<int64_t>(ids.size()); ++i) {
    auto d = torch::zeros_like(x);
    d[i] = x[i] - base[i];
    auto plus = analysis::attribution_objective(*f.lm, &f.adapter.adapter, mode, (p0 + h * d).unsqueeze(0), target);
    auto minus = analysis::attribution_objective(*f.lm, &f.adapter.adapter, mode, (p0 - h * d).unsqueeze(0), target);
    fd.push_back(((plus - minus) / (2 * h)).item<double>());
    ad.push_back((g * d).sum().item<double>());
    scale = std::max(scale, std::abs(ad.back()));
  }
  REQUIRE(scale > 1e-4);
  for (size_t i = 0; i < ad.size(); ++i) worst = std::max(worst, std::abs(ad[i] - fd[i]) / scale);
  MESSAGE("float32 gradient vs float32 central difference: worst " << worst << " of the largest derivative " << scale);
  CHECK(worst < 1e-3);
}

TEST_CASE("attribute: scores, f values and the gradient match an independent Python re-computation in float64") {
  auto& f = fixture();
  const auto ids = f.ids(kQuery);
  const auto target_ids = f.ids(kTarget);
  const int32_t neutral = analysis::neutral_token_id(*f.tok);
  auto script = test::source_dir() / "tests/reference/attribution_ref.py";
  struct Case {
    gen::EncodeMode mode;
    bool zeros;
    bool text_target;
  };
  for (const Case c : {Case{gen::EncodeMode::Generative, false, false}, Case{gen::EncodeMode::Mean, false, true},
                       Case{gen::EncodeMode::Generative, true, true}}) {
    CAPTURE(gen::to_string(c.mode));
    CAPTURE(c.zeros);
    analysis::AttributionOptions ao;
    ao.baseline = c.zeros ? analysis::BaselineKind::Zeros : analysis::BaselineKind::Token;
    ao.baseline_id = c.zeros ? -1 : neutral;
    ao.steps = 16;
    auto target = f.embed(c.mode, c.text_target ? target_ids : ids);
    auto r = analysis::integrated_gradients(*f.lm, &f.adapter.adapter, c.mode, ids, target, ao);
    auto out = f.tmp / "ref.json";
    auto cmd = test::system_python() + " " + test::shell_quote(script.string()) + " --model " +
               test::shell_quote(f.dir.string()) + " --adapter " + test::shell_quote(f.adapter_dir.string()) +
               " --mode " + gen::to_string(c.mode) + " --ids " + join_ids(ids) + " --baseline-id " +
               std::to_string(c.zeros ? -1 : neutral) + " --steps 16 --fd-alpha 0.5 --out " +
               test::shell_quote(out.string()) + (c.text_target ? " --target-ids " + join_ids(target_ids) : "");
    auto run = test::run_command(cmd);
    INFO(run.output);
    REQUIRE(run.exit_code == 0);
    auto ref = nlohmann::json::parse(test::read_file(out));
    REQUIRE(ref["scores"].size() == ids.size());
    double scale = 0, worst = 0;
    for (size_t i = 0; i < ids.size(); ++i) scale = std::max(scale, std::abs(ref["scores"][i].get<double>()));
    REQUIRE(scale > 0);
    for (size_t i = 0; i < ids.size(); ++i)
      worst = std::max(worst, std::abs(r.scores[i] - ref["scores"][i].get<double>()) / scale);
    MESSAGE(gen::to_string(c.mode) << (c.zeros ? " zeros" : " token") << ": scores vs Python float64, worst "
                                   << worst << " of the largest score " << scale);
    CHECK(worst < 1e-4);
    CHECK(r.f_input == doctest::Approx(ref["f_input"].get<double>()).epsilon(1e-5));
    CHECK(r.f_baseline == doctest::Approx(ref["f_baseline"].get<double>()).epsilon(1e-5));

    // Our float32 gradient at the path's midpoint against Python's float64 central
    // difference: along each token's (x_i - x'_i) and along one random direction.
    torch::Tensor x, base;
    {
      torch::NoGradGuard ng;
      std::vector<int64_t> ids64(ids.begin(), ids.end());
      x = f.lm->embed(torch::tensor(ids64, torch::kLong).unsqueeze(0)).squeeze(0);
      base = analysis::baseline_embeddings(*f.lm, static_cast<int64_t>(ids.size()), ao);
    }
    auto p = (base + 0.5 * (x - base)).unsqueeze(0).detach().requires_grad_(true);
    auto fv = analysis::attribution_objective(*f.lm, &f.adapter.adapter, c.mode, p, target);
    auto g = torch::autograd::grad({fv.sum()}, {p})[0][0].to(torch::kDouble);
    auto diff = (x - base).to(torch::kDouble);
    double gscale = 0, gworst = 0;
    for (size_t i = 0; i < ids.size(); ++i) gscale = std::max(gscale, std::abs(ref["fd"][i].get<double>()));
    REQUIRE(gscale > 0);
    for (size_t i = 0; i < ids.size(); ++i) {
      const double ours = (g[static_cast<int64_t>(i)] * diff[static_cast<int64_t>(i)]).sum().item<double>();
      gworst = std::max(gworst, std::abs(ours - ref["fd"][i].get<double>()) / gscale);
      // The reference's own autograd agrees with its finite difference (the yardstick is sound).
      CHECK(std::abs(ref["ad"][i].get<double>() - ref["fd"][i].get<double>()) <= 1e-6 * gscale);
    }
    auto dir_values = ref["fd_random_direction"].get<std::vector<double>>();
    auto rdir = torch::tensor(dir_values, torch::kDouble).view(x.sizes());
    const double ours_random = (g * rdir).sum().item<double>(), fd_random = ref["fd_random"].get<double>();
    MESSAGE("gradient vs Python float64 central difference: worst token " << gworst << " of " << gscale
                                                                          << ", random direction " << ours_random
                                                                          << " vs " << fd_random);
    CHECK(gworst < 1e-4);
    CHECK(ours_random == doctest::Approx(fd_random).epsilon(1e-4));
  }
}

TEST_CASE("attribute CLI: aligned table, --json with one entry per token as tokenize --special gives them") {
  auto& f = fixture();
  const auto base = f.cli_base();
  auto r = test::run_genlens(base + "--query " + test::shell_quote(kQuery) + " --steps 16");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("generative") != std::string::npos);
  CHECK(r.output.find("completeness") != std::string::npos);
  CHECK(r.output.find("self") != std::string::npos);
  CHECK(r.output.find("·sky") != std::string::npos);  // readable pieces, not "Ġsky"

  auto tk = test::run_genlens("tokenize --model " + test::shell_quote(f.dir.string()) + " --special --json --text " +
                              test::shell_quote(kQuery));
  REQUIRE(tk.exit_code == 0);
  auto tj = nlohmann::json::parse(tk.output);
  auto j = test::run_genlens(base + "--query " + test::shell_quote(kQuery) + " --steps 16 --json --quiet");
  INFO(j.output);
  REQUIRE(j.exit_code == 0);
  auto js = nlohmann::json::parse(j.output);
  std::vector<std::string> keys;
  for (auto it = js.begin(); it != js.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"baseline", "f_baseline", "f_input", "mode", "steps", "target", "tokens"});
  CHECK(js["mode"] == "generative");
  CHECK(js["target"] == "self");
  CHECK(js["steps"] == 16);
  CHECK(js["baseline"]["kind"] == "token");
  CHECK(js["baseline"]["id"].get<int32_t>() == analysis::neutral_token_id(*f.tok));
  const auto& toks = js["tokens"];
  const auto& ref_toks = tj.is_array() ? tj : tj["tokens"];
  REQUIRE(toks.size() == ref_toks.size());
  double sum = 0;
  for (size_t i = 0; i < toks.size(); ++i) {
    CHECK(toks[i]["id"] == ref_toks[i]["id"]);
    CHECK(toks[i]["piece"] == ref_toks[i]["piece"]);
    sum += toks[i]["score"].get<double>();
  }
  const double delta = js["f_input"].get<double>() - js["f_baseline"].get<double>();
  CHECK(std::abs(sum - delta) <= 0.02 * std::abs(delta));

  // Both spaces side by side: one object per mode; a text target; the zeros baseline.
  auto b = test::run_genlens(base + "--query " + test::shell_quote(kQuery) + " --mode both --steps 8 --json --quiet " +
                             "--baseline zeros --target-text " + test::shell_quote(kTarget));
  INFO(b.output);
  REQUIRE(b.exit_code == 0);
  auto bj = nlohmann::json::parse(b.output);
  REQUIRE(bj.contains("generative"));
  REQUIRE(bj.contains("mean"));
  CHECK(bj["mean"]["mode"] == "mean");
  CHECK(bj["generative"]["target"] == std::string("text:") + kTarget);
  CHECK(bj["mean"]["baseline"]["kind"] == "zeros");
  CHECK(bj["mean"]["baseline"]["id"].is_null());
  CHECK(bj["mean"]["tokens"].size() == toks.size());
  auto tb = test::run_genlens(base + "--query " + test::shell_quote(kQuery) + " --mode both --steps 8");
  INFO(tb.output);
  REQUIRE(tb.exit_code == 0);
  CHECK(tb.output.find("mean: f(input)") != std::string::npos);
  CHECK(tb.output.find("generative: f(input)") != std::string::npos);
}

TEST_CASE("attribute CLI: corpus row and label targets, and errors that name the flag") {
  auto& f = fixture();
  const auto base = f.cli_base();
  auto corpus = f.tmp / "corpus.jsonl";
  test::write_file(corpus, R"({"text": "the sky is blue because of scattering", "label": "science"}
{"text": "bake the bread for an hour", "label": "cooking"}
{"text": "light bends in water", "label": "science"}
)");
  const std::string q = "--query " + test::shell_quote(kQuery) + " --steps 8 --json --quiet --corpus " +
                        test::shell_quote(corpus.string());
  auto row = test::run_genlens(base + q + " --target-row 2");
  INFO(row.output);
  REQUIRE(row.exit_code == 0);
  CHECK(nlohmann::json::parse(row.output)["target"] == "row:2");
  auto label = test::run_genlens(base + q + " --target-label science --mode mean");
  INFO(label.output);
  REQUIRE(label.exit_code == 0);
  CHECK(nlohmann::json::parse(label.output)["target"] == "label:science");

  auto e1 = test::run_genlens(base + q + " --target-row 3");
  CHECK(e1.exit_code == 1);
  CHECK(e1.output.find("--target-row") != std::string::npos);
  CHECK(e1.output.find("0..2") != std::string::npos);
  auto e2 = test::run_genlens(base + q + " --mode sideways");
  CHECK(e2.exit_code == 1);
  CHECK(e2.output.find("--mode") != std::string::npos);
  auto e3 = test::run_genlens("attribute --model " + test::shell_quote(f.dir.string()) + " --query x --mode generative");
  CHECK(e3.exit_code == 1);
  CHECK(e3.output.find("--adapter") != std::string::npos);
  auto e4 = test::run_genlens(base + q + " --target-label nonesuch");
  CHECK(e4.exit_code == 1);
  CHECK(e4.output.find("science") != std::string::npos);
  auto e5 = test::run_genlens(base + "--query x --target-row 0");
  CHECK(e5.exit_code == 1);
  CHECK(e5.output.find("--corpus") != std::string::npos);
  auto e6 = test::run_genlens(base + q + " --baseline middle");
  CHECK(e6.exit_code == 1);
  CHECK(e6.output.find("--baseline") != std::string::npos);
}
