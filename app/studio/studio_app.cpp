#include "app/studio/studio_app.h"

#include <fmt/format.h>
#include <imgui.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <mutex>

#include "app/studio/studio_results.h"
#include "app/studio/subprocess.h"
#include "core/io/atomic_file.h"
#include "core/model/hf_cache.h"
#include "core/runtime/env_info.h"
#include "core/util/error.h"
#include "genlens_paths.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

const char* to_string(Tab t) {
  switch (t) {
    case Tab::Workspace: return "workspace";
    case Tab::Inspector: return "inspector";
    case Tab::Map: return "map";
    case Tab::Compare: return "compare";
    case Tab::Training: return "training";
  }
  return "?";
}

bool parse_tab(const std::string& name, Tab& out) {
  for (Tab t : {Tab::Workspace, Tab::Inspector, Tab::Map, Tab::Compare, Tab::Training})
    if (name == to_string(t)) {
      out = t;
      return true;
    }
  return false;
}

namespace {

double resident_mb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

std::vector<views::Preset> load_presets() {
  std::vector<views::Preset> out;
  std::ifstream f(fs::path(GENLENS_ASSETS_DIR) / "presets" / "instructions.json");
  auto j = nlohmann::json::parse(f, nullptr, false);
  if (j.is_object() && j.contains("presets"))
    for (auto& p : j["presets"]) out.push_back({p.value("name", ""), p.value("instruction", "")});
  if (out.empty()) out.push_back({"none", ""});
  return out;
}

std::string model_summary(const fs::path& dir) {
  std::ifstream f(dir / "config.json");
  auto j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_object()) return "config.json missing or not JSON";
  return fmt::format("{} · {} layers · hidden {} · vocab {}", j.value("model_type", "?"),
                     j.value("num_hidden_layers", 0), j.value("hidden_size", 0), j.value("vocab_size", 0));
}

}  // namespace

StudioApp::StudioApp(StudioOptions opt) : opt_(std::move(opt)) {
  insp_.presets = load_presets();
  insp_.tokens_status = {Status::Idle, "Open a model (Workspace tab), then type a query."};
  insp_.answer_status = {Status::Idle, "—"};
  insp_.decoded_status = insp_.lens_status = insp_.neighbours_status = {Status::Idle, "—"};
  insp_.latent_status = {Status::Idle, "Click a lens cell to pin it."};
  insp_.walk_status = {Status::Idle, "Type a second query and press Walk."};
  map_.method = "PCA";
  map_.generative.title = "generative";
  map_.input.title = "input-centric (mean pool)";
  map_.generative.status = map_.input.status = map_hint();
  cmp_.eval_status = {Status::Idle, "Open a workspace with eval/results.json, or one with tasks/ and press Run evaluation."};
  cmp_.sim_status = {Status::Idle, "Project the corpus (Map tab) and select points to compare their similarities."};
  auto env = runtime::probe_env();
  ws_.device = env.devices.empty() ? "cpu" : env.devices.front();
  ws_.dtype = "f32 (CPU)";
  ws_.threads = env.intra_op_threads;
  log(fmt::format("genlens {} on LibTorch {}", env.genlens_version, env.torch_version));

  if (!opt_.workspace.empty()) open(views::OpenKind::Workspace, opt_.workspace);
  if (!opt_.model.empty()) open(views::OpenKind::Model, opt_.model);
  if (!opt_.adapter.empty()) open(views::OpenKind::Adapter, opt_.adapter);
  if (!opt_.corpus.empty()) open(views::OpenKind::Corpus, opt_.corpus);
  if (!opt_.run.empty()) open(views::OpenKind::Run, opt_.run);
}

StudioApp::~StudioApp() {
  if (jobs_.any_active())
    fmt::print(stderr, "genlens-studio: closing: stopping running jobs (a training run saves a checkpoint first)\n");
  jobs_.shutdown();
}

void StudioApp::log(const std::string& line) {
  layout_.log_lines.push_back(views::display_path(line));  // ~ for $HOME, as every path on screen
  if (layout_.log_lines.size() > 400) layout_.log_lines.erase(layout_.log_lines.begin());
}

views::Status StudioApp::map_hint() const {
  if (!corpus_error_.empty()) return {Status::Failed, "The corpus could not be read: " + views::display_path(corpus_error_)};
  if (corpus_job_) return {Status::Running, "reading the corpus…"};
  if (!corpus_.empty() && corpus_texts_.empty())
    return {Status::Failed, fmt::format("The corpus {} has no rows: nothing to lay out (one JSON object per line, "
                                        "with \"text\")", views::display_path(corpus_))};
  if (model_.empty() && corpus_.empty()) return {Status::Idle, "Open a model and a corpus (Workspace tab), then press Project."};
  if (model_.empty()) return {Status::Idle, "Open a model (Workspace tab), then press Project."};
  if (corpus_.empty()) return {Status::Idle, "Open a corpus (Workspace tab), then press Project."};
  return {Status::Idle, "Press Project to encode and lay out the corpus."};
}

