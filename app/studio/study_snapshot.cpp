#include "app/studio/study_snapshot.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace genlens::studio {

namespace fs = std::filesystem;
using nlohmann::json;

views::StudySnapshot study_snapshot(const runs::Study& s) {
  views::StudySnapshot out;
  out.open = true;
  out.status = views::Status::ready();
  out.dir = views::display_path(s.dir.string());
  out.seeds = int(s.seeds.size());
  for (const auto& c : s.columns) out.columns.push_back({c.id, c.label, c.metric, c.kind, c.lower_is_better, ""});
  for (const auto& a : s.vary) out.vary.push_back({a.key, a.values});
  out.zip = s.combine == runs::Combine::Zip;
  views::shorten_task_headers(out);
  std::vector<std::optional<size_t>> best;
  for (const auto& c : s.columns) best.push_back(runs::best_variant(s, c.id));
  for (size_t v = 0; v < s.variants.size(); ++v) {
    const auto& var = s.variants[v];
    views::StudyVariantRow row;
    row.name = var.name;
    row.setting = var.setting;
    row.runs_total = int(var.runs.size());
    for (const auto& r : var.runs)
      if (r.done) {
        ++row.runs_done;
        if (row.probe_run.empty()) row.probe_run = r.dir;
      }
    for (size_t c = 0; c < s.columns.size(); ++c) {
      const auto& id = s.columns[c].id;
      views::StudyCell cell;
      if (auto m = var.mean.find(id); m != var.mean.end()) {
        cell.mean = m->second;
        if (auto sp = var.spread.find(id); sp != var.spread.end()) cell.spread = sp->second;
        for (const auto& r : var.runs) cell.runs += r.done && r.scores.count(id) ? 1 : 0;
        cell.best = best[c] == v;
        // The reader's rule needs both spreads; a file without them has no ties to mark.
        cell.near_best = best[c] && var.spread.count(id) && s.variants[*best[c]].spread.count(id) &&
                         runs::within_spread_of_best(s, v, id);
      }
      row.cells.push_back(cell);
    }
    out.variants.push_back(std::move(row));
  }
  out.summary = fmt::format("model {} · {} variant{} × {} seed{} ({})", views::display_path(s.model), s.variants.size(),
                            s.variants.size() == 1 ? "" : "s", s.seeds.size(), s.seeds.size() == 1 ? "" : "s",
                            runs::to_string(s.combine));
  out.summary += s.heldout ? " · held-out: " + views::display_path(*s.heldout) : " · no held-out queries";
  return out;
}

namespace {

// "labels": a name per point (a string; a number is its own name; null: no label).
void read_labels(const json& j, const std::string& file, views::StudyProbe& p, std::vector<int>& labels) {
  auto it = j.find("labels");
  if (it == j.end() || it->is_null()) return;
  if (!it->is_array()) fail("{}: labels: expected an array", file);
  for (size_t i = 0; i < it->size(); ++i) {
    const json& l = (*it)[i];
    if (l.is_null()) {
      labels.push_back(-1);
      continue;
    }
    if (!l.is_string() && !l.is_number()) fail("{}: labels[{}]: expected a string", file, i);
    const std::string name = l.is_string() ? l.get<std::string>() : l.dump();
    auto pos = std::find(p.label_names.begin(), p.label_names.end(), name);
    if (pos == p.label_names.end()) pos = p.label_names.insert(p.label_names.end(), name);
    labels.push_back(int(pos - p.label_names.begin()));
  }
}

// "pca" / "umap": [[x, y], ...], one per id; absent or empty: none.
bool read_layout(const json& j, const char* key, const std::string& file, size_t n, views::ScatterData& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null() || (it->is_array() && it->empty())) return false;
  if (!it->is_array() || it->size() != n)
    fail("{}: {}: expected an array of {} [x, y] pairs (one per id)", file, key, n);
  for (size_t i = 0; i < n; ++i) {
    const json& xy = (*it)[i];
    if (!xy.is_array() || xy.size() != 2 || !xy[0].is_number() || !xy[1].is_number())
      fail("{}: {}[{}]: expected [x, y] (two numbers)", file, key, i);
    out.x.push_back(xy[0].get<float>());
    out.y.push_back(xy[1].get<float>());
  }
  return true;
}

