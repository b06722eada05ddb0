// The official LLM2Vec-Gen release's checkpoint layout (docs/ARCHITECTURE.md §7.2), in and out:
//
//   encoder/adapter_config.json         PEFT TrainableTokens on embed_tokens (token_indices)
//   encoder/adapter_model.safetensors   ...embed_tokens[.token_adapter].trainable_tokens_delta [N, H]
//                                        (the trained rows themselves, in token_indices order)
//   encoder/config.json                 the base config + num_special_tokens, special_tokens_ids
//   reconstruction_mlp, alignment_mlp   torch.save zip pickles {"state_dict": {"projection.weight",
//                                        "projection.bias"}, "config": {input_dim, output_dim,
//                                        dtype, size: 1, pooling_mode: "linear"}}
//   encoder_decoder_config.json         {"encoding_mode": "last_K_tokens", "save_decoder": false}
//   run_config.yml                      model_name_or_path, special_tokens, torch_dtype, ...
//   tokenizer files                     with the added <question1>...<questionN> tokens
//
// The special tokens are appended to the query in special_tokens_ids order; the last K
// of them are the compression tokens, the first N - K the thought tokens. genlens keeps
// them as its own [N, H] tensor, so importing is a relabelling, not a model change.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/gen/checkpoint.h"
#include "core/model/decoder_lm.h"

namespace genlens::interop {

struct OfficialCheckpoint {
  gen::Adapter adapter;                // float32, on the CPU
  std::vector<int64_t> special_ids;    // in the order they are appended to a query
  std::string encoding_mode;           // "last_10_tokens"
  std::string base_model_name;         // run_config.yml model_name_or_path (informative)
  std::string torch_dtype;             // run_config.yml torch_dtype (informative)
  std::string special_rows_from;       // the safetensors key the special rows came from
};

// Reads and checks every file of an official checkpoint directory against a base model
// of hidden size `hidden`. Each malformed file is an error naming it, the field, what
// was expected and what was found.
OfficialCheckpoint read_official_checkpoint(const std::filesystem::path& dir, int64_t hidden);

// `genlens import llm2vec-gen`: an official checkpoint -> a genlens adapter directory
// (written atomically) for the base model `lm` loaded from `model_dir`.
gen::AdapterMeta import_official(const std::filesystem::path& checkpoint_dir, const model::DecoderLM& lm,
                                 const std::filesystem::path& model_dir, const std::filesystem::path& out_dir);

struct ExportOptions {
  std::string model_name_or_path;  // run_config.yml's base model (default: the model directory)
  std::string token_prefix = "<question";  // added tokens <question1> ... <questionN>
};
// `genlens export llm2vec-gen`: a genlens adapter -> the official layout (written
// atomically), loadable by the official EncoderDecoderModel.from_pretrained.
void export_official(const gen::LoadedAdapter& adapter, const std::filesystem::path& model_dir,
                     const std::filesystem::path& out_dir, const ExportOptions& opt = {});

}  // namespace genlens::interop
