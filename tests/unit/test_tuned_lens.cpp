// The tuned lens (core/analysis/tuned_lens.h, `genlens tuned-lens`, `lens --tuned`) on a
// tiny Qwen3 with a random adapter: untrained it is the logit lens; its loss on a fixed
// batch equals the float64 PyTorch reference (tests/reference/tuned_lens_ref.py) for the
// logit lens and for perturbed translators; training lowers the held-out KL at every
// layer but the last; the files round-trip and refuse another model; the CLI.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/analysis/lens.h"
#include "core/analysis/tuned_lens.h"
#include "core/gen/checkpoint.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
using torch::Tensor;
namespace fs = std::filesystem;

namespace {

test::AdapterModel& fixture() {
  static test::AdapterModel f;
  return f;
}

// Texts of varied words and lengths.
std::vector<std::string> texts(int n) {
  const std::vector<std::string> a = {"why", "how", "where", "when", "what", "who"},
                                 b = {"is the sky", "does rain fall", "do birds sing", "is bread baked",
                                      "are mountains tall", "was the city built", "does the river bend"},
                                 c = {"blue", "at night", "in spring", "so quickly", "near the sea", ""};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(a[static_cast<size_t>(i) % a.size()] + " " + b[static_cast<size_t>(i * 5) % b.size()] + " " +
                  c[static_cast<size_t>(i * 7) % c.size()] + "?");
  return out;
}

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

}  // namespace

TEST_CASE("tuned lens: untrained it is the logit lens, and its loss equals the float64 PyTorch reference") {
  auto& f = fixture();
  const int64_t L = f.lm->config().num_hidden_layers, H = f.lm->config().hidden_size;
  const Tensor states = analysis::special_position_states(*f.lm, f.adapter.adapter, *f.tok, texts(6), "", 512);
  REQUIRE(states.sizes() == torch::IntArrayRef({L + 1, 6 * 7, H}));
  auto lens = analysis::identity_lens(L, H);
  for (int64_t l = 0; l < L; ++l) {
    const double logit = analysis::lens_kl(*f.lm, nullptr, l, states[l], states[L]).item<double>();
    CHECK(analysis::lens_kl(*f.lm, &lens, l, states[l], states[L]).item<double>() == logit);
    CHECK(logit > 0);
  }
  CHECK(analysis::lens_kl(*f.lm, nullptr, L, states[L], states[L]).item<double>() == doctest::Approx(0).epsilon(1e-6));

  test::TempDir tmp("tuned-lens-ref");
  for (int64_t l = 0; l <= L; ++l) io::save_npy(tmp / ("states" + std::to_string(l) + ".npy"), states[l]);
  auto gen = at::detail::createCPUGenerator(5);
  for (int64_t l = 0; l < L; ++l) {
    lens.weight[static_cast<size_t>(l)] = torch::randn({H, H}, gen) * 0.05;
    lens.bias[static_cast<size_t>(l)] = torch::randn({H}, gen) * 0.1;
  }
  analysis::save_tuned_lens(tmp / "lens", lens, {}, *f.lm, f.dir, f.adapter_dir);
  for (const bool tuned : {false, true}) {
    CAPTURE(tuned);
    auto r = test::run_command(test::system_python() + " " +
                               q(test::source_dir() / "tests/reference/tuned_lens_ref.py") + " " + q(f.dir) + " " +
                               (tuned ? q(tmp / "lens") : std::string("-")) + " " + q(tmp / "states") + " " +
                               std::to_string(L));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto want = nlohmann::json::parse(r.output);
    REQUIRE(want.size() == static_cast<size_t>(L));
    for (int64_t l = 0; l < L; ++l) {
      const double got = analysis::lens_kl(*f.lm, tuned ? &lens : nullptr, l, states[l], states[L]).item<double>();
      const double ref = want[static_cast<size_t>(l)].get<double>();
      const std::string which = tuned ? "tuned" : "logit";
      MESSAGE(which, " lens, layer ", l, ": KL ", got, " vs reference ", ref);
      CHECK(std::abs(got - ref) <= 1e-5 * std::max(1.0, ref));
    }
  }
}

