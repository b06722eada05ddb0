// Activations out for the user's own probes: `encode --hidden-states` writes every text's
// thought and compression states [N, layers+1, n_special, H] (float32 or float16) from the
// same forwards as the embeddings, and `forward --text --adapter` writes one text's whole
// residual stream. NumPy (Debian's python3-numpy) reads the files and compares them, row
// by row and layer by layer, with `forward`'s states of each text taken alone.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/io/npy.h"
#include "tests/lens_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTexts = {"why is the sky blue?", "a bird sang", "rain over the hills today",
                                         "what is the capital of france", "the cat sat"};

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

}  // namespace

TEST_CASE("encode --hidden-states: [N, layers+1, special, H] as NumPy reads it, equal to forward --text per text") {
  const auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("hidden-states");
  auto lm = model::DecoderLM::load(model);
  const auto adapter = test::random_adapter_dir(*lm, model, tmp / "adapter", 3, 4);
  std::string lines;
  for (const auto& t : kTexts) lines += nlohmann::json({{"text", t}}).dump() + "\n";
  test::write_file(tmp / "texts.jsonl", lines);
  const std::string base = "encode --model " + q(model) + " --adapter " + q(adapter) + " --input " +
                           q(tmp / "texts.jsonl") + " --batch-size 2 ";

  auto plain = test::run_genlens(base + "--output " + q(tmp / "plain.npy"));
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  auto r32 = test::run_genlens(base + "--output " + q(tmp / "emb.npy") + " --hidden-states " + q(tmp / "hs.npy"));
  INFO(r32.output);
  REQUIRE(r32.exit_code == 0);
  CHECK(r32.output.find("5 x 3 x 7 x 64 float32") != std::string::npos);
  auto r16 = test::run_genlens(base + "--output " + q(tmp / "emb16.npy") + " --hidden-states " + q(tmp / "hs16.npy") +
                               " --hidden-dtype f16 --window 2");  // several windows
  INFO(r16.output);
  REQUIRE(r16.exit_code == 0);
  // The embeddings are the ones a plain encode writes, bit for bit (same forwards); with
  // windows of 2 the batches differ, so only to rounding.
  CHECK(torch::equal(io::load_npy(tmp / "emb.npy"), io::load_npy(tmp / "plain.npy")));
  CHECK((io::load_npy(tmp / "emb16.npy") - io::load_npy(tmp / "plain.npy")).abs().max().item<double>() < 1e-5);

  for (size_t i = 0; i < kTexts.size(); ++i) {
    auto f = test::run_genlens("forward --model " + q(model) + " --adapter " + q(adapter) + " --text " +
                               test::shell_quote(kTexts[i]) + " --hidden-states " +
                               q(tmp / ("fwd" + std::to_string(i))));
    INFO(f.output);
    REQUIRE(f.exit_code == 0);
  }
  const std::string py = R"PY(
import sys, numpy as np
d, n = sys.argv[1], int(sys.argv[2])
hs, h16 = np.load(d + "/hs.npy"), np.load(d + "/hs16.npy")
assert hs.dtype == np.float32 and h16.dtype == np.float16, (hs.dtype, h16.dtype)
assert hs.shape == (n, 3, 7, 64) and h16.shape == hs.shape, (hs.shape, h16.shape)
worst32 = worst16 = 0.0
for i in range(n):
    for l in range(3):
        want = np.load(f"{d}/fwd{i}/hidden_{l:02d}.npy")[-7:]
        worst32 = max(worst32, float(np.abs(hs[i, l] - want).max()))
        worst16 = max(worst16, float((np.abs(h16[i, l].astype(np.float32) - want) / (np.abs(want) + 1e-2)).max()))
print(f"float32 max |diff| {worst32:.3g}; float16 max relative diff {worst16:.3g}")
sys.exit(0 if worst32 <= 1e-5 and worst16 <= 2e-3 else 1)
)PY";
  test::write_file(tmp / "check.py", py);
  auto c = test::run_command(test::system_python() + " " + q(tmp / "check.py") + " " + q(tmp.path) + " " +
                             std::to_string(kTexts.size()));
  MESSAGE(c.output);
  CHECK(c.exit_code == 0);

  // Only the generative mode has special tokens; nothing is written when refused.
  auto bad = test::run_genlens("encode --model " + q(model) + " --mode mean --input " + q(tmp / "texts.jsonl") +
                               " --output " + q(tmp / "mean.npy") + " --hidden-states " + q(tmp / "hs-mean.npy"));
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--hidden-states: the thought and compression states come with --mode generative") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "hs-mean.npy"));
  CHECK_FALSE(fs::exists(tmp / "mean.npy"));
  auto none = test::run_genlens("forward --model " + q(model));
  CHECK(none.exit_code != 0);
  CHECK(none.output.find("give --ids or --text") != std::string::npos);
}
