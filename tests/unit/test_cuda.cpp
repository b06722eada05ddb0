// The CUDA-only cases (names start "cuda: "): what runs on a GPU and nowhere else. Where
// torch sees no device they print one line "GENLENS-CUDA-SKIPPED: <why>" and stop; CTest
// reports that as Skipped (SKIP_REGULAR_EXPRESSION, tests/CMakeLists.txt), never Passed,
// and tests/unit/cuda_skips.sh fails if a case ran its body without a device.
// Also here: the GPU proof script's dry run on a machine without CUDA.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/model/decoder_lm.h"
#include "genlens_paths.h"
#include "tests/gen_fixtures.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
using Json = nlohmann::json;

namespace {

// True when the case cannot run here; says why on stdout in the form CTest matches.
bool skip_without_cuda(int devices_needed = 1) {
  const int have = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  if (have >= devices_needed) return false;
  std::string why = have == 0 ? "torch reports no CUDA device (a CPU-only LibTorch, or no GPU visible)"
                              : "needs " + std::to_string(devices_needed) + " CUDA devices, torch reports " +
                                    std::to_string(have);
  std::printf("GENLENS-CUDA-SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  return true;
}

std::string q(const std::filesystem::path& p) { return test::shell_quote(p.string()); }

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("cuda: the model's forward in bf16 on the GPU matches float32 on the CPU") {
  if (skip_without_cuda()) return;
  auto dir = test::tiny_model_dir("qwen3");
  auto cpu = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32);
  auto gpu = model::DecoderLM::load(dir, torch::Device(torch::kCUDA, 0), torch::kBFloat16);
  REQUIRE(gpu->device().is_cuda());
  auto ids = torch::randint(0, 512, {2, 12}, torch::TensorOptions().dtype(torch::kLong));
  auto mask = torch::ones({2, 12}, torch::kLong);
  mask[1].narrow(0, 0, 4).zero_();  // left padding on the second row
  auto want = cpu->forward(cpu->embed(ids), mask).last_hidden;
  auto got = gpu->forward(gpu->embed(ids.to(gpu->device())), mask.to(gpu->device())).last_hidden;
  REQUIRE(got.device().is_cuda());
  auto diff = (got.to(torch::kCPU, torch::kFloat32) - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  INFO("max |bf16 GPU - f32 CPU| = ", diff, " of max |h| = ", scale);
  CHECK(diff <= 0.05 * scale);
}

TEST_CASE("cuda: pinned host memory and non_blocking copies round-trip exactly") {
  if (skip_without_cuda()) return;
  auto host = torch::arange(1 << 16, torch::kFloat32).pin_memory();
  REQUIRE(host.is_pinned());
  auto dev = host.to(torch::Device(torch::kCUDA, 0), /*non_blocking=*/true);
  auto back = torch::empty_like(host).pin_memory();
  back.copy_(dev * 2, /*non_blocking=*/true);
  torch::cuda::synchronize();  // a non_blocking device-to-host copy is complete only after this
  CHECK(torch::equal(back, host * 2));
}

TEST_CASE("cuda: every bench case runs on the GPU in bf16 and reports the allocator's peak") {
  if (skip_without_cuda()) return;
  test::TempDir tmp("cuda-bench");
  auto r = test::run_command(test::shell_quote(GENLENS_CLI_PATH) +
                             " bench all --device cuda --dtype bf16 --hidden 64 --layers 2 --heads 2 --vocab 300"
                             " --batch 2 --query-len 8 --response-len 6 --thought 2 --compression 3 --new-tokens 4"
                             " --steps 2 --umap-n 300 --umap-dim 16 --peak-tflops 100 >" + q(tmp / "out.jsonl"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(read_text(tmp / "out.jsonl"));
  std::string line;
  int llm_cases = 0;
  while (std::getline(lines, line)) {
    INFO(line);
    Json j = Json::parse(line);
    if (j.at("bench") == "umap") continue;
    ++llm_cases;
    CHECK(j.at("device").get<std::string>().rfind("cuda", 0) == 0);
    CHECK(j.at("dtype") == "bfloat16");
    CHECK(j.at("cuda_peak_mb").is_number());
    CHECK(j.at("cuda_peak_mb").get<double>() > 0);
    CHECK(j.at("mfu").is_number());
  }
  CHECK(llm_cases >= 5);
}

TEST_CASE("cuda: training steps on the GPU give finite losses and a checkpoint") {
  if (skip_without_cuda()) return;
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cuda-train");
  std::string rows;
  for (int i = 0; i < 12; ++i)
    rows += Json{{"id", "r" + std::to_string(i)},
                 {"question", "Tell me about item " + std::to_string(i) + "."},
                 {"answer", "Item " + std::to_string(i) + " is a small thing."}}.dump() + "\n";
  std::ofstream(tmp / "responses.jsonl") << rows;
  auto r = test::run_genlens("train --quiet --device cuda --model " + q(model) + " --data " + q(tmp / "responses.jsonl") +
                             " --steps 4 --batch-size 4 --save-every 4 --thought 2 --compression 3 --out " +
                             q(tmp / "run"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(std::filesystem::exists(tmp / "run" / "checkpoint-4" / "adapter.safetensors"));
  std::istringstream lines(read_text(tmp / "run" / "metrics.jsonl"));
  std::string line;
  int steps = 0;
  while (std::getline(lines, line)) {
    Json j = Json::parse(line);
    if (!j.contains("loss")) continue;
    ++steps;
    CHECK(std::isfinite(j.at("loss").get<double>()));
  }
  CHECK(steps == 4);
}

TEST_CASE("cuda: launch --nproc 2 train on two GPUs runs over NCCL") {
  if (skip_without_cuda(2)) return;
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cuda-nccl");
  std::string rows;
  for (int i = 0; i < 16; ++i)
    rows += Json{{"id", "r" + std::to_string(i)}, {"question", "Q" + std::to_string(i)}, {"answer", "A thing."}}.dump() + "\n";
  std::ofstream(tmp / "responses.jsonl") << rows;
  auto r = test::run_genlens("launch --nproc 2 -- genlens train --device cuda --model " + q(model) + " --data " +
                             q(tmp / "responses.jsonl") + " --steps 3 --batch-size 8 --save-every 3 --thought 2"
                             " --compression 3 --out " + q(tmp / "run"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("nccl") != std::string::npos);
  CHECK(std::filesystem::exists(tmp / "run" / "checkpoint-3" / "adapter.safetensors"));
}

TEST_CASE("gpu proof: without CUDA the script stops before building, and says so") {
  // CUDA_VISIBLE_DEVICES="" hides any GPU, so this is the no-CUDA path on every machine.
  test::TempDir tmp("gpu-proof-dry");
  auto script = test::source_dir() / "tests/bench/gpu/proof.sh";
  auto r = test::run_command("env CUDA_VISIBLE_DEVICES= PYTHON=" + test::shell_quote(test::system_python()) +
                             " OUT=" + q(tmp / "out") + " GPU_PROOF_BUILD=" + q(tmp / "build") + " bash " + q(script));
  INFO(r.output);
  CHECK(r.exit_code == 3);
  CHECK(r.output.find("gpu proof: no CUDA device") != std::string::npos);
  CHECK(r.output.find("nothing was built or run") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp / "build"));
  // The reason is also left under $OUT for whoever collects the results.
  CHECK(read_text(tmp / "out" / "summary.txt").find("no CUDA device") != std::string::npos);
}
