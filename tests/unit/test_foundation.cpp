// Proves each layer links and runs: a core tensor op, and CLI parsing.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include "app/cli/command.h"
#include "core/runtime/env_info.h"
#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;

TEST_CASE("core: LibTorch matmul matches a hand-computed product") {
  auto a = torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  auto b = torch::tensor({{5.0f, 6.0f}, {7.0f, 8.0f}});
  auto c = torch::mm(a, b);
  CHECK(c[0][0].item<float>() == 19.0f);
  CHECK(c[0][1].item<float>() == 22.0f);
  CHECK(c[1][0].item<float>() == 43.0f);
  CHECK(c[1][1].item<float>() == 50.0f);
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
  if (two.output.find("openblas") != std::string::npos) CHECK(two.output.find("OpenBLAS 2") != std::string::npos);
  auto env = test::run_command("OMP_NUM_THREADS=1 " + test::shell_quote(GENLENS_CLI_PATH) + " env");
  INFO(env.output);
  CHECK(env.output.find("intra-op 1 (OMP_NUM_THREADS=1)") != std::string::npos);
  CHECK(test::run_genlens("--threads -1 env").exit_code == 2);
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