std::vector<std::string> string_array(const json& j, const char* key, const std::string& file) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) fail("{}: {}: expected an array of strings", file, key);
  for (size_t i = 0; i < it->size(); ++i) {
    const json& v = (*it)[i];
    if (!v.is_string() && !v.is_number()) fail("{}: {}[{}]: expected a string", file, key, i);
    out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string id_string(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

views::StudyProbe read_study_probe(const fs::path& study_dir, const std::string& run_dir, int variant) {
  views::StudyProbe p;
  p.variant = variant;
  p.run_dir = run_dir;
  const fs::path probe = study_dir / run_dir / "probe";
  const fs::path map_file = probe / "map.json";
  if (!fs::exists(map_file)) {
    p.status = {views::Status::Unavailable,
                fmt::format("no held-out map ({}/probe/map.json): this study was run without held-out queries "
                            "(genlens study --heldout FILE), so there is nothing to map",
                            run_dir)};
    return p;
  }
  const std::string mf = map_file.string();
  const json j = io::read_json_file(map_file);
  if (!j.is_object()) fail("{}: expected a JSON object", mf);
  auto ids = j.find("ids");
  if (ids == j.end() || !ids->is_array()) fail("{}: ids: expected an array", mf);
  for (const auto& v : *ids) p.ids.push_back(id_string(v));
  const size_t n = p.ids.size();
  p.texts = string_array(j, "texts", mf);
  p.texts.resize(n);
  std::vector<int> labels;
  read_labels(j, mf, p, labels);
  if (!labels.empty() && labels.size() != n) fail("{}: labels: {} entries for {} ids", mf, labels.size(), n);
  const bool has_pca = read_layout(j, "pca", mf, n, p.pca);
  const bool has_umap = read_layout(j, "umap", mf, n, p.umap);
  if (!has_pca && !has_umap) fail("{}: neither pca nor umap holds a layout", mf);
  if (!has_umap) p.umap = p.pca;  // one layout: both choices show it
  if (!has_pca) p.pca = p.umap;
  for (auto* d : {&p.pca, &p.umap}) {
    d->label = labels;
    d->label_names = p.label_names;
    d->version = 1;
  }

  const fs::path samples = probe / "samples.jsonl";
  if (fs::exists(samples)) {
    std::ifstream f(samples);
    if (!f) fail("{}: cannot read", samples.string());
    std::string line;
    for (int no = 1; std::getline(f, line); ++no) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json r;
      try {
        r = json::parse(line);
      } catch (const json::exception& e) {
        fail("{}:{}: not JSON ({})", samples.string(), no, e.what());
      }
      if (!r.is_object() || !r.contains("id")) fail("{}:{}: expected an object with an \"id\"", samples.string(), no);
      views::StudySample s;
      s.id = id_string(r["id"]);
      auto str = [&](const char* k) { return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : std::string(); };
      s.question = str("question");
      s.category = str("category");
      s.decoded = str("decoded");
      s.decode_hit = r.value("decode_hit", false);
      s.lens_hit = r.value("lens_hit", false);
      if (auto l = r.find("lens_top10"); l != r.end() && l->is_array())
        for (const auto& w : *l)
          if (w.is_string()) s.lens_top10.push_back(w.get<std::string>());
      p.samples.push_back(std::move(s));
    }
  }
  p.status = views::Status::ready();
  return p;
}

void share_labels(views::StudyProbe& a, views::StudyProbe& b) {
  std::vector<std::string> names = a.label_names;
  for (const auto& n : b.label_names)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  for (auto* p : {&a, &b}) {
    std::vector<int> to(p->label_names.size());
    for (size_t i = 0; i < to.size(); ++i)
      to[i] = int(std::find(names.begin(), names.end(), p->label_names[i]) - names.begin());
    for (auto* d : {&p->pca, &p->umap}) {
      for (int& l : d->label)
        if (l >= 0 && size_t(l) < to.size()) l = to[size_t(l)];
      d->label_names = names;
      ++d->version;
    }
    p->label_names = names;
  }
}

std::pair<int, int> default_study_picks(const views::StudySnapshot& s) {
  int a = -1, b = -1;
  for (size_t v = 0; v < s.variants.size() && a < 0; ++v)
    if (s.variants[v].has_probe()) a = int(v);
  if (!s.columns.empty())
    for (size_t v = 0; v < s.variants.size(); ++v)
      if (!s.variants[v].cells.empty() && s.variants[v].cells[0].best && s.variants[v].has_probe() && int(v) != a)
        b = int(v);
  for (size_t v = 0; v < s.variants.size() && b < 0; ++v)
    if (s.variants[v].has_probe() && int(v) != a) b = int(v);
  if (b < 0) b = a;  // one variant: the same on both sides
  return {a, b};
}

}  // namespace genlens::studio