TEST_CASE("tuned lens: training lowers the held-out KL at every layer but the last, files round-trip, CLI") {
  auto& f = fixture();
  const int64_t L = f.lm->config().num_hidden_layers;
  const auto all = texts(40);
  const Tensor states = analysis::special_position_states(*f.lm, f.adapter.adapter, *f.tok, all, "", 512);
  analysis::TunedLensTrainOptions to;
  to.steps = 80;
  to.lr = 3e-3;
  to.batch_rows = 64;
  to.held_fraction = 0.25;
  analysis::TunedLensCurves c;
  auto lens = analysis::train_tuned_lens(*f.lm, states, 7, to, c);
  CHECK(c.held_texts == 10);
  CHECK(c.train_texts == 30);
  REQUIRE(c.layers.size() == static_cast<size_t>(L + 1));
  for (int64_t l = 0; l < L; ++l) {
    MESSAGE("layer ", l, ": held-out KL logit lens ", c.kl_logit[static_cast<size_t>(l)], ", tuned lens ",
            c.kl_tuned[static_cast<size_t>(l)]);
    CHECK(c.kl_tuned[static_cast<size_t>(l)] < c.kl_logit[static_cast<size_t>(l)]);
  }
  CHECK(c.kl_tuned[static_cast<size_t>(L)] == 0);

  test::TempDir tmp("tuned-lens-files");
  analysis::save_tuned_lens(tmp / "lens", lens, c, *f.lm, f.dir, f.adapter_dir);
  analysis::TunedLensCurves back_c;
  auto back = analysis::load_tuned_lens(tmp / "lens", *f.lm, f.dir, &back_c);
  for (int64_t l = 0; l < L; ++l) {
    CHECK(torch::equal(back.weight[static_cast<size_t>(l)], lens.weight[static_cast<size_t>(l)]));
    CHECK(torch::equal(back.bias[static_cast<size_t>(l)], lens.bias[static_cast<size_t>(l)]));
  }
  CHECK(back_c.kl_tuned == c.kl_tuned);
  auto other_dir = test::tiny_model_dir("qwen3");
  auto other = model::DecoderLM::load(other_dir);
  CHECK_THROWS_WITH_AS(analysis::load_tuned_lens(tmp / "lens", *other, other_dir),
                       doctest::Contains("tuned_lens.json"), std::exception);
  CHECK_THROWS_WITH_AS(analysis::load_tuned_lens(tmp.path, *f.lm, f.dir), doctest::Contains("no tuned lens here"),
                       std::exception);

  // The lens reads layer l through T_l: its top-1 at layer 0 is the tuned distribution's.
  analysis::LensOptions lo;
  lo.tuned = &back;
  lo.layers = "0";
  auto r = analysis::logit_lens(*f.lm, &f.adapter.adapter, *f.tok, all[0], lo);
  const Tensor s0 = states[0].narrow(0, 0, 7);
  const Tensor want = torch::softmax(f.lm->lm_head(f.lm->final_norm(back.apply(0, s0))), -1);
  for (int64_t p = 0; p < 7; ++p)
    CHECK(r.cell(0, static_cast<size_t>(p)).top[0].id == want[p].argmax().item<int64_t>());

  // CLI: train (JSON curves), show, lens --tuned, and a lens that is not there.
  std::string lines;
  for (const auto& t : all) lines += nlohmann::json({{"text", t}}).dump() + "\n";
  test::write_file(tmp / "texts.jsonl", lines);
  auto t = test::run_genlens("tuned-lens train --model " + q(f.dir) + " --adapter " + q(f.adapter_dir) + " --data " +
                             q(tmp / "texts.jsonl") + " --steps 20 --batch-rows 32 --out " + q(tmp / "cli-lens") +
                             " --json");
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  auto j = nlohmann::json::parse(t.output.substr(t.output.find('{')));
  CHECK(j["layers"].size() == static_cast<size_t>(L + 1));
  CHECK(j["kl_logit"].size() == static_cast<size_t>(L + 1));
  CHECK(j["kl_tuned"].size() == static_cast<size_t>(L + 1));
  auto s = test::run_genlens("tuned-lens show --model " + q(f.dir) + " --lens " + q(tmp / "cli-lens"));
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  CHECK(s.output.find("logit lens  tuned lens  tuned/logit") != std::string::npos);
  auto l = test::run_genlens("lens --model " + q(f.dir) + " --adapter " + q(f.adapter_dir) + " --query " +
                             test::shell_quote(all[0]) + " --tuned " + q(tmp / "cli-lens"));
  INFO(l.output);
  REQUIRE(l.exit_code == 0);
  CHECK(l.output.find("tuned lens, top-1 per cell") != std::string::npos);
  auto bad = test::run_genlens("lens --model " + q(f.dir) + " --query x --tuned " + q(tmp / "nowhere"));
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("no tuned lens here") != std::string::npos);
}