std::vector<std::string> StudioApp::cli(std::vector<std::string> args) const {
  args.insert(args.begin(), opt_.cli_path);
  return args;
}

void StudioApp::remember(views::OpenKind kind, const std::string& path) {
  auto item = fmt::format("{}: {}", views::to_string(kind), path);
  auto& r = ws_.recent;
  r.erase(std::remove(r.begin(), r.end(), item), r.end());
  r.insert(r.begin(), item);
  if (r.size() > 12) r.pop_back();
}

void StudioApp::open(views::OpenKind kind, const std::string& typed) {
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
  auto refuse = [&](const std::string& why) {
    error = why;
    log(why);
  };
  error.clear();
  if (kind == views::OpenKind::Model) {  // a Hugging Face id (ORG/NAME[@REV]) -> its cached snapshot
    fs::path found;
    try {
      found = model::locate_model(path_in).dir;
    } catch (const Error& e) {
      refuse(fmt::format("cannot open model {}: {}", path_in, e.what()));
      return;
    }
    path = fs::absolute(found, ec);
    if (ec) path = found;
  }
  const std::string p = path.lexically_normal().string();
  switch (kind) {
    case views::OpenKind::Workspace: {
      if (!fs::is_directory(path)) {
        refuse(fmt::format("cannot open workspace {}: {}", p, fs::exists(path) ? "not a directory" : "no such directory"));
        return;
      }
      workspace_ = p;
      remember(kind, p);
      log("workspace: " + p);
      open_workspace_parts(path);
      return;
    }
    case views::OpenKind::Model:
      if (!fs::exists(path / "config.json")) {
        refuse(fmt::format("cannot open model {}: no config.json there (expected a Hugging Face model directory)", p));
        return;
      }
      model_ = p;
      ws_.model_summary = model_summary(path);
      std::snprintf(train_state_.form.model, sizeof train_state_.form.model, "%s", views::display_path(p).c_str());
      insp_.tokens_status = {Status::Idle, "Type a query above and press Enter."};
      map_.generative.status = map_.input.status = map_hint();
      break;
    case views::OpenKind::Adapter:
      if (!fs::exists(path / "genlens.json") && !fs::exists(path / "metrics.jsonl")) {
        refuse(fmt::format("cannot open adapter {}: no genlens.json (a checkpoint-<step> directory) or metrics.jsonl (a run)", p));
        return;
      }
      adapter_ = p;
      if (ws_.offer_adapter == p) ws_.offer_adapter.clear();
      break;
    case views::OpenKind::Run:
      if (!fs::is_directory(path)) {
        refuse(fmt::format("cannot open run {}: {}", p, fs::exists(path) ? "not a directory" : "no such directory"));
        return;
      }
      run_ = p;
      follow_run(p);
      if (adapter_.empty()) adapter_ = p;  // encode uses the run's newest checkpoint
      break;
    case views::OpenKind::Corpus: {
      if (!fs::is_regular_file(path)) {
        refuse(fmt::format("cannot open corpus {}: {}", p, fs::exists(path) ? "not a file" : "no such file"));
        return;
      }
      corpus_ = p;
      corpus_error_.clear();
      corpus_texts_.clear();
      auto texts = std::make_shared<std::vector<std::string>>();
      auto labels = std::make_shared<std::vector<std::string>>();
      corpus_job_ = jobs_.start("corpus", [p, texts, labels](runtime::JobContext& ctx) {
        ctx.set_stage("read", 0, "rows");
        std::ifstream f(p);
        std::string line;
        int64_t n = 0;
        while (std::getline(f, line)) {
          ++n;
          if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
          auto j = nlohmann::json::parse(line, nullptr, false);
          if (!j.is_object()) fail("{}:{}: not a JSON object", p, n);
          std::string text = j.contains("text") ? j.value("text", "") : j.value("question", "");
          if (text.empty()) fail("{}:{}: field \"text\" (or \"question\"): missing or empty", p, n);
          texts->push_back(text);
          labels->push_back(j.contains("label") ? (j["label"].is_string() ? j["label"].get<std::string>() : j["label"].dump()) : "");
          ctx.advance();
        }
      });
      // Results are moved in when the job finishes (poll_jobs).
      corpus_pending_texts_ = texts;
      corpus_pending_labels_ = labels;
      map_.generative.status = map_.input.status = map_hint();
      break;
    }
  }
  remember(kind, p);
  log(fmt::format("{}: {}", views::to_string(kind), p));
}

