// Proves each layer links and runs: the checkpoint layout the loader reads, the
// environment probe, and CLI parsing.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

#include "app/cli/command.h"
#include "core/model/checkpoint.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/env_info.h"
#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;

namespace {
using Layout = std::vector<std::pair<std::string, std::vector<int64_t>>>;
Layout layout_of(const model::ModelConfig& c) {
  Layout out;
  for (auto& s : model::parameter_specs(c)) out.emplace_back(s.name, s.shape);
  return out;
}
// Sizes chosen so no two differ by accident: a swapped axis or size shows.
model::ModelConfig small_config() {
  model::ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 11;
  c.hidden_size = 8;
  c.intermediate_size = 5;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 6;  // q: 24 rows, k and v: 12
  return c;
}
}  // namespace

TEST_CASE("core: the checkpoint layout lists HF names in order with the shapes the config implies") {
  auto c = small_config();
  c.attention_bias = true;
  const std::string l0 = "model.layers.0.";
  const Layout want{{"model.embed_tokens.weight", {11, 8}},
                    {l0 + "input_layernorm.weight", {8}},
                    {l0 + "self_attn.q_proj.weight", {24, 8}},
                    {l0 + "self_attn.q_proj.bias", {24}},
                    {l0 + "self_attn.k_proj.weight", {12, 8}},
                    {l0 + "self_attn.k_proj.bias", {12}},
                    {l0 + "self_attn.v_proj.weight", {12, 8}},
                    {l0 + "self_attn.v_proj.bias", {12}},
                    {l0 + "self_attn.o_proj.weight", {8, 24}},
                    {l0 + "post_attention_layernorm.weight", {8}},
                    {l0 + "mlp.gate_proj.weight", {5, 8}},
                    {l0 + "mlp.up_proj.weight", {5, 8}},
                    {l0 + "mlp.down_proj.weight", {8, 5}},
                    {"model.norm.weight", {8}},
                    {"lm_head.weight", {11, 8}}};
  CHECK(layout_of(c) == want);

  // Qwen3's q/k norms come after o_proj; tied embeddings have no LM head of their own.
  c = small_config();
  c.model_type = "qwen3";
  c.qk_norm = true;
  c.tie_word_embeddings = true;
  const auto tied = layout_of(c);
  REQUIRE(tied.size() == 13);
  CHECK(tied[6] == Layout::value_type{l0 + "self_attn.q_norm.weight", {6}});
  CHECK(tied[7] == Layout::value_type{l0 + "self_attn.k_norm.weight", {6}});
  CHECK(tied.back().first == "model.norm.weight");

  // The loader fills the fields from the same table: every tensor once, in this order,
  // and a tied head is the embedding itself.
  test::TempDir dir("layout");
  model::write_random_checkpoint(c, dir.path / "m", {});
  auto lm = model::DecoderLM::load(dir.path / "m");
  Layout loaded;
  for (auto& [name, t] : lm->named_parameters()) loaded.emplace_back(name, t.sizes().vec());
  CHECK(loaded == tied);
  CHECK(lm->lm_head_weight().data_ptr() == lm->named_parameters().front().second.data_ptr());
}

TEST_CASE("core: environment probe finds an optimized BLAS and the CPU") {
  auto e = runtime::probe_env();
  CHECK(e.torch_version.rfind(std::to_string(TORCH_VERSION_MAJOR) + ".", 0) == 0);
  CHECK_FALSE(e.devices.empty());
  CHECK(e.devices.front() == "cpu");
  CHECK(e.intra_op_threads >= 1);
  // Debian's LibTorch with the reference BLAS is ~30x slower; the installer selects OpenBLAS.
  if (!e.blas_library.empty()) CHECK_FALSE(e.blas_is_reference);
}

TEST_CASE("cli: --threads sets LibTorch's and OpenBLAS's pools, and env says who chose") {
  auto two = test::run_genlens("--threads 2 env");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK(two.output.find("intra-op 2 (--threads)") != std::string::npos);
  if (two.output.find("openblas") != std::string::npos) CHECK(two.output.find("blas threads 2 (--threads)") != std::string::npos);
  auto env = test::run_command("OMP_NUM_THREADS=1 " + test::shell_quote(GENLENS_CLI_PATH) + " env");
  INFO(env.output);
  CHECK(env.output.find("intra-op 1 (OMP_NUM_THREADS=1)") != std::string::npos);
  CHECK(test::run_genlens("--threads -1 env").exit_code == 2);
}

