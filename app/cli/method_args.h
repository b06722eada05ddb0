// Options shared by the method's subcommands (generate, train, encode, bench).
#pragma once
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/dist/group.h"
#include "core/model/decoder_lm.h"

namespace genlens::cli {

struct DeviceArgs {
  std::string device = "cpu";
  std::string dtype = "auto";
  std::string weights = "same";
  void add(CLI::App& sub) {
    sub.add_option("--device", device, "cpu, cuda or cuda:N (cuda = cuda:LOCAL_RANK under a multi-process launch)")
        ->capture_default_str();
    sub.add_option("--dtype", dtype, "LLM compute dtype: auto (bf16 on CUDA, f32 on CPU), f32, bf16, f16")
        ->capture_default_str();
    sub.add_option("--weights", weights,
                   "What the weight matrices are kept in: same (the compute dtype) or bf16 (the CPU's low-memory "
                   "format: half the resident weights, float32 compute; faster decoding)")
        ->check(CLI::IsMember({"same", "bf16"}))
        ->capture_default_str();
  }
  // "cuda" under a multi-process launch means this rank's GPU, cuda:LOCAL_RANK.
  torch::Device resolve_device() const { return dist::local_device(model::parse_device(device)); }
  torch::ScalarType resolve_dtype(torch::Device d) const {
    if (dtype == "auto") return d.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
    return model::parse_dtype(dtype);
  }
  std::shared_ptr<model::DecoderLM> load(const std::string& model_dir) const {
    auto d = resolve_device();
    std::optional<torch::ScalarType> matrices;
    if (weights == "bf16") matrices = torch::kBFloat16;
    return model::DecoderLM::load(model_dir, d, resolve_dtype(d), {}, matrices);
  }
};

}  // namespace genlens::cli