// A workspace is a folder laid out as `genlens demo` writes one (README "The demo world");
// every part is optional, so a hand-made folder with a model and a corpus works too:
//   model/ (or config.json here)   the base model        run/ (or runs/*)   an adapter run
//   maps/points.jsonl (or corpus.jsonl, texts.jsonl)      the corpus (text, label)
//   maps/emb-MODE.npy              corpus embeddings, row-aligned (the map skips encoding)
//   maps/layout.npy                a precomputed [N, 2] layout drawn as is
//   eval/results.json              the Compare table     tasks/             `genlens eval` tasks
//   responses.jsonl                training data for the Training form
//   latent/ (index.json)           a latent index for the latent lens
void StudioApp::open_workspace_parts(const fs::path& ws) {
  tasks_dir_ = latent_index_ = maps_dir_ = eval_results_ = "";
  if (fs::exists(ws / "config.json")) open(views::OpenKind::Model, ws.string());
  else if (fs::exists(ws / "model" / "config.json")) open(views::OpenKind::Model, (ws / "model").string());
  for (auto rel : {"maps/points.jsonl", "corpus.jsonl", "texts.jsonl"})
    if (fs::exists(ws / rel)) {
      open(views::OpenKind::Corpus, (ws / rel).string());
      break;
    }
  if (fs::is_directory(ws / "maps")) maps_dir_ = (ws / "maps").string();
  if (fs::exists(ws / "run")) {
    open(views::OpenKind::Run, (ws / "run").string());
  } else if (fs::is_directory(ws / "runs")) {
    fs::path newest;
    for (auto& e : fs::directory_iterator(ws / "runs"))
      if (e.is_directory() && (newest.empty() || e.last_write_time() > fs::last_write_time(newest))) newest = e.path();
    if (!newest.empty()) open(views::OpenKind::Run, newest.string());
  }
  if (fs::is_directory(ws / "tasks")) tasks_dir_ = (ws / "tasks").string();
  if (fs::exists(ws / "latent" / "index.json")) latent_index_ = (ws / "latent").string();
  if (fs::exists(ws / "eval" / "results.json")) {
    eval_results_ = (ws / "eval" / "results.json").string();
    load_eval_results(eval_results_);
  }
  auto& f = train_state_.form;
  if (fs::exists(ws / "responses.jsonl"))
    std::snprintf(f.data, sizeof f.data, "%s", views::display_path((ws / "responses.jsonl").string()).c_str());
  if (!f.out[0]) std::snprintf(f.out, sizeof f.out, "%s", views::display_path((ws / "runs" / "studio").string()).c_str());
  ws_.extras.clear();
  if (!tasks_dir_.empty()) ws_.extras.push_back("tasks  " + tasks_dir_);
  if (!eval_results_.empty()) ws_.extras.push_back("eval   " + eval_results_);
  if (!maps_dir_.empty()) ws_.extras.push_back("maps   " + maps_dir_);
  ws_.extras.push_back(latent_index_.empty() ? "latent index: none (the latent lens needs WORKSPACE/latent/)"
                                             : "latent " + latent_index_);
}

void StudioApp::follow_run(const std::string& dir) {
  follower_ = std::make_unique<RunFollower>(dir);
  train_.run_dir = dir;
  if (!train_.own_run || !jobs_.active("train")) {
    train_.own_run = false;
    train_.state = "following";
  }
  // Nothing of the previously followed run carries over (a script waiting for step N
  // must see this run's steps, not the last one's).
  train_.metrics.clear();
  train_.checkpoints.clear();
  train_.step = 0;
  train_.probes.clear();
  probed_.clear();
  // The first read takes in everything already written (a finished run: all of it);
  // later polls only return true when something new arrived, so it is shown now.
  follower_->poll();
  absorb_follower();
}

void StudioApp::absorb_follower() {
  train_.metrics.clear();
  for (auto& k : follower_->key_order()) {
    auto& s = follower_->series().at(k);
    views::PlotSeries p;
    p.name = k;
    p.x = s.step;
    p.y = s.value;
    train_.metrics.push_back(std::move(p));
  }
  train_.checkpoints = follower_->checkpoints();
  if (!follower_->problem().empty()) train_.error = follower_->problem();
}

std::string StudioApp::script_value(const std::string& key) const {
  auto series_points = [&](const char* name) {
    for (auto& p : train_.metrics)
      if (p.name == name) return std::to_string(p.x.size());
    return std::string("0");
  };
  if (key == "training-points") return series_points("loss");
  if (key == "checkpoints") return std::to_string(train_.checkpoints.size());
  if (key == "training-state") return train_.state;
  if (key == "markers") return std::to_string(int(map_.generative.data.has_marker) + int(map_.input.data.has_marker));
  if (key == "regions") return std::to_string(map_.generative.data.notes.size());
  if (key == "selected") return std::to_string(views::selected_indices(map_state_).size());
  if (key == "map-status") return map_.generative.status.text + " | " + map_.input.status.text;
  // As drawn: paths under $HOME as ~.
  if (key == "workspace-error") return views::display_path(ws_.workspace_error);
  if (key == "corpus-error") return views::display_path(ws_.corpus_error);
  if (key == "train-warning") {
    std::string all;
    for (auto& w : train_warnings(train_state_.form.steps, train_state_.form.warmup, train_state_.form.lr)) all += w + "\n";
    return all;
  }
  if (key == "probe") return train_state_.probe;
  if (key == "probe-done")  // every checkpoint of the followed run probed with the current query
    return !probe_query_.empty() && probe_job_ == 0 && !train_.checkpoints.empty() &&
                   probed_.size() >= train_.checkpoints.size() && probe_query_ == train_state_.probe
               ? "yes"
               : "no";
  if (key == "log") {
    std::string all;
    for (auto& l : layout_.log_lines) all += l + "\n";
    return all;
  }
  return "?";
}

