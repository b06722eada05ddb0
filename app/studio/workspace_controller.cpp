#include "app/studio/workspace_controller.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "core/data/corpus.h"
#include "core/model/hf_cache.h"
#include "core/runtime/env_info.h"
#include "core/util/error.h"
#include "views/view_common.h"

namespace genlens::studio {

namespace fs = std::filesystem;

namespace {

double resident_mb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

std::string model_summary(const fs::path& dir) {
  std::ifstream f(dir / "config.json");
  auto j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return "config.json missing or not JSON";
  return fmt::format("{} · {} layers · hidden {} · vocab {}", j.value("model_type", "?"),
                     j.value("num_hidden_layers", 0), j.value("hidden_size", 0), j.value("vocab_size", 0));
}

// The corpus of a map: the core's reader (one rule for every command: "text", else
// "question"), with each row's optional "label".
void read_corpus_jsonl(const std::string& p, runtime::JobContext& ctx, std::vector<std::string>& texts,
                       std::vector<std::string>& labels) {
  ctx.set_stage("read", 0, "rows");
  data::TextReader reader(p);
  std::string text;
  while (reader.next(text)) {
    texts.push_back(std::move(text));
    const auto& row = reader.row();
    const auto label = row.find("label");
    labels.push_back(label == row.end() ? "" : label->is_string() ? label->get<std::string>() : label->dump());
    ctx.advance();
  }
}

}  // namespace

// A workspace is a folder laid out as `genlens demo` writes one (README "The demo world");
// every part is optional, so a hand-made folder with a model and a corpus works too:
//   model/ (or config.json here)   the base model        run/ (or runs/*)   an adapter run
//   maps/points.jsonl (or corpus.jsonl, texts.jsonl)      the corpus (text, label)
//   maps/emb-MODE.npy              corpus embeddings, row-aligned (the map skips encoding)
//   maps/layout.npy                a precomputed [N, 2] layout drawn as is
//   eval/results.json              the Compare table     tasks/             `genlens eval` tasks
//   responses.jsonl                training data for the Training form
//   latent/ (index.json)           a latent index for the latent lens
WorkspaceParts find_workspace_parts(const fs::path& ws) {
  WorkspaceParts p;
  if (fs::exists(ws / "config.json")) p.model = ws.string();
  else if (fs::exists(ws / "model" / "config.json")) p.model = (ws / "model").string();
  for (auto rel : {"maps/points.jsonl", "corpus.jsonl", "texts.jsonl"})
    if (fs::exists(ws / rel)) {
      p.corpus = (ws / rel).string();
      break;
    }
  if (fs::is_directory(ws / "maps")) p.maps_dir = (ws / "maps").string();
  if (fs::exists(ws / "run")) {
    p.run = (ws / "run").string();
  } else if (fs::is_directory(ws / "runs")) {
    fs::path newest;
    for (auto& e : fs::directory_iterator(ws / "runs"))
      if (e.is_directory() && (newest.empty() || e.last_write_time() > fs::last_write_time(newest))) newest = e.path();
    p.run = newest.string();
  }
  if (fs::is_directory(ws / "tasks")) p.tasks_dir = (ws / "tasks").string();
  if (fs::exists(ws / "latent" / "index.json")) p.latent_index = (ws / "latent").string();
  if (fs::exists(ws / "eval" / "results.json")) p.eval_results = (ws / "eval" / "results.json").string();
  if (fs::exists(ws / "responses.jsonl")) p.responses = (ws / "responses.jsonl").string();
  return p;
}

WorkspaceController::WorkspaceController(StudioContext& cx) : cx_(cx) {
  auto env = runtime::probe_env();
  ws_.device = env.devices.empty() ? "cpu" : env.devices.front();
  ws_.dtype = "f32 (CPU)";
  ws_.threads = env.intra_op_threads;
  ws_.blas_threads = env.blas_threads;
  cx_.log(fmt::format("genlens {} on LibTorch {}", env.genlens_version, env.torch_version));
}

void WorkspaceController::remember(views::OpenKind kind, const std::string& path) {
  auto item = fmt::format("{}: {}", views::to_string(kind), path);
  auto& r = ws_.recent;
  r.erase(std::remove(r.begin(), r.end(), item), r.end());
  r.insert(r.begin(), item);
  if (r.size() > 12) r.pop_back();
}

std::optional<WorkspaceController::Opened> WorkspaceController::open(views::OpenKind kind, const std::string& typed) {
  const std::string path_in = views::expand_user(typed);  // "~/x" as a person types it
  std::error_code ec;
  fs::path path = fs::absolute(path_in, ec);
  if (ec) path = path_in;
  // Why it could not be opened: under its row in the Workspace tab and in the log.
  auto& error = kind == views::OpenKind::Workspace ? ws_.workspace_error
                : kind == views::OpenKind::Model   ? ws_.model_error
                : kind == views::OpenKind::Adapter ? ws_.adapter_error
                : kind == views::OpenKind::Run     ? ws_.run_error
                                                   : ws_.corpus_error;
  auto refuse = [&](const std::string& why) -> std::optional<Opened> {
    error = why;
    cx_.log(why);
    return std::nullopt;
  };
  error.clear();
  if (kind == views::OpenKind::Model) {  // a Hugging Face id (ORG/NAME[@REV]) -> its cached snapshot
    fs::path found;
    try {
      found = model::locate_model(path_in).dir;
    } catch (const Error& e) {
      return refuse(fmt::format("cannot open model {}: {}", path_in, e.what()));
    }
    path = fs::absolute(found, ec);
    if (ec) path = found;
  }
  const std::string p = path.lexically_normal().string();
  auto& o = cx_.open;
  switch (kind) {
    case views::OpenKind::Workspace:
      if (!fs::is_directory(path))
        return refuse(fmt::format("cannot open workspace {}: {}", p, fs::exists(path) ? "not a directory" : "no such directory"));
      o.workspace = p;
      remember(kind, p);
      cx_.log("workspace: " + p);
      break;
    case views::OpenKind::Model:
      if (!fs::exists(path / "config.json"))
        return refuse(fmt::format("cannot open model {}: no config.json there (expected a Hugging Face model directory)", p));
      o.model = p;
      ws_.model_summary = model_summary(path);
      ws_.model_weights_mib = 0;  // until it loads
      break;
    case views::OpenKind::Adapter:
      if (!fs::exists(path / "genlens.json") && !fs::exists(path / "metrics.jsonl"))
        return refuse(fmt::format("cannot open adapter {}: no genlens.json (a checkpoint-<step> directory) or metrics.jsonl (a run)", p));
      o.adapter = p;
      if (ws_.offer_adapter == p) ws_.offer_adapter.clear();
      break;
    case views::OpenKind::Run:
      if (!fs::is_directory(path))
        return refuse(fmt::format("cannot open run {}: {}", p, fs::exists(path) ? "not a directory" : "no such directory"));
      o.run = p;
      if (o.adapter.empty()) o.adapter = p;  // encode uses the run's newest checkpoint
      break;
    case views::OpenKind::Corpus:
      if (!fs::is_regular_file(path))
        return refuse(fmt::format("cannot open corpus {}: {}", p, fs::exists(path) ? "not a file" : "no such file"));
      o.corpus = p;
      start_corpus(p);
      break;
  }
  return Opened{p, path};
}

void WorkspaceController::opened(views::OpenKind kind, const std::string& p) {
  remember(kind, p);
  cx_.log(fmt::format("{}: {}", views::to_string(kind), p));
}

void WorkspaceController::start_corpus(const std::string& p) {
  cx_.corpus.error.clear();
  cx_.corpus.texts.clear();
  cx_.corpus.loading = true;
  auto read = std::make_shared<CorpusRead>();
  corpus_.start(cx_.jobs, "corpus", read,
                [p, read](runtime::JobContext& ctx) { read_corpus_jsonl(p, ctx, read->texts, read->labels); });
}

WorkspaceController::CorpusPoll WorkspaceController::poll_corpus() {
  auto s = corpus_.poll(cx_.jobs);
  if (!s || !s->finished()) return CorpusPoll::Waiting;
  auto& c = cx_.corpus;
  c.loading = false;
  if (s->state != runtime::JobState::Done) {
    // Where the person looks: under the corpus row (Workspace) and on the maps.
    c.error = s->error;
    ws_.corpus_error = "cannot read the corpus: " + s->error;
    cx_.log("corpus: " + s->error);
    c.texts.clear();
    ws_.corpus_rows = 0;
    return CorpusPoll::Failed;
  }
  auto& read = *corpus_.result();
  c.texts = std::move(read.texts);
  c.label_names.clear();
  c.labels.clear();
  for (auto& l : read.labels) {
    if (l.empty()) {
      c.labels.push_back(-1);
      continue;
    }
    auto it = std::find(c.label_names.begin(), c.label_names.end(), l);
    if (it == c.label_names.end()) it = c.label_names.insert(c.label_names.end(), l);
    c.labels.push_back(int(it - c.label_names.begin()));
  }
  ws_.corpus_rows = int64_t(c.texts.size());
  ws_.corpus_labels = c.label_names;
  cx_.log(fmt::format("corpus: {} texts, {} labels", c.texts.size(), c.label_names.size()));
  if (c.texts.empty()) cx_.log(fmt::format("corpus: {} has no rows", cx_.open.corpus));
  return CorpusPoll::Loaded;
}

void WorkspaceController::list_extras() {
  const auto& o = cx_.open;
  ws_.extras.clear();
  if (!o.tasks_dir.empty()) ws_.extras.push_back("tasks  " + o.tasks_dir);
  if (!o.eval_results.empty()) ws_.extras.push_back("eval   " + o.eval_results);
  if (!o.maps_dir.empty()) ws_.extras.push_back("maps   " + o.maps_dir);
  ws_.extras.push_back(o.latent_index.empty() ? "latent index: none (the latent lens needs WORKSPACE/latent/)"
                                              : "latent " + o.latent_index);
}

void WorkspaceController::cancel_jobs(const std::vector<int>& ids) {
  for (int id : ids) cx_.jobs.cancel(id);
}

void WorkspaceController::refresh(int frame_no, const RunLine& run, views::LayoutSnapshot& layout) {
  const auto& o = cx_.open;
  ws_.workspace_dir = o.workspace;
  ws_.model_dir = o.model;
  ws_.adapter_dir = o.adapter;
  ws_.run_dir = o.run;
  ws_.corpus_path = o.corpus;
  if (frame_no % 30 == 1) ws_.memory_mb = resident_mb();
  // Only the open model's weights: after another model is opened, nothing until it loads
  // (weights() is empty while a load holds the session: keep what was shown meanwhile).
  if (auto w = cx_.core.weights(); !w.model_dir.empty()) {
    const bool open_model = w.model_dir == o.model;
    ws_.model_weights_mib = open_model ? w.mib : 0;
    ws_.model_weights_dtype = open_model ? w.dtype : "";
  }
  ws_.jobs.clear();
  for (auto it = cx_.jobs.entries().rbegin(); it != cx_.jobs.entries().rend(); ++it) {
    auto s = it->job->snapshot();
    views::JobRow r;
    r.id = it->id;
    r.name = it->name;
    r.state = runtime::to_string(s.state);
    if (it->name == "train" && s.state == runtime::JobState::Cancelled) r.state = "stopped";  // at a checkpoint
    r.stage = s.stage;
    r.error = s.error;
    r.can_cancel = !s.finished();
    // A bar while it runs; once finished, what it did and how long it took.
    if (s.total > 0 && !s.finished()) r.fraction = float(double(s.done) / double(s.total));
    r.detail = s.total > 0 && !s.finished() ? fmt::format("{}/{} {}", s.done, s.total, s.unit)
               : s.total > 0 ? fmt::format("{} {} in {:.1f}s", s.done,
                                           s.done == 1 && s.unit.size() > 1 && s.unit.back() == 's'
                                               ? s.unit.substr(0, s.unit.size() - 1)
                                               : s.unit,
                                           s.elapsed_s)
                                            : fmt::format("{:.1f}s", s.elapsed_s);
    ws_.jobs.push_back(std::move(r));
  }
  ws_.corpus_loading = cx_.corpus.loading;
  // The sidebar: what each open part is, not its directory's bare name ("model model").
  const std::string& ws = o.workspace;
  layout.workspace_name = ws.empty() ? "(no workspace)" : views::display_path(ws);
  layout.workspace_items.clear();
  auto inside = [&](const std::string& p) {  // a path in the workspace, relative to it
    if (ws.empty() || p.size() <= ws.size() || p.compare(0, ws.size(), ws) != 0 || p[ws.size()] != '/')
      return fs::path(p).filename().string();
    return p.substr(ws.size() + 1);
  };
  const std::string newest = o.run == o.adapter ? run.newest_checkpoint : std::string();
  ws_.adapter_note = newest.empty() ? "" : "the newest checkpoint of the run: " + newest;
  // A part's place in the workspace, unless it is the usual one ("model/", "run/"): the
  // kind already says that.
  auto where = [&](const std::string& p, const char* usual) {
    const auto rel = inside(p);
    return rel == usual ? std::string() : rel;
  };
  if (!o.model.empty()) {
    std::string what = ws_.model_summary;
    if (auto dot = what.find(" · hidden"); dot != std::string::npos) what.resize(dot);  // "qwen3 · 4 layers"
    const auto rel = where(o.model, "model");
    layout.workspace_items.push_back(
        {"model", rel.empty() ? what : fmt::format("{} ({})", rel, what), views::display_path(o.model)});
  }
  if (!o.adapter.empty())
    layout.workspace_items.push_back(
        {"adapter", o.adapter == o.run ? (newest.empty() ? std::string("the run's newest checkpoint") : newest + " (newest)")
                                       : inside(o.adapter),
         views::display_path(o.adapter)});
  if (!o.run.empty()) {
    const auto rel = where(o.run, "run");
    std::string what = run.total_steps > 0 ? fmt::format("step {} of {}", run.step, run.total_steps)
                                           : fmt::format("step {}", run.step);
    if (run.state != views::RunState::Following) what += std::string(" · ") + views::to_string(run.state);
    layout.workspace_items.push_back({"run", rel.empty() ? what : rel + " · " + what, views::display_path(o.run)});
  }
  if (!o.corpus.empty()) {
    const std::string name = fs::path(o.corpus).filename().string();
    layout.workspace_items.push_back(
        {"corpus",
         !cx_.corpus.error.empty() ? name + " · unreadable"
         : cx_.corpus.loading      ? name + " · reading…"
                                   : fmt::format("{} · {} rows", name, cx_.corpus.texts.size()),
         views::display_path(o.corpus)});
  }
}

}  // namespace genlens::studio
