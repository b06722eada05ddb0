// What the studio's feature controllers share: the job host their jobs run on, the
// loaded model, what is open (paths), the open corpus's rows, and the log strip.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "app/studio/core_bridge.h"
#include "app/studio/job_host.h"

namespace genlens::studio {

// Absolute, normalised paths; "" = not open.
struct OpenParts {
  std::string workspace, model, adapter, run, corpus;
  // Parts of the open workspace (open_workspace_parts).
  std::string tasks_dir, latent_index, maps_dir, eval_results;
};

struct CorpusRows {
  std::vector<std::string> texts;
  std::vector<int> labels;               // index into label_names, -1 = no label
  std::vector<std::string> label_names;  // in order of first appearance
  std::string error;                     // the corpus could not be read (file:line: why)
  bool loading = false;                  // its rows are still being read
  // Row `index`'s label name ("" when it has none or there is no such row).
  std::string label_of(int64_t index) const {
    if (index < 0 || size_t(index) >= labels.size() || labels[size_t(index)] < 0) return "";
    return label_names[size_t(labels[size_t(index)])];
  }
};

struct StudioContext {
  StudioContext(std::string cli, std::function<void(const std::string&)> log_line, bool bf16_weights = false)
      : core(bf16_weights), cli_path(std::move(cli)), log(std::move(log_line)) {}
  JobHost jobs;
  CoreSession core;  // the loaded model, shared by the jobs
  OpenParts open;
  CorpusRows corpus;
  std::string cli_path;  // the `genlens` executable that runs training
  std::function<void(const std::string&)> log;
};

}  // namespace genlens::studio