void StudioApp::select_box(float x0, float y0, float x1, float y1, bool fractions) {
  const auto& d = map_.generative.data.x.empty() ? map_.input.data : map_.generative.data;
  if (fractions && !d.x.empty()) {  // corners as fractions of the layout's extent (0,0 = bottom left)
    auto [xa, xb] = std::minmax_element(d.x.begin(), d.x.end());
    auto [ya, yb] = std::minmax_element(d.y.begin(), d.y.end());
    auto lx = [&](float f) { return *xa + f * (*xb - *xa); };
    auto ly = [&](float f) { return *ya + f * (*yb - *ya); };
    x0 = lx(x0), x1 = lx(x1), y0 = ly(y0), y1 = ly(y1);
  }
  auto idx = views::points_in_box(d, x0, y0, x1, y1);
  map_state_.selected.assign(map_.texts.size(), 0);
  for (int i : idx) map_state_.selected[size_t(i)] = 1;
  log(fmt::format("selected {} points", idx.size()));
}

bool StudioApp::select_region(int k) {
  if (!region_labels_ || region_job_ || k < 0 || size_t(k) >= region_labels_->size()) return false;
  map_state_.selected.assign(map_.texts.size(), 0);
  const auto& r = (*region_labels_)[size_t(k)];
  for (auto i : r.members)
    if (size_t(i) < map_state_.selected.size()) map_state_.selected[size_t(i)] = 1;
  std::string words;
  for (auto& w : r.words) words += (words.empty() ? "" : " · ") + w.word;
  log(fmt::format("selected region {} ({} points: {})", k, r.members.size(), words));
  return true;
}

