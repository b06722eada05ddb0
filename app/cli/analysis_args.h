// Options shared by the analysis subcommands (lens, decode, latent-lens, neighbors) and
// encode / eval: the model, an optional adapter with a clear error when it is missing,
// the query, and the one query-length rule (core/gen/query_length.h) behind --max-length.
#pragma once
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "app/cli/command.h"
#include "core/gen/checkpoint.h"
#include "core/gen/query_length.h"
#include "core/model/decoder_lm.h"

namespace genlens::cli {

inline std::optional<gen::LoadedAdapter> load_optional_adapter(const std::string& adapter, const model::DecoderLM& lm,
                                                               const std::string& model_dir) {
  if (adapter.empty()) return std::nullopt;
  return gen::load_adapter(gen::resolve_adapter_dir(adapter), lm, model_dir);
}

// --max-length with the same meaning and help in every command. Its value is read with
// query_max_length_of below (the option's default is "not given").
inline CLI::Option* add_max_length_option(CLI::App& sub, int64_t& field) {
  return sub
      .add_option("--max-length", field,
                  "Most tokens of instruction + text; a longer text is cut to its first ones, with a warning "
                  "(default: the adapter's training query length, else 512)")
      ->check(kAtLeastOne);
}

// The rule: --max-length when given, else the adapter's training query length, else 512.
inline int64_t query_max_length_of(const CLI::App& sub, int64_t given, const gen::AdapterMeta* adapter) {
  return gen::query_max_length(adapter, sub.count("--max-length") ? given : 0);
}
inline int64_t query_max_length_of(const CLI::App& sub, int64_t given,
                                   const std::optional<gen::LoadedAdapter>& adapter) {
  return query_max_length_of(sub, given, adapter ? &adapter->meta : nullptr);
}

// "warning: encode: 3 of 120 texts were longer than 128 tokens and were cut (longest 540);
// --max-length raises the limit" on stderr; nothing when no text was cut or with --quiet.
inline void warn_cuts(const std::string& who, const gen::QueryCuts& cuts, bool quiet,
                      const std::string& noun = "text") {
  if (quiet) return;
  if (auto w = gen::cut_warning(who, cuts, noun); !w.empty()) fmt::print(stderr, "warning: {}\n", w);
}

}  // namespace genlens::cli
