#include "app/studio/study_controller.h"

#include <fmt/format.h>

#include <cstring>

#include "app/studio/study_snapshot.h"
#include "core/runs/study_file.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using views::Status;

void StudyController::open(const std::string& typed) {
  path_ = typed;
  const std::string path = views::expand_user(typed);
  // The field shows the path as the rest of the studio does (under $HOME as ~/...; typed
  // back, expand_user reads it).
  if (state_.path[0] == '\0' || path_ != state_.path)
    std::snprintf(state_.path, sizeof state_.path, "%s", views::display_path(path).c_str());
  auto pending = std::make_shared<views::StudySnapshot>();
  read_.start(cx_.jobs, "study", pending, [pending, path](runtime::JobContext& ctx) {
    ctx.set_stage("read study.json");
    *pending = study_snapshot(runs::read_study(path));
  });
  maps_.forget();
  snap_.status = {Status::Running, "reading " + views::display_path(path) + "…"};
  cx_.log("study: " + path);
}

void StudyController::act(const views::StudyIntents& in) {
  if (!in.open.empty()) open(in.open);
  else if (in.reload) reload();
  if (in.picks_changed) load_maps();
}

bool StudyController::pick(const std::string& a, const std::string& b) {
  auto row = [&](const std::string& s) {
    for (size_t v = 0; v < snap_.variants.size(); ++v)
      if (snap_.variants[v].name == s) return int(v);
    char* end = nullptr;
    const long k = std::strtol(s.c_str(), &end, 10);
    return end && *end == '\0' && k >= 0 && size_t(k) < snap_.variants.size() ? int(k) : -1;
  };
  const int ra = row(a), rb = row(b);
  if (ra < 0 || rb < 0) return false;
  state_.pick_a = ra, state_.pick_b = rb;
  load_maps();
  return true;
}

void StudyController::inspect(const std::string& id) {
  state_.inspected_id = id;
  state_.selected_ids = {id};
}

void StudyController::load_maps() {
  const auto& vs = snap_.variants;
  auto valid = [&](int v) { return v >= 0 && size_t(v) < vs.size() && vs[size_t(v)].has_probe(); };
  if (!valid(state_.pick_a) || !valid(state_.pick_b)) {
    for (auto* p : {&snap_.a, &snap_.b}) *p = {};
    snap_.a.variant = state_.pick_a, snap_.b.variant = state_.pick_b;
    const std::string why = "no finished run to map yet (pick a variant with a finished seed)";
    snap_.a.status = valid(state_.pick_a) ? Status{Status::Idle, ""} : Status{Status::Unavailable, why};
    snap_.b.status = valid(state_.pick_b) ? Status{Status::Idle, ""} : Status{Status::Unavailable, why};
    return;
  }
  const int a = state_.pick_a, b = state_.pick_b;
  const std::string run_a = vs[size_t(a)].probe_run, run_b = vs[size_t(b)].probe_run;
  const fs::path dir = dir_;
  auto pending = std::make_shared<std::pair<views::StudyProbe, views::StudyProbe>>();
  maps_.start(cx_.jobs, "study-maps", pending, [pending, dir, run_a, run_b, a, b](runtime::JobContext& ctx) {
    ctx.set_stage("read the held-out maps");
    pending->first = read_study_probe(dir, run_a, a);
    pending->second = read_study_probe(dir, run_b, b);
    share_labels(pending->first, pending->second);
  });
  maps_for_a_ = a, maps_for_b_ = b;
  for (auto* p : {&snap_.a, &snap_.b}) {
    *p = {};
    p->status = {Status::Running, "reading the held-out map…"};
  }
  snap_.a.variant = a, snap_.b.variant = b;
}

void StudyController::poll() {
  if (auto s = read_.poll(cx_.jobs); s && s->finished()) {
    if (s->state != runtime::JobState::Done) {
      // The reader's error (file and field) where the person looks; no half-read study.
      snap_ = {};
      snap_.status = {Status::Failed, views::display_path(job_error(*s))};
      cx_.log("study: " + job_error(*s));
    } else if (auto* read = read_.result()) {
      // Another study: its plot starts on its default x; a reload keeps the person's choice.
      const bool same_study = snap_.open && snap_.dir == read->dir;
      snap_ = std::move(*read);
      read_.drop_result();
      dir_ = fs::path(views::expand_user(path_));
      if (!fs::is_directory(dir_)) dir_ = dir_.parent_path();
      // Picks survive a reload while they still name a variant with a finished run.
      auto valid = [&](int v) { return v >= 0 && size_t(v) < snap_.variants.size() && snap_.variants[size_t(v)].has_probe(); };
      const auto [da, db] = default_study_picks(snap_);
      if (!valid(state_.pick_a)) state_.pick_a = da;
      if (!valid(state_.pick_b)) state_.pick_b = db;
      state_.plot_column = std::clamp(state_.plot_column, 0, std::max(0, int(snap_.columns.size()) - 1));
      if (!same_study) state_.plot_column = 0, state_.plot_axis = views::default_plot_axis(snap_);
      else if (state_.plot_axis != views::kPlotByVariant)
        state_.plot_axis = std::clamp(state_.plot_axis, 0, std::max(0, int(snap_.vary.size()) - 1));
      load_maps();
    }
  }
  if (auto s = maps_.poll(cx_.jobs); s && s->finished()) {
    if (s->state != runtime::JobState::Done) {
      for (auto* p : {&snap_.a, &snap_.b}) p->status = {Status::Failed, views::display_path(job_error(*s))};
    } else if (auto* maps = maps_.result(); maps && maps_for_a_ == state_.pick_a && maps_for_b_ == state_.pick_b) {
      snap_.a = std::move(maps->first);
      snap_.b = std::move(maps->second);
      maps_.drop_result();
      // Another pair of maps: their views fit afresh.
      state_.view_a.fit = state_.view_b.fit = true;
    }
  }
}

std::optional<std::string> StudyController::script_value(const std::string& key) const {
  auto status = [](const Status& s) { return s.is_ready() ? std::string("ready") : s.text; };
  if (key == "study-status") return status(snap_.status);
  if (key == "study-maps") {
    if (!snap_.a.status.is_ready()) return "A: " + status(snap_.a.status);
    if (!snap_.b.status.is_ready()) return "B: " + status(snap_.b.status);
    return std::string("ready");
  }
  if (key == "study-selected") {
    std::string all;
    for (auto& id : state_.selected_ids) all += (all.empty() ? "" : " ") + id;
    return all;
  }
  if (key == "study-inspected") {
    std::string out;
    for (const auto* p : {&snap_.a, &snap_.b})
      if (const auto* r = p->sample(state_.inspected_id)) out += r->decoded + "\n";
    return out;
  }
  return std::nullopt;
}

}  // namespace genlens::studio
