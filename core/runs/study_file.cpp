#include "core/runs/study_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/io/atomic_file.h"
#include "core/io/json_check.h"
#include "core/util/error.h"

namespace genlens::runs {
namespace fs = std::filesystem;
using json = nlohmann::json;

std::string to_string(Combine c) { return c == Combine::Grid ? "grid" : "zip"; }

void summarize(Study& s) {
  for (auto& v : s.variants) {
    v.mean.clear();
    v.spread.clear();
    for (const auto& c : s.columns) {
      std::vector<double> xs;
      for (const auto& r : v.runs)
        if (r.done)
          if (auto it = r.scores.find(c.id); it != r.scores.end() && std::isfinite(it->second)) xs.push_back(it->second);
      if (xs.empty()) continue;
      double m = 0;
      for (double x : xs) m += x;
      m /= static_cast<double>(xs.size());
      double ss = 0;
      for (double x : xs) ss += (x - m) * (x - m);
      v.mean[c.id] = m;
      v.spread[c.id] = xs.size() > 1 ? std::sqrt(ss / static_cast<double>(xs.size() - 1)) : 0.0;
    }
  }
}

namespace {

const StudyColumn* column_of(const Study& s, const std::string& id) {
  for (const auto& c : s.columns)
    if (c.id == id) return &c;
  return nullptr;
}

std::optional<double> mean_of(const StudyVariant& v, const std::string& column) {
  auto it = v.mean.find(column);
  if (it == v.mean.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::optional<size_t> best_variant(const Study& s, const std::string& column) {
  const StudyColumn* c = column_of(s, column);
  if (!c) return std::nullopt;
  std::optional<size_t> best;
  for (size_t i = 0; i < s.variants.size(); ++i) {
    auto m = mean_of(s.variants[i], column);
    if (!m) continue;
    if (!best) {
      best = i;
      continue;
    }
    const double b = *mean_of(s.variants[*best], column);
    if (c->lower_is_better ? *m < b : *m > b) best = i;
  }
  return best;
}

bool within_spread_of_best(const Study& s, size_t v, const std::string& column) {
  if (s.seeds.size() < 2) return false;
  auto best = best_variant(s, column);
  if (!best || *best == v) return false;
  auto m = mean_of(s.variants[v], column);
  if (!m) return false;
  const auto& bv = s.variants[*best];
  const double spread = std::max(s.variants[v].spread.at(column), bv.spread.at(column));
  return std::fabs(*m - bv.mean.at(column)) <= spread;
}

nlohmann::ordered_json study_to_json(const Study& s) {
  using oj = nlohmann::ordered_json;
  oj j;
  j["format"] = kStudyFormat;
  j["model"] = s.model;
  j["data"] = s.data;
  j["tasks"] = s.tasks;
  j["heldout"] = s.heldout ? oj(*s.heldout) : oj(nullptr);
  j["base"] = s.base;
  j["vary"] = oj::array();
  for (const auto& a : s.vary) j["vary"].push_back({{"key", a.key}, {"values", a.values}});
  j["combine"] = to_string(s.combine);
  j["seeds"] = s.seeds;
  j["modes"] = s.modes;
  j["columns"] = oj::array();
  for (const auto& c : s.columns)
    j["columns"].push_back(
        {{"id", c.id}, {"label", c.label}, {"metric", c.metric}, {"kind", c.kind}, {"lower_is_better", c.lower_is_better}});
  j["variants"] = oj::array();
  for (const auto& v : s.variants) {
    oj setting = oj::object();
    for (const auto& [k, val] : v.setting) setting[k] = val;
    oj runs = oj::array();
    for (const auto& r : v.runs) {
      oj scores = oj::object();
      for (const auto& c : s.columns)
        if (auto it = r.scores.find(c.id); it != r.scores.end()) scores[c.id] = it->second;
      runs.push_back({{"seed", r.seed}, {"dir", r.dir}, {"done", r.done}, {"scores", scores}});
    }
    auto by_column = [&](const std::map<std::string, double>& m) {
      oj o = oj::object();
      for (const auto& c : s.columns)
        if (auto it = m.find(c.id); it != m.end()) o[c.id] = it->second;
      return o;
    };
    j["variants"].push_back({{"name", v.name},
                             {"setting", setting},
                             {"settings", v.settings},
                             {"runs", runs},
                             {"mean", by_column(v.mean)},
                             {"spread", by_column(v.spread)}});
  }
  return j;
}

namespace {

std::string need_string(const io::JsonCheck& chk, const json& v, const std::string& key, const std::string& at) {
  auto s = chk.string_field(v, key, at);
  if (!s) chk.bad(io::json_path(at, key), "missing (expected a string)");
  return *s;
}

const json& need_array(const io::JsonCheck& chk, const json& v, const std::string& key, const std::string& at) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_array())
    chk.bad(io::json_path(at, key),
            fmt::format("expected an array, found {}", it == v.end() ? "nothing" : io::describe_json(*it)));
  return *it;
}

std::map<std::string, double> number_map(const io::JsonCheck& chk, const json& v, const std::string& key,
                                         const std::string& at) {
  std::map<std::string, double> out;
  const json* o = chk.object_field(v, key, at);
  if (!o) return out;
  for (auto it = o->begin(); it != o->end(); ++it) {
    if (!it->is_number())
      chk.bad(io::json_path(io::json_path(at, key), it.key()), "expected a number, found " + io::describe_json(*it));
    out[it.key()] = it->get<double>();
  }
  return out;
}

}  // namespace

Study read_study(const fs::path& path) {
  const fs::path file = fs::is_directory(path) ? path / "study.json" : path;
  if (!fs::exists(file))
    fail("{}: no study here (expected study.json, as `genlens study --out` writes it)", file.string());
  const json j = io::read_json_file(file);
  io::JsonCheck chk(file.string());
  chk.object(j, "");
  const std::string format = need_string(chk, j, "format", "");
  if (format != kStudyFormat) chk.bad("format", fmt::format("expected \"{}\", found \"{}\"", kStudyFormat, format));
  Study s;
  s.dir = file.parent_path();
  s.model = need_string(chk, j, "model", "");
  s.data = need_string(chk, j, "data", "");
  s.tasks = need_string(chk, j, "tasks", "");
  s.heldout = chk.string_field(j, "heldout", "");
  if (const json* b = chk.object_field(j, "base", "")) s.base = *b;
  const json& vary = need_array(chk, j, "vary", "");
  for (size_t i = 0; i < vary.size(); ++i) {
    const std::string at = fmt::format("vary[{}]", i);
    chk.object(vary[i], at);
    VaryAxis a;
    a.key = need_string(chk, vary[i], "key", at);
    const json& vals = need_array(chk, vary[i], "values", at);
    for (size_t k = 0; k < vals.size(); ++k) {
      if (!vals[k].is_string())
        chk.bad(fmt::format("{}.values[{}]", at, k), "expected a string, found " + io::describe_json(vals[k]));
      a.values.push_back(vals[k].get<std::string>());
    }
    s.vary.push_back(std::move(a));
  }
  const std::string combine = chk.string_field(j, "combine", "").value_or("grid");
  if (combine != "grid" && combine != "zip") chk.bad("combine", "expected \"grid\" or \"zip\", found \"" + combine + "\"");
  s.combine = combine == "grid" ? Combine::Grid : Combine::Zip;
  const json& seeds = need_array(chk, j, "seeds", "");
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (!seeds[i].is_number_unsigned())
      chk.bad(fmt::format("seeds[{}]", i), "expected a whole number >= 0, found " + io::describe_json(seeds[i]));
    s.seeds.push_back(seeds[i].get<uint64_t>());
  }
  if (auto it = j.find("modes"); it != j.end() && it->is_array())
    for (const auto& m : *it)
      if (m.is_string()) s.modes.push_back(m.get<std::string>());
  const json& cols = need_array(chk, j, "columns", "");
  for (size_t i = 0; i < cols.size(); ++i) {
    const std::string at = fmt::format("columns[{}]", i);
    chk.object(cols[i], at);
    StudyColumn c;
    c.id = need_string(chk, cols[i], "id", at);
    c.label = chk.string_field(cols[i], "label", at).value_or(c.id);
    c.metric = chk.string_field(cols[i], "metric", at).value_or("");
    c.kind = chk.string_field(cols[i], "kind", at).value_or("eval");
    if (auto lb = cols[i].find("lower_is_better"); lb != cols[i].end()) {
      if (!lb->is_boolean()) chk.bad(at + ".lower_is_better", "expected true or false, found " + io::describe_json(*lb));
      c.lower_is_better = lb->get<bool>();
    }
    s.columns.push_back(std::move(c));
  }
  const json& vars = need_array(chk, j, "variants", "");
  for (size_t i = 0; i < vars.size(); ++i) {
    const std::string at = fmt::format("variants[{}]", i);
    chk.object(vars[i], at);
    StudyVariant v;
    v.name = need_string(chk, vars[i], "name", at);
    if (const json* st = chk.object_field(vars[i], "setting", at))
      for (auto it = st->begin(); it != st->end(); ++it) {
        if (!it->is_string())
          chk.bad(io::json_path(at + ".setting", it.key()), "expected a string, found " + io::describe_json(*it));
        v.setting.emplace_back(it.key(), it->get<std::string>());
      }
    // The setting's keys in --vary order (a JSON object's own order is not kept).
    std::sort(v.setting.begin(), v.setting.end(), [&](const auto& a, const auto& b) {
      auto rank = [&](const std::string& k) {
        for (size_t r = 0; r < s.vary.size(); ++r)
          if (s.vary[r].key == k) return r;
        return s.vary.size();
      };
      return rank(a.first) < rank(b.first);
    });
    if (const json* st = chk.object_field(vars[i], "settings", at)) v.settings = *st;
    const json& runs = need_array(chk, vars[i], "runs", at);
    for (size_t r = 0; r < runs.size(); ++r) {
      const std::string rat = fmt::format("{}.runs[{}]", at, r);
      chk.object(runs[r], rat);
      StudyRun run;
      auto seed = chk.whole_field(runs[r], "seed", rat);
      if (!seed || *seed < 0) chk.bad(rat + ".seed", "expected a whole number >= 0");
      run.seed = static_cast<uint64_t>(*seed);
      run.dir = need_string(chk, runs[r], "dir", rat);
      if (auto d = runs[r].find("done"); d != runs[r].end() && d->is_boolean()) run.done = d->get<bool>();
      run.scores = number_map(chk, runs[r], "scores", rat);
      v.runs.push_back(std::move(run));
    }
    v.mean = number_map(chk, vars[i], "mean", at);
    v.spread = number_map(chk, vars[i], "spread", at);
    s.variants.push_back(std::move(v));
  }
  return s;
}

std::string study_table_markdown(const Study& s) {
  const bool seeds = s.seeds.size() > 1;
  std::string out = "| variant |";
  std::string rule = "|---|";
  for (const auto& c : s.columns) {
    out += fmt::format(" {} |", c.lower_is_better ? c.label + " ↓" : c.label);
    rule += "---|";
  }
  out += "\n" + rule + "\n";
  bool any_tie = false;
  for (size_t i = 0; i < s.variants.size(); ++i) {
    const auto& v = s.variants[i];
    out += "| " + v.name + " |";
    for (const auto& c : s.columns) {
      auto it = v.mean.find(c.id);
      if (it == v.mean.end()) {
        out += " - |";
        continue;
      }
      std::string cell = fmt::format("{:.3f}", it->second);
      if (seeds) cell += fmt::format(" ± {:.3f}", v.spread.at(c.id));
      if (best_variant(s, c.id) == i) cell = "**" + cell + "**";
      if (within_spread_of_best(s, i, c.id)) {
        cell += " ~";
        any_tie = true;
      }
      out += " " + cell + " |";
    }
    out += "\n";
  }
  std::string legend = "\n";
  bool lower = false, probe = false;
  for (const auto& c : s.columns) lower = lower || c.lower_is_better, probe = probe || c.kind == "probe";
  if (!s.columns.empty() && s.columns.front().kind == "eval")
    legend += "Tasks: the main metric of the generative embedding (genlens eval).";
  if (lower) legend += " ↓: lower is better.";
  if (probe)
    legend += " decode / lens: share of held-out queries whose text decoded from the soft prompts / whose compression "
              "tokens' logit lens (top-10) holds one of the query's signature words.";
  if (legend.size() > 1) out += legend + "\n";
  if (seeds)
    out += fmt::format("\nMean ± standard deviation over {} seeds; the best of each column in bold.{}\n", s.seeds.size(),
                       any_tie ? " ~ : within the spread of the best (the difference is noise at this many seeds)." : "");
  else
    out += "\nOne seed per variant; the best of each column in bold (no spread: rerun with --seeds 3 to see the noise).\n";
  return out;
}

}  // namespace genlens::runs
