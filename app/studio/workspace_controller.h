// The Workspace tab's feature: opening a workspace, model, adapter, run or corpus (with
// the reason under its row when it cannot be), reading the corpus on a job, the recent
// items, the machine and the job list, and the sidebar's summary of what is open.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/studio/pending.h"
#include "app/studio/studio_context.h"
#include "views/layout_view.h"
#include "views/training_view.h"
#include "views/workspace_view.h"

namespace genlens::studio {

// What a workspace folder holds ("" = absent); see find_workspace_parts.
struct WorkspaceParts {
  std::string model, corpus, run, maps_dir, tasks_dir, latent_index, eval_results, responses;
};
WorkspaceParts find_workspace_parts(const std::filesystem::path& ws);

// The followed run as the sidebar summarises it.
struct RunLine {
  int64_t step = 0, total_steps = 0;
  views::RunState state = views::RunState::Idle;
  std::string newest_checkpoint;  // "" = none
};

class WorkspaceController {
 public:
  explicit WorkspaceController(StudioContext& cx);

  // A path that was opened: absolute and normalised, and absolute as given (a
  // workspace's parts are found from that).
  struct Opened {
    std::string path;
    std::filesystem::path given;
  };
  // Checks `typed` for `kind` and records it as open (a corpus starts being read);
  // nothing when refused (the reason is under its row and in the log).
  std::optional<Opened> open(views::OpenKind kind, const std::string& typed);
  // After the other features took in what `open` returned: a recent item and a log line.
  void opened(views::OpenKind kind, const std::string& path);
  // The workspace's own parts (tasks, eval, maps, latent index) listed on the tab.
  void list_extras();

  enum class CorpusPoll { Waiting, Loaded, Failed };
  // Takes in the corpus once it is read (Waiting while it is, or when none is).
  CorpusPoll poll_corpus();
  int corpus_job() const { return corpus_.id(); }

  // The snapshot's live parts (paths, memory, jobs) and the sidebar.
  void refresh(int frame_no, const RunLine& run, views::LayoutSnapshot& layout);
  void offer_adapter(const std::string& dir) { ws_.offer_adapter = dir; }
  const std::string& offered_adapter() const { return ws_.offer_adapter; }
  void clear_offer() { ws_.offer_adapter.clear(); }
  void cancel_jobs(const std::vector<int>& ids);

  const views::WorkspaceSnapshot& snapshot() const { return ws_; }
  views::WorkspaceState& ui() { return ws_state_; }

 private:
  // The rows of a corpus file: its texts and their labels ("" = none).
  struct CorpusRead {
    std::vector<std::string> texts, labels;
  };
  void remember(views::OpenKind kind, const std::string& path);
  void start_corpus(const std::string& path);

  StudioContext& cx_;
  views::WorkspaceSnapshot ws_;
  views::WorkspaceState ws_state_;
  Pending<CorpusRead> corpus_;
};

}  // namespace genlens::studio
