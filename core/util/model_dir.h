// The first check of every loader that reads a model directory (the tokenizer, the
// config, the weights): a path that is not there says so plainly, before any talk of the
// files it should hold. A Hugging Face id (ORG/NAME) is resolved to its snapshot before
// a loader sees it (core/model/hf_cache.h), so what reaches here is a path.
#pragma once
#include <filesystem>
#include <string>

#include "core/util/error.h"

namespace genlens {

// `holding`: what the directory should hold, e.g. "tokenizer.json or tokenizer.model".
inline void require_model_dir(const std::filesystem::path& dir, const std::string& holding) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  if (dir.empty()) fail("no model directory given (expected a directory holding {})", holding);
  if (!std::filesystem::exists(dir, ec))
    fail("{}: no such directory (expected a model directory holding {})", dir.string(), holding);
  fail("{}: is a file, not a directory (expected a model directory holding {})", dir.string(), holding);
}

}  // namespace genlens
