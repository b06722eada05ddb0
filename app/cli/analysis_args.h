// Options shared by the analysis subcommands (lens, decode, latent-lens, neighbors):
// the model, an optional adapter with a clear error when it is missing, the query.
#pragma once
#include <optional>
#include <string>

#include "core/gen/checkpoint.h"
#include "core/model/decoder_lm.h"

namespace genlens::cli {

inline std::optional<gen::LoadedAdapter> load_optional_adapter(const std::string& adapter, const model::DecoderLM& lm,
                                                               const std::string& model_dir) {
  if (adapter.empty()) return std::nullopt;
  return gen::load_adapter(gen::resolve_adapter_dir(adapter), lm, model_dir);
}

}  // namespace genlens::cli
