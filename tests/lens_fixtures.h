// Fixtures for the analysis tests: a random adapter written as a checkpoint directory
// for a model (so CLI commands can load it), and the tiny Qwen3 with such an adapter that
// the intervention tests share; next to tests/gen_fixtures.h.
#pragma once
#include <filesystem>

#include "core/gen/adapter.h"
#include "core/gen/checkpoint.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/gen_fixtures.h"

namespace genlens::test {

inline std::filesystem::path random_adapter_dir(const model::DecoderLM& lm, const std::filesystem::path& model_dir,
                                                const std::filesystem::path& out, int64_t n_thought = 3,
                                                int64_t n_compression = 4, uint64_t seed = 3) {
  gen::AdapterShape shape;
  shape.n_thought = n_thought;
  shape.n_compression = n_compression;
  shape.hidden = lm.config().hidden_size;
  shape.teacher_dim = lm.config().hidden_size;
  gen::Adapter a(shape, torch::kCPU);
  a.init_random(lm, seed);
  gen::AdapterMeta meta;
  meta.base = gen::BaseModelIdentity::of(lm, model_dir);
  meta.shape = shape;
  meta.teacher_kind = "mean-pool";
  meta.compute_dtype = "float32";
  gen::CheckpointFiles files;
  files.adapter = &a;
  files.meta = &meta;
  gen::write_checkpoint(out, files);
  return out;
}

// The tiny Qwen3 with the real Qwen3 tokenizer (tiny_qwen3_text_model) and a random
// adapter of 3 thought and 4 compression tokens written as a checkpoint: what the
// intervention tests (trace, ablate, attribute, tuned lens) work on. Tests derive their
// fixture from it to add their own helpers.
struct AdapterModel {
  std::filesystem::path dir;
  TempDir tmp{"adapter-model"};
  std::shared_ptr<model::DecoderLM> lm;
  std::unique_ptr<text::Tokenizer> tok;
  std::filesystem::path adapter_dir;
  gen::LoadedAdapter adapter;
  AdapterModel() {
    dir = tiny_qwen3_text_model();
    lm = model::DecoderLM::load(dir);
    tok = text::load_tokenizer(dir);
    adapter_dir = random_adapter_dir(*lm, dir, tmp / "adapter", 3, 4);
    adapter = gen::load_adapter(adapter_dir, *lm, dir);
  }
  // "VERB --model DIR --adapter ADAPTER ": the start of a command line on them.
  std::string command(const std::string& verb) const {
    return verb + " --model " + shell_quote(dir.string()) + " --adapter " + shell_quote(adapter_dir.string()) + " ";
  }
};

}  // namespace genlens::test