bool StudioApp::set_train_field(const std::string& key, const std::string& value) {
  auto& f = train_state_.form;
  auto str = [&](char* buf, size_t n) { std::snprintf(buf, n, "%s", value.c_str()); };
  try {
    if (key == "model") str(f.model, sizeof f.model);
    else if (key == "data") str(f.data, sizeof f.data);
    else if (key == "out") str(f.out, sizeof f.out);
    else if (key == "teacher") str(f.teacher, sizeof f.teacher);
    else if (key == "device") str(f.device, sizeof f.device);
    else if (key == "steps") f.steps = std::stoi(value);
    else if (key == "batch") f.batch = std::stoi(value);
    else if (key == "thought") f.thought = std::stoi(value);
    else if (key == "compression") f.compression = std::stoi(value);
    else if (key == "save-every") f.save_every = std::stoi(value);
    else if (key == "warmup") f.warmup = std::stoi(value);
    else if (key == "lr") f.lr = std::stof(value);
    else return false;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

void StudioApp::start_training(bool resume) {
  auto& f = train_state_.form;
  if (!f.model[0] || !f.data[0] || !f.out[0]) {
    train_.error = "The form needs a model, a data file and a run directory.";
    return;
  }
  if (jobs_.active("train")) return;
  // The form shows paths as a person types them ("~/genlens-demo/runs/studio").
  const std::string model = views::expand_user(f.model), data = views::expand_user(f.data),
                    out = views::expand_user(f.out);
  std::vector<std::string> args = cli({"train", "--model", model, "--data", data, "--out", out, "--steps",
                                       std::to_string(f.steps), "--warmup", std::to_string(f.warmup), "--batch-size",
                                       std::to_string(f.batch), "--lr", fmt::format("{}", f.lr), "--thought",
                                       std::to_string(f.thought), "--compression", std::to_string(f.compression),
                                       "--teacher", views::expand_user(f.teacher), "--save-every",
                                       std::to_string(f.save_every), "--device", f.device});
  if (resume) args.push_back("--resume");
  train_control_ = std::make_shared<ProcessControl>();
  train_job_ = jobs_.start("train", [args, control = train_control_](runtime::JobContext& ctx) {
    ctx.set_stage("train");
    auto r = run_process(args, ctx, control.get());
    if (r.exit_code != 0) fail("{}", last_error_line(r));
  });
  train_events_ = 0;
  offered_run_ = false;
  train_.own_run = true;
  train_.state = "starting";
  train_.error.clear();
  train_.log_tail.clear();
  ws_.offer_adapter.clear();
  follow_run(out);
  train_.state = "starting";
  train_.own_run = true;
  for (auto& w : train_.form_warnings) log("train: warning: " + w);
  log(fmt::format("train: {} ({} steps){}", out, f.steps, resume ? ", resuming" : ""));
}

void StudioApp::stop_training() {
  if (!jobs_.active("train")) return;
  jobs_.cancel(train_job_);
  train_.state = "stopping";
  log("train: stopping at the next step (a checkpoint is saved)");
}

void StudioApp::save_png(const std::string& target, const std::string& path) {
  png_script_path_ = path;
  if (target == "map") map_state_.png_pending = target;
  else train_state_.png_pending = target;
}

void StudioApp::request_png(const views::PngRequest& r) {
  PngCapture c{png_script_path_, r.x0, r.y0, r.x1, r.y1};
  png_script_path_.clear();
  if (c.path.empty()) {
    const fs::path base = workspace_.empty() ? fs::current_path() : fs::path(workspace_);
    const std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    c.path = (base / "exports" / fmt::format("{}-{}.png", r.name, stamp)).string();
  }
  capture_ = c;
}

std::optional<StudioApp::PngCapture> StudioApp::take_png_capture() {
  auto c = capture_;
  capture_.reset();
  return c;
}

void StudioApp::png_saved(const PngCapture& c, const std::string& error) {
  png_error_ = error;
  if (error.empty())
    log(fmt::format("saved {} ({:.0f} × {:.0f} px)", c.path, c.x1 - c.x0, c.y1 - c.y0));
  else
    log(fmt::format("could not save {}: {}", c.path, error));
}

void StudioApp::pause_training(bool pause) {
  if (!jobs_.active("train") || !train_control_ || train_control_->pause == pause) return;
  train_control_->pause = pause;
  log(pause ? "train: paused (the run's process is frozen where it stands; Continue picks it up)"
            : "train: continued");
}

bool StudioApp::job_active(const std::string& name) {
  if (name.empty() ? jobs_.any_active() : jobs_.active(name)) return true;
  // A finished job counts as active until a frame has taken its results in (so a script
  // that waits for it sees them).
  const std::pair<const char*, int> absorbing[] = {{"corpus", corpus_job_}, {"project", project_job_},
                                                   {"query", query_job_},   {"walk", walk_job_},
                                                   {"latent", latent_job_}, {"eval", eval_job_},
                                                   {"eval-results", eval_job_}, {"demo", demo_job_},
                                                   {"regions", region_job_}, {"probe", probe_job_},
                                                   {"place", place_job_}};
  for (auto& [n, id] : absorbing)
    if (id != 0 && (name.empty() || name == n)) return true;
  return false;
}

void StudioApp::poll_training() {
  if (train_job_) {
    if (auto* j = jobs_.find(train_job_)) {
      auto s = j->snapshot();
      for (auto& e : j->events_since(train_events_))
        if (e.kind == runtime::JobEvent::Kind::Log) {
          train_.log_tail.push_back(e.text);
          if (train_.log_tail.size() > 40) train_.log_tail.erase(train_.log_tail.begin());
        }
      if (s.state == runtime::JobState::Running) {
        if (train_.state != "stopping")
          train_.state = train_control_ && train_control_->stopped                ? "paused"
                         : train_control_ && train_control_->pause                  ? "pausing"
                         : follower_ && follower_->last_step() > 0                  ? "running"
                                                                                    : "starting";
      } else if (s.state == runtime::JobState::Done) {
        train_.state = "done";
      } else if (s.state == runtime::JobState::Cancelled) {
        train_.state = "stopped";
      } else if (s.state == runtime::JobState::Failed) {
        train_.state = "failed";
        train_.error = s.error;
      }
      if (s.finished() && train_.state != "failed") train_.error.clear();
      // The run wrote an adapter the other tabs do not use yet: offer it (Workspace tab).
      if (s.finished() && !offered_run_ && follower_) {
        offered_run_ = true;
        follower_->poll();
        absorb_follower();
        std::error_code ec;
        const std::string out = fs::absolute(train_.run_dir, ec).lexically_normal().string();
        if (!follower_->checkpoints().empty() && adapter_ != out) {
          ws_.offer_adapter = out;
          log(fmt::format("train: the run wrote {}; Workspace tab: use it as the adapter",
                          follower_->checkpoints().back()));
        }
      }
    }
  }
  // Tail the run's files a few times a second (cheap: only new bytes are read).
  if (follower_ && (frame_no_ % 6 == 0) && follower_->poll()) absorb_follower();
  if (follower_) {
    train_.step = follower_->last_step();
    train_.total_steps = train_.own_run ? train_state_.form.steps
                                        : std::max<int64_t>(follower_->planned_steps(), train_.step);
    // A followed run that reached its planned steps has finished (a resumed one goes on).
    if (!train_.own_run && (train_.state == "following" || train_.state == "finished"))
      train_.state = follower_->planned_steps() > 0 && train_.step >= follower_->planned_steps() ? "finished" : "following";
    train_.rate = 0;
    train_.eta_s = -1;
    auto it = follower_->series().find("step_s");
    if (it != follower_->series().end() && !it->second.value.empty()) {
      // Mean of the last 20 step times: steady enough for an ETA.
      const auto& v = it->second.value;
      double sum = 0;
      int n = 0;
      for (size_t i = v.size() > 20 ? v.size() - 20 : 0; i < v.size(); ++i)
        if (std::isfinite(v[i])) sum += v[i], ++n;
      if (n && sum > 0) {
        train_.rate = n / sum;
        train_.eta_s = double(std::max<int64_t>(0, train_.total_steps - train_.step)) / train_.rate;
      }
    }
  }
}

// ★ The training probe: at each checkpoint of the open run, the probe query's logit
// lens and decoded text (core_bridge run_probe), kept as a timeline by step.
void StudioApp::poll_probe() {
  // The probe is the inspected query until the person types one of their own.
  if (!probe_typed_ && !insp_.query_shown.empty() && insp_.query_shown != train_state_.probe) {
    std::snprintf(train_state_.probe, sizeof train_state_.probe, "%s", insp_.query_shown.c_str());
    probe_submit_ = true;
  }
  if (train_state_.probe[0] == 0 && !train_.run_dir.empty()) {
    // A sensible first probe: the inspected query, else the corpus's first text.
    const std::string first = insp_state_.query[0] ? std::string(insp_state_.query)
                              : corpus_texts_.empty()     ? std::string()
                                                          : corpus_texts_.front();
    std::snprintf(train_state_.probe, sizeof train_state_.probe, "%s", first.c_str());
  }
  // A new probe (Enter in its field, or the first one): a new timeline.
  if ((probe_submit_ || probe_query_.empty()) && probe_query_ != train_state_.probe) {
    probe_query_ = train_state_.probe;
    probed_.clear();
    train_.probes.clear();
    train_state_.probe_index = -1;
    probe_job_ = 0;  // a running one's result is dropped (probe_pending_ is replaced)
    probe_pending_.reset();
  }
  probe_submit_ = false;
  if (probe_job_) {
    auto* j = jobs_.find(probe_job_);
    if (!j) return;
    auto snap = j->snapshot();
    if (!snap.finished()) return;
    probe_job_ = 0;
    if (snap.state == runtime::JobState::Done && probe_pending_) {
      auto& v = train_.probes;
      auto at = std::upper_bound(v.begin(), v.end(), probe_pending_->step,
                                 [](int64_t s, const views::ProbeFrame& f) { return s < f.step; });
      v.insert(at, *probe_pending_);
      train_.probe_status = Status::ready();
    } else if (snap.state == runtime::JobState::Failed) {
      train_.probe_status = {Status::Failed, "probe: " + (snap.error.empty() ? std::string("failed") : snap.error)};
    }
    probe_pending_.reset();
  }
  const std::string model = !model_.empty() ? model_ : std::string(train_state_.form.model);
  if (probe_query_.empty() || train_.run_dir.empty() || train_.checkpoints.empty()) return;
  if (model.empty()) {
    train_.probe_status = {Status::Unavailable, "Open the run's model (Workspace tab) to probe its checkpoints."};
    return;
  }
  for (auto& c : train_.checkpoints) {
    const std::string dir = (fs::path(train_.run_dir) / c).string();
    if (std::find(probed_.begin(), probed_.end(), dir) != probed_.end()) continue;
    probed_.push_back(dir);
    int64_t step = 0;
    if (auto dash = c.rfind('-'); dash != std::string::npos) step = std::atoll(c.c_str() + dash + 1);
    auto frame = std::make_shared<views::ProbeFrame>();
    frame->step = step;
    probe_pending_ = frame;
    const std::string query = probe_query_;
    CoreSession* core = &core_;
    probe_job_ = jobs_.start("probe", [=](runtime::JobContext& ctx) {
      auto m = core->get(model, dir, ctx);
      auto lk = core->compute();
      ctx.set_stage(fmt::format("probe at step {}", step));
      auto r = run_probe(*m, query, "", 6, 32);
      frame->lens_words = r.words;
      frame->decoded = r.decoded;
    });
    train_.probe_status = {Status::Running, fmt::format("probing checkpoint {}…", c)};
    return;
  }
}

void StudioApp::update_workspace_snapshot() {
  ws_.workspace_dir = workspace_;
  ws_.model_dir = model_;
  ws_.adapter_dir = adapter_;
  ws_.run_dir = run_;
  ws_.corpus_path = corpus_;
  if (frame_no_ % 30 == 1) ws_.memory_mb = resident_mb();
  ws_.jobs.clear();
  for (auto it = jobs_.entries().rbegin(); it != jobs_.entries().rend(); ++it) {
    auto s = it->job->snapshot();
    views::JobRow r;
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
  ws_.corpus_loading = corpus_job_ != 0;
  // The sidebar: what each open part is, not its directory's bare name ("model model").
  layout_.workspace_name = workspace_.empty() ? "(no workspace)" : views::display_path(workspace_);
  layout_.workspace_items.clear();
  auto inside = [&](const std::string& p) {  // a path in the workspace, relative to it
    if (workspace_.empty() || p.size() <= workspace_.size() || p.compare(0, workspace_.size(), workspace_) != 0 ||
        p[workspace_.size()] != '/')
      return fs::path(p).filename().string();
    return p.substr(workspace_.size() + 1);
  };
  const std::string newest = follower_ && !follower_->checkpoints().empty() && run_ == adapter_
                                 ? follower_->checkpoints().back() : std::string();
  ws_.adapter_note = newest.empty() ? "" : "the newest checkpoint of the run: " + newest;
  // A part's place in the workspace, unless it is the usual one ("model/", "run/"): the
  // kind already says that.
  auto where = [&](const std::string& p, const char* usual) {
    const auto rel = inside(p);
    return rel == usual ? std::string() : rel;
  };
  if (!model_.empty()) {
    std::string what = ws_.model_summary;
    if (auto dot = what.find(" · hidden"); dot != std::string::npos) what.resize(dot);  // "qwen3 · 4 layers"
    const auto rel = where(model_, "model");
    layout_.workspace_items.push_back(
        {"model", rel.empty() ? what : fmt::format("{} ({})", rel, what), views::display_path(model_)});
  }
  if (!adapter_.empty())
    layout_.workspace_items.push_back(
        {"adapter", adapter_ == run_ ? (newest.empty() ? std::string("the run's newest checkpoint") : newest + " (newest)")
                                     : inside(adapter_),
         views::display_path(adapter_)});
  if (!run_.empty()) {
    const auto rel = where(run_, "run");
    std::string what = train_.total_steps > 0 ? fmt::format("step {} of {}", train_.step, train_.total_steps)
                                              : fmt::format("step {}", train_.step);
    if (train_.state != "following") what += " · " + train_.state;
    layout_.workspace_items.push_back({"run", rel.empty() ? what : rel + " · " + what, views::display_path(run_)});
  }
  if (!corpus_.empty()) {
    const std::string name = fs::path(corpus_).filename().string();
    layout_.workspace_items.push_back(
        {"corpus",
         !corpus_error_.empty() ? name + " · unreadable"
         : corpus_job_          ? name + " · reading…"
                                : fmt::format("{} · {} rows", name, corpus_texts_.size()),
         views::display_path(corpus_)});
  }
}

void StudioApp::set_similarity_from_selection() {
  if (map_state_.selected == last_selection_) return;
  last_selection_ = map_state_.selected;
  const auto sel = views::selected_indices(map_state_);
  cmp_.sim_points = int(sel.size());
  if (sel.size() < 2 || emb_input_.empty()) {
    cmp_.sim_status = {Status::Idle, emb_input_.empty() ? "Project the corpus (Map tab) and select points."
                                                         : "Select at least two points on the map."};
    return;
  }
  // Rows and columns by label; per point up to kMaxPointMatrix, label means always.
  const auto ordered = views::order_by_label(sel, corpus_labels_);
  const bool points = int(ordered.size()) <= views::kMaxPointMatrix;
  auto fill = [&](views::HeatmapData& h, views::HeatmapData& by_label, const std::vector<float>& emb, int64_t dim) {
    h = points ? views::cosine_matrix(emb, dim, ordered, corpus_labels_, corpus_label_names_, corpus_texts_)
               : views::HeatmapData{};
    by_label = views::label_mean_cosine(emb, dim, sel, corpus_labels_, corpus_label_names_);
  };
  fill(cmp_.sim_input, cmp_.sim_input_labels, emb_input_, emb_dim_input_);
  if (!emb_gen_.empty()) fill(cmp_.sim_generative, cmp_.sim_generative_labels, emb_gen_, emb_dim_gen_);
  else cmp_.sim_generative = cmp_.sim_generative_labels = {};
  // One colour scale for all four matrices, from the lowest cosine in any of them to 1.
  const float lo = views::share_colour_scale(
      {&cmp_.sim_input, &cmp_.sim_generative, &cmp_.sim_input_labels, &cmp_.sim_generative_labels});
  cmp_.sim_scale = fmt::format("colour: cosine from {:.2f} (lowest in either space) to 1", lo);
  cmp_.sim_status = Status::ready();
}

void StudioApp::draw_main(const views::Rect& area) {
  ImGui::SetNextWindowPos(ImVec2(area.x, area.y));
  ImGui::SetNextWindowSize(ImVec2(area.w, area.h));
  ImGui::Begin("##main", nullptr,
               ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                   ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoBringToFrontOnFocus);
  if (demo_show_) {  // the demo is being built: its progress is the whole screen
    drawn_.push_back("demo-build");
    auto in = views::draw_demo_build_view(demo_);
    if (in.cancel && demo_job_) jobs_.cancel(demo_job_);
    if (in.retry) build_demo(demo_dir_, demo_quick_);
    ImGui::End();
    return;
  }
  if (ImGui::BeginTabBar("views")) {
    for (Tab t : {Tab::Workspace, Tab::Inspector, Tab::Map, Tab::Compare, Tab::Training}) {
      static const char* kTitles[] = {"Workspace", "Query inspector", "Embedding map", "Compare", "Training"};
      ImGuiTabItemFlags flags = tab_pending_ && requested_tab_ == t ? ImGuiTabItemFlags_SetSelected : 0;
      if (!ImGui::BeginTabItem(kTitles[int(t)], nullptr, flags)) continue;
      tab_ = t;
      drawn_.push_back(to_string(t));
      ImGui::BeginChild("content", ImVec2(0, 0), false);
      switch (t) {
        case Tab::Workspace: {
          auto in = views::draw_workspace_view(ws_, ws_state_);
          for (auto& o : in.open) open(o.kind, o.path);
          if (in.use_offered_adapter && !ws_.offer_adapter.empty()) open(views::OpenKind::Adapter, ws_.offer_adapter);
          if (in.dismiss_offer) ws_.offer_adapter.clear();
          for (int i : in.cancel_jobs) {
            int k = int(jobs_.entries().size()) - 1 - i;  // the list shows newest first
            if (k >= 0) jobs_.cancel(jobs_.entries()[size_t(k)].id);
          }
          break;
        }
        case Tab::Inspector: {
          auto in = views::draw_inspector_view(insp_, insp_state_);
          if (in.run) inspect(insp_state_.query);
          if (in.walk) walk(insp_state_.walk_to);
          if (in.pin_changed) start_latent();
          if (!insp_.tokens.empty()) drawn_.push_back("inspector.tokens");
          if (insp_.answer_status.is_ready()) drawn_.push_back("inspector.answer");
          if (insp_.decoded_status.is_ready()) drawn_.push_back("inspector.decoded");
          if (insp_.lens_status.is_ready() && !insp_.lens.empty()) drawn_.push_back("inspector.lens");
          if (insp_.neighbours_status.is_ready()) drawn_.push_back("inspector.neighbours");
          if (insp_.walk_status.is_ready()) drawn_.push_back("inspector.walk");
          break;
        }
        case Tab::Map: {
          auto in = views::draw_map_view(map_, map_state_);
          if (in.project) project(in.method);
          if (in.send_to_inspector >= 0 && size_t(in.send_to_inspector) < map_.texts.size()) {
            inspect(map_.texts[size_t(in.send_to_inspector)]);
            show(Tab::Inspector);
          }
          if (in.png.wanted()) request_png(in.png);
          if (in.export_selection) {
            auto path = fs::path(corpus_).replace_extension("").string() + "-selection.jsonl";
            std::string rows;
            for (int i : views::selected_indices(map_state_))
              rows += nlohmann::json{{"index", i}, {"text", map_.texts[size_t(i)]}}.dump() + "\n";
            try {
              io::write_file_atomic(path, rows);
              log("selection written to " + path);
            } catch (const std::exception& e) {
              log(fmt::format("could not write the selection: {}", e.what()));
            }
          }
          if (!map_.input.data.x.empty()) drawn_.push_back("map.input");
          if (!map_.generative.data.x.empty()) drawn_.push_back("map.generative");
          if (!map_.generative.data.notes.empty()) drawn_.push_back("map.regions");
          break;
        }
        case Tab::Compare: {
          auto in = views::draw_compare_view(cmp_, cmp_state_);
          if (in.run_eval) run_eval();
          if (in.export_csv) ImGui::SetClipboardText(views::table_csv(cmp_).c_str());
          if (in.export_markdown) ImGui::SetClipboardText(views::table_markdown(cmp_).c_str());
          if (cmp_.eval_status.is_ready() && !cmp_.rows.empty()) drawn_.push_back("compare.eval");
          if (cmp_.sim_status.is_ready()) drawn_.push_back("compare.similarity");
          break;
        }
        case Tab::Training: {
          train_.form_warnings = train_warnings(train_state_.form.steps, train_state_.form.warmup, train_state_.form.lr);
          auto in = views::draw_training_view(train_, train_state_);
          if (in.start) start_training(false);
          if (in.resume) start_training(true);
          if (in.stop) stop_training();
          if (in.png.wanted()) request_png(in.png);
          if (in.pause) pause_training(true);
          if (in.unpause) pause_training(false);
          if (!in.follow.empty()) {
            run_ = in.follow;
            follow_run(in.follow);
          }
          if (in.probe_changed) {
            probe_submit_ = true;
            probe_typed_ = true;  // the person's own probe: no longer the inspected query
          }
          if (in.open_checkpoint >= 0) {
            open(views::OpenKind::Adapter, (fs::path(train_.run_dir) / train_.checkpoints[size_t(in.open_checkpoint)]).string());
            show(Tab::Inspector);
          }
          if (!train_.metrics.empty()) drawn_.push_back("training.curves");
          if (!train_.probes.empty()) drawn_.push_back("training.probe");
          if (train_.state == "paused") drawn_.push_back("training.paused");
          break;
        }
      }
      ImGui::EndChild();
      ImGui::EndTabItem();
    }
    ImGui::EndTabBar();
  }
  // A requested tab is forced until the tab bar shows it; after that the person's clicks rule.
  if (tab_pending_ && tab_ == requested_tab_) tab_pending_ = false;
  if (!tab_pending_) requested_tab_ = tab_;
  ImGui::End();
}

void StudioApp::frame(float w, float h) {
  ++frame_no_;
  drawn_.clear();
  poll_jobs();
  poll_training();
  poll_demo();
  poll_probe();
  set_similarity_from_selection();
  update_workspace_snapshot();
  auto area = views::draw_layout(layout_, layout_state_, w, h);
  drawn_.push_back("layout");
  draw_main(area);
}

}  // namespace genlens::studio
