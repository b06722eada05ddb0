// Workspace view: what is open (model, adapter or run, corpus, workspace), fields to
// open something else, recent items, the machine (device, dtype, threads, memory) and
// the job list with progress and cancel.
#pragma once
#include <string>
#include <vector>

namespace genlens::views {

struct JobRow {
  int id = 0;                               // the job host's id (what Cancel names)
  std::string name, state, stage, detail;  // detail: "120/500 steps · 3.1/s · ETA 2m"
  float fraction = -1;                      // -1 = unknown
  std::string error;
  bool can_cancel = false;
};

struct WorkspaceSnapshot {
  std::string workspace_dir, model_dir, model_summary, adapter_dir, run_dir, corpus_path;
  // Why the last attempt to open each failed ("" = it did not): shown under its row, in
  // red, where the person looks -- not only in the log.
  std::string workspace_error, model_error, adapter_error, run_error, corpus_error;
  std::string adapter_note;  // e.g. "the newest checkpoint of the run: checkpoint-300"
  // A run trained here wrote an adapter other than the open one: offer to switch.
  std::string offer_adapter;
  bool corpus_loading = false;
  int64_t corpus_rows = 0;
  std::vector<std::string> corpus_labels;
  std::vector<std::string> extras;  // other workspace parts found (tasks, eval, maps, latent index)
  std::vector<std::string> recent;  // paths opened before, newest first
  std::string device, dtype;
  int threads = 0;       // LibTorch's intra-op pool
  int blas_threads = 0;  // OpenBLAS's (0: not OpenBLAS)
  double memory_mb = 0;  // resident set of the studio process
  double model_weights_mib = 0;  // the loaded model's weights in memory (0 = not loaded yet)
  std::string model_weights_dtype;
  std::vector<JobRow> jobs;
};

enum class OpenKind { Workspace, Model, Adapter, Run, Corpus };

struct OpenRequest {
  OpenKind kind = OpenKind::Model;
  std::string path;
};

struct WorkspaceState {
  char workspace[512] = "", model[512] = "", adapter[512] = "", run[512] = "", corpus[512] = "";
};

struct WorkspaceIntents {
  std::vector<OpenRequest> open;
  std::vector<int> cancel_jobs;  // ids of the jobs to cancel (JobRow::id)
  bool use_offered_adapter = false, dismiss_offer = false;
};

WorkspaceIntents draw_workspace_view(const WorkspaceSnapshot& snap, WorkspaceState& state);

// "model", "run", ...: recent items are written as "<kind>: <path>".
const char* to_string(OpenKind k);

}  // namespace genlens::views