TEST_CASE("cli: genlens chooses the thread pools (OpenBLAS every usable core, LibTorch 1 on up to 2), tests run one") {
  // This process is a test: one thread in both pools, and the children told so.
  CHECK(at::get_num_threads() == 1);
  REQUIRE(std::getenv("OMP_NUM_THREADS") != nullptr);
  REQUIRE(std::getenv("OPENBLAS_NUM_THREADS") != nullptr);
  CHECK(std::string(std::getenv("OMP_NUM_THREADS")) == "1");
  // The command line without either variable: cores as `nproc` counts them (affinity).
  auto n = test::run_command("env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc");  // nproc honours both
  REQUIRE(n.exit_code == 0);
  const int cores = std::stoi(n.output);
  const bool quota = [] {
    std::ifstream f("/sys/fs/cgroup/cpu.max");
    std::string q;
    return f >> q && q != "max";
  }();
  auto e = test::run_command("env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS " +
                             test::shell_quote(GENLENS_CLI_PATH) + " env");
  INFO(e.output);
  REQUIRE(e.exit_code == 0);
  if (!quota) CHECK(e.output.find(fmt::format("cores        {} usable", cores)) != std::string::npos);
  if (!quota && cores <= 2)
    CHECK(e.output.find(fmt::format("intra-op 1 (genlens: 1 on {} usable core", cores)) != std::string::npos);
  if (!quota && e.output.find("openblas") != std::string::npos)
    CHECK(e.output.find(fmt::format("blas threads {} (genlens: every usable core ({}))", cores, cores)) !=
          std::string::npos);
  auto b = test::run_command("env -u OMP_NUM_THREADS OPENBLAS_NUM_THREADS=1 " + test::shell_quote(GENLENS_CLI_PATH) +
                             " env");
  if (b.output.find("openblas") != std::string::npos)
    CHECK(b.output.find("blas threads 1 (OPENBLAS_NUM_THREADS=1)") != std::string::npos);
}

TEST_CASE("cli: OpenBLAS runs kernels the CPU has, and OPENBLAS_CORETYPE still decides") {
  auto e = runtime::probe_env();  // this test process ran tune_for_tensors() as genlens does
  if (e.blas_core.empty()) return;  // not OpenBLAS
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  MESSAGE("OpenBLAS kernels: ", e.blas_core, ", chosen by ", e.blas_core_source);
  // The SSE3 fallback on a CPU with AVX2 or AVX-512 ran GEMM at a third of the speed.
  if (avx512 || avx2) CHECK(e.blas_core != "Prescott");
  auto env = test::run_command("OPENBLAS_CORETYPE=Prescott " + test::shell_quote(GENLENS_CLI_PATH) + " env");
  INFO(env.output);
  CHECK(env.output.find("blas kernels Prescott, chosen by OPENBLAS_CORETYPE=Prescott") != std::string::npos);
}

TEST_CASE("cli: subcommands parse, unknown options are usage errors") {
  {
    cli::Cli c;
    cli::build_cli(c);
    const char* argv[] = {"genlens", "env"};
    CHECK_NOTHROW(c.app.parse(2, argv));
    bool found = false;
    for (auto& [sub, run] : c.commands) found |= (sub->get_name() == "env" && sub->parsed());
    CHECK(found);
  }
  {
    cli::Cli c;
    cli::build_cli(c);
    const char* argv[] = {"genlens", "env", "--no-such-flag"};
    CHECK_THROWS_AS(c.app.parse(3, argv), CLI::ParseError);
  }
  auto r = test::run_genlens("--no-such-flag");
  CHECK(r.exit_code == cli::kUsage);
  auto v = test::run_genlens("--version");
  CHECK(v.exit_code == 0);
  CHECK(v.output.find(GENLENS_VERSION) != std::string::npos);
  auto h = test::run_genlens("--help");
  CHECK(h.exit_code == 0);
  CHECK(h.output.find("env") != std::string::npos);
}
