// Small helpers shared by the model subcommands (forward, complete, bench load), and the
// options that name a model directory (add_model_option: they take Hugging Face ids too).
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/model/hf_cache.h"
#include "core/util/error.h"

namespace genlens::cli {

// "1,2,3" or "1 2 3" -> ids; throws naming the bad piece.
inline std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(cur, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != cur.size() || v < 0) fail("--ids: '{}' is not a token id (expected e.g. 1,2,3)", cur);
    out.push_back(v);
    cur.clear();
  };
  for (char c : s) {
    if (c == ',' || c == ' ') flush();
    else cur.push_back(c);
  }
  flush();
  if (out.empty()) fail("--ids: no token ids given");
  return out;
}

// ---------------------------------------------------------------- model directories or ids
// An option naming a model, tokenizer, LoRA or checkpoint directory also takes a model id
// from the local Hugging Face cache: `--model Qwen/Qwen3-0.6B` (with `--revision REV`) or
// `ORG/NAME@REV` (any such option), found as transformers does offline
// (core/model/hf_cache.h; an existing local path always wins). add_model_option adds the
// option and records it in pending_model_inputs(); build_cli (command.cpp) takes that list
// after each command's setup and resolves the options given just before the command runs,
// so a command only ever sees directories (a snapshot's path, which is also what it
// records as the model's path) and a miss is an ordinary genlens error (exit code 1).
struct ModelInput {
  CLI::Option* option = nullptr;
  // Rewrites the option's variable to the directory(ies) to load; returns what it found.
  std::function<std::vector<model::ModelLocation>()> resolve;
};

inline std::vector<ModelInput>& pending_model_inputs() {
  static std::vector<ModelInput> inputs;
  return inputs;
}

inline constexpr const char* kModelIdHelp = "; or a model id in the local Hugging Face cache, ORG/NAME[@REV]";

// `--model` also gets `--revision` (branch or commit of the cached snapshot; other options
// name theirs as ORG/NAME@REV). `found`, when given, receives what --model resolved to.
inline CLI::Option* add_model_option(CLI::App& sub, const std::string& name, std::string& field,
                                     const std::string& help, model::ModelLocation* found = nullptr) {
  auto* opt = sub.add_option(name, field, help + kModelIdHelp);
  std::shared_ptr<std::string> revision;
  if (name == "--model" && !sub.get_option_no_throw("--revision")) {
    revision = std::make_shared<std::string>();
    sub.add_option("--revision", *revision,
                   "With --model ORG/NAME: the cached snapshot to load, a branch (refs/REV) or a commit hash "
                   "(or its unique prefix); default main");
  }
  pending_model_inputs().push_back({opt, [&field, revision, name, found] {
                                      auto loc = model::locate_model(field, revision ? *revision : "", name);
                                      field = loc.dir.string();
                                      if (found) *found = loc;
                                      return std::vector<model::ModelLocation>{loc};
                                    }});
  return opt;
}

// A repeatable option (`lora --lora A --lora B`): each value resolved on its own.
inline CLI::Option* add_model_option(CLI::App& sub, const std::string& name, std::vector<std::string>& field,
                                     const std::string& help) {
  auto* opt = sub.add_option(name, field, help + kModelIdHelp);
  pending_model_inputs().push_back({opt, [&field, name] {
                                      std::vector<model::ModelLocation> out;
                                      for (auto& v : field) {
                                        out.push_back(model::locate_model(v, "", name));
                                        v = out.back().dir.string();
                                      }
                                      return out;
                                    }});
  return opt;
}

// `--teacher llm2vec:BASE+MNTP_LORA[+SIMCSE_LORA]`: each directory may be an id (ORG/NAME[@REV]);
// other teacher kinds are left as given.
inline void resolve_teacher_ids(CLI::Option* opt, std::string& spec) {
  pending_model_inputs().push_back({opt, [&spec] {
                                      std::vector<model::ModelLocation> out;
                                      const std::string prefix = "llm2vec:";
                                      if (spec.rfind(prefix, 0) != 0) return out;
                                      std::string rebuilt = prefix, part;
                                      auto flush = [&](bool last) {
                                        out.push_back(model::locate_model(part, "", "--teacher"));
                                        rebuilt += out.back().dir.string() + (last ? "" : "+");
                                        part.clear();
                                      };
                                      for (char c : spec.substr(prefix.size())) {
                                        if (c == '+') flush(false);
                                        else part.push_back(c);
                                      }
                                      flush(true);
                                      spec = rebuilt;
                                      return out;
                                    }});
}

}  // namespace genlens::cli
