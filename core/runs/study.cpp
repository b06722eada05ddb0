#include "core/runs/study.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

#include "core/analysis/eval.h"
#include "core/data/demo_world.h"
#include "core/gen/checkpoint.h"
#include "core/io/atomic_file.h"
#include "core/io/dir_lock.h"
#include "core/io/json_check.h"
#include "core/model/decoder_lm.h"
#include "core/runs/probe.h"
#include "core/runs/train_run.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::runs {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const gen::TrainSettingField* field_of(const std::string& key) {
  for (const auto& f : gen::kTrainSettingFields)
    if (f.is_option() && key == f.name + 2) return &f;
  return nullptr;
}

// Sets the field from text the way the option would read it; the whole text must parse.
void set_from_text(gen::TrainSettings& s, const gen::TrainSettingField& f, const std::string& key,
                   const std::string& value) {
  auto bad = [&](const char* what) { fail("--vary {}={}: expected {}", key, value, what); };
  std::visit(
      [&](auto member) {
        using Value = std::decay_t<decltype(s.*member)>;
        if constexpr (std::is_same_v<Value, std::string>) {
          s.*member = value;
        } else {
          if (value.empty()) bad("a value");
          const char* b = value.c_str();
          char* e = nullptr;
          errno = 0;
          if constexpr (std::is_same_v<Value, double>) {
            const double v = std::strtod(b, &e);
            if (*e != '\0' || errno == ERANGE) bad("a number");
            s.*member = v;
          } else if constexpr (std::is_same_v<Value, uint64_t>) {
            if (value[0] == '-') bad("a whole number >= 0");
            const unsigned long long v = std::strtoull(b, &e, 10);
            if (*e != '\0' || errno == ERANGE) bad("a whole number >= 0");
            s.*member = v;
          } else {
            const long long v = std::strtoll(b, &e, 10);
            if (*e != '\0' || errno == ERANGE) bad("a whole number");
            s.*member = v;
          }
        }
      },
      f.member);
}

// A folder name for the variant: its "key=value" pairs joined by ',', anything outside
// [A-Za-z0-9._=+-] replaced by '_'.
std::string folder_safe(std::string out) {
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._=+-,").find(c) != std::string_view::npos))
      c = '_';
  return out;
}

std::string slug(const std::vector<std::pair<std::string, std::string>>& setting) {
  if (setting.empty()) return "base";
  std::string out;
  for (const auto& [k, v] : setting) {
    if (!out.empty()) out += ',';
    out += k + "=" + v;
  }
  return folder_safe(out);
}

std::string display_name(const std::vector<std::pair<std::string, std::string>>& setting) {
  if (setting.empty()) return "base";
  std::string out;
  for (const auto& [k, v] : setting) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

}  // namespace

std::vector<std::string> vary_keys() {
  std::vector<std::string> out;
  for (const auto& f : gen::kTrainSettingFields)
    if (f.is_option()) out.push_back(f.name + 2);
  return out;
}

StudyPlan plan_study(const StudyOptions& o) {
  if (!o.runs.empty()) return plan_runs(o);
  if (o.seeds < 1) fail("--seeds: expected >= 1, found {}", o.seeds);
  std::set<std::string> seen;
  bool vary_seed = false;
  for (const auto& a : o.vary) {
    if (!field_of(a.key)) fail("--vary {}: {}", a.key, io::unknown_key_message(a.key, vary_keys()));
    if (!seen.insert(a.key).second) fail("--vary {}: given twice (list all its values in one --vary {}=V1,V2)", a.key, a.key);
    if (a.values.empty()) fail("--vary {}: no values (expected {}=V1,V2,...)", a.key, a.key);
    vary_seed = vary_seed || a.key == "seed";
  }
  if (vary_seed && o.seeds > 1) fail("--seeds {} and --vary seed=...: give the seeds one way", o.seeds);
  if (o.combine == Combine::Zip)
    for (const auto& a : o.vary)
      if (a.values.size() != o.vary.front().values.size())
        fail("--zip: every --vary needs as many values ({} has {}, {} has {})", o.vary.front().key,
             o.vary.front().values.size(), a.key, a.values.size());
  // The combinations, the first axis slowest.
  std::vector<std::vector<size_t>> combos;
  if (o.vary.empty()) {
    combos.push_back({});
  } else if (o.combine == Combine::Zip) {
    for (size_t i = 0; i < o.vary.front().values.size(); ++i) combos.push_back(std::vector<size_t>(o.vary.size(), i));
  } else {
    combos.push_back({});
    for (const auto& a : o.vary) {
      std::vector<std::vector<size_t>> next;
      for (const auto& c : combos)
        for (size_t i = 0; i < a.values.size(); ++i) {
          auto d = c;
          d.push_back(i);
          next.push_back(std::move(d));
        }
      combos = std::move(next);
    }
  }

  StudyPlan plan;
  Study& s = plan.study;
  s.model = o.model_dir;
  s.data = o.data.string();
  s.tasks = o.tasks.string();
  if (!o.heldout.empty()) s.heldout = o.heldout.string();
  s.base = o.base.to_json();
  s.vary = o.vary;
  s.combine = o.combine;
  s.modes = o.modes;
  if (!vary_seed)
    for (int k = 0; k < o.seeds; ++k) s.seeds.push_back(o.base.seed + static_cast<uint64_t>(k));
  std::set<std::string> dirs;
  for (const auto& c : combos) {
    StudyVariant v;
    gen::TrainSettings settings = o.base;
    for (size_t a = 0; a < o.vary.size(); ++a) {
      const auto& key = o.vary[a].key;
      const auto& value = o.vary[a].values[c[a]];
      set_from_text(settings, *field_of(key), key, value);
      v.setting.emplace_back(key, value);
    }
    try {
      settings.validate();
    } catch (const Error& e) {
      fail("--vary {}: {}", display_name(v.setting), e.what());
    }
    v.name = display_name(v.setting);
    std::string folder = "variants/" + slug(v.setting);
    if (!dirs.insert(folder).second) fail("--vary: two variants are both \"{}\" (a value given twice?)", v.name);
    v.settings = settings.to_json();
    const std::vector<uint64_t> seeds = vary_seed ? std::vector<uint64_t>{settings.seed} : s.seeds;
    for (uint64_t seed : seeds) {
      PlannedRun r;
      r.variant = s.variants.size();
      r.seed = seed;
      r.settings = settings;
      r.settings.seed = seed;
      r.dir = folder + "/seed-" + std::to_string(seed);
      StudyRun sr;
      sr.seed = seed;
      sr.dir = r.dir;
      v.runs.push_back(sr);
      plan.runs.push_back(std::move(r));
    }
    s.variants.push_back(std::move(v));
  }
  if (vary_seed)
    for (const auto& v : s.variants) s.seeds.push_back(v.runs.front().seed);
  return plan;
}

namespace {

std::string value_text(const gen::TrainSettings& s, const gen::TrainSettingField& f) {
  return std::visit(
      [&](auto member) -> std::string {
        using Value = std::decay_t<decltype(s.*member)>;
        if constexpr (std::is_same_v<Value, std::string>) return s.*member;
        else return fmt::format("{}", s.*member);
      },
      f.member);
}

}  // namespace

StudyPlan plan_runs(const StudyOptions& o) {
  if (!o.vary.empty()) fail("--runs compares finished runs: give --runs or --vary, not both");
  struct Found {
    fs::path dir;
    gen::TrainSettings settings;
  };
  std::vector<Found> found;
  for (const auto& dir : o.runs) {
    const auto cps = gen::list_checkpoints(dir);
    if (cps.empty() || !fs::exists(cps.back().second / "trainer_state.json"))
      fail("--runs {}: no checkpoint with trainer_state.json here (expected a `genlens train --out` folder)",
           dir.string());
    const fs::path state = cps.back().second / "trainer_state.json";
    auto settings = gen::TrainSettings::from_json(
        gen::read_trainer_state(state).value("settings", json::object()), state.string());
    found.push_back({dir, settings});
  }
  StudyPlan plan;
  Study& s = plan.study;
  s.model = o.model_dir;
  s.tasks = o.tasks.string();
  if (!o.heldout.empty()) s.heldout = o.heldout.string();
  s.base = found.front().settings.to_json();
  s.combine = Combine::Zip;
  s.modes = o.modes;
  // The axes: every setting whose value is not the same in all runs.
  std::vector<const gen::TrainSettingField*> differing;
  for (const auto& f : gen::kTrainSettingFields) {
    if (!f.is_option() || f.on_resume == gen::OnResume::Free) continue;
    VaryAxis a{f.name + 2, {}};
    for (const auto& r : found) a.values.push_back(value_text(r.settings, f));
    if (std::all_of(a.values.begin(), a.values.end(), [&](const std::string& v) { return v == a.values.front(); }))
      continue;
    differing.push_back(&f);
    s.vary.push_back(std::move(a));
  }
  std::set<std::string> names, dirs;
  for (size_t i = 0; i < found.size(); ++i) {
    StudyVariant v;
    for (const auto* f : differing) v.setting.emplace_back(f->name + 2, value_text(found[i].settings, *f));
    v.name = v.setting.empty() ? found[i].dir.filename().string() : display_name(v.setting);
    // Runs with the same settings (other data, say) are told apart by their folders.
    if (names.count(v.name)) v.name += " (" + found[i].dir.filename().string() + ")";
    if (!names.insert(v.name).second)
      fail("--runs {}: given twice, or two runs in folders of one name with the same settings", found[i].dir.string());
    v.settings = found[i].settings.to_json();
    PlannedRun r;
    r.variant = i;
    r.seed = found[i].settings.seed;
    r.settings = found[i].settings;
    r.dir = "variants/" + folder_safe(v.name) + "/seed-" + std::to_string(r.seed);
    if (!dirs.insert(r.dir).second) fail("--runs {}: its folder name in the study is taken", found[i].dir.string());
    r.trained = fs::absolute(found[i].dir);
    v.runs.push_back({r.seed, r.dir, false, {}});
    s.variants.push_back(std::move(v));
    plan.runs.push_back(std::move(r));
  }
  return plan;
}

namespace {

// The instruction the side-by-side maps embed the held-out queries with: the clustering
// task's when there is one (the demo's maps use the same), else the paper's default.
std::string map_instruction(const std::vector<analysis::Task>& tasks) {
  for (const auto& t : tasks)
    if (t.type == analysis::TaskType::Clustering) return t.instructions.query;
  return analysis::default_instructions(analysis::TaskType::Clustering).query;
}

std::string canonical_path(const fs::path& p) { return fs::weakly_canonical(fs::absolute(p)).string(); }

json done_json(const StudyOptions& o, const PlannedRun& pr, const std::map<std::string, double>& scores, int64_t step) {
  const gen::TrainSettings& settings = pr.settings;
  json sc = json::object();
  for (const auto& [k, v] : scores) sc[k] = v;
  // A compared run (--runs) names its folder; a trained one its data (what --reuse matches).
  return json{{"model", canonical_path(o.model_dir)},
              {"data", pr.trained.empty() ? canonical_path(o.data) : std::string()},
              {"run", pr.trained.empty() ? std::string() : pr.trained.string()},
              {"settings", settings.to_json()},
              {"scores", sc},
              {"step", step}};
}

// The first setting (by its JSON key) in which a run's saved settings differ from
// `settings`, bookkeeping ones (checkpoint cadence, teacher batching) aside; "" if none.
std::string first_difference(const json& saved, const gen::TrainSettings& settings) {
  std::set<std::string> bookkeeping;
  for (const auto& f : gen::kTrainSettingFields)
    if (f.on_resume == gen::OnResume::Free) bookkeeping.insert(f.key);
  const json want = settings.to_json();
  for (auto it = want.begin(); it != want.end(); ++it) {
    if (bookkeeping.count(it.key())) continue;
    auto have = saved.find(it.key());
    if (have == saved.end() || *have != *it) return it.key();
  }
  return "";
}

// A finished run's scores, after checking it was trained with these settings (a study
// rerun into the same folder with another base is refused, not silently mixed).
std::map<std::string, double> read_done(const fs::path& file, const gen::TrainSettings& settings) {
  const json j = io::read_json_file(file);
  io::JsonCheck chk(file.string());
  chk.object(j, "");
  const json* st = chk.object_field(j, "settings", "");
  if (!st) chk.bad("settings", "missing");
  const json want = settings.to_json();
  if (const std::string key = first_difference(*st, settings); !key.empty()) {
    auto it = want.find(key);
    auto have = st->find(key);
    fail("{}: this run was trained with {} = {}, the study asks for {} (another study's folder? choose another "
           "--out, or remove {})",
           file.string(), it.key(), have == st->end() ? "nothing" : have->dump(), it->dump(),
         file.parent_path().string());
  }
  std::map<std::string, double> out;
  if (const json* sc = chk.object_field(j, "scores", ""))
    for (auto it = sc->begin(); it != sc->end(); ++it)
      if (it->is_number()) out[it.key()] = it->get<double>();
  return out;
}

// A finished run in one of the --reuse studies trained on the same model and data with the
// same settings: its folder (variants/NAME/seed-S), or "" when there is none.
fs::path find_reusable(const StudyOptions& o, const gen::TrainSettings& settings) {
  const std::string model = canonical_path(o.model_dir), data = canonical_path(o.data);
  for (const auto& root : o.reuse) {
    if (!fs::is_directory(root / "variants")) continue;
    for (const auto& v : fs::directory_iterator(root / "variants")) {
      if (!v.is_directory()) continue;
      for (const auto& r : fs::directory_iterator(v.path())) {
        const fs::path done = r.path() / "done.json";
        if (!fs::exists(done) || !fs::is_directory(r.path() / "run")) continue;
        const json j = io::read_json_file(done);
        if (j.value("model", "") != model || j.value("data", "") != data) continue;
        if (auto st = j.find("settings"); st != j.end() && st->is_object() && first_difference(*st, settings).empty())
          return r.path();
      }
    }
  }
  return {};
}

// Copies a finished run directory (checkpoints, metrics, teacher cache) into `dst`,
// through a temporary name so a kill leaves no half copy.
void copy_run(const fs::path& src, const fs::path& dst) {
  fs::create_directories(dst.parent_path());
  const fs::path tmp = dst.parent_path() / (".tmp-" + dst.filename().string());
  fs::remove_all(tmp);
  fs::copy(src, tmp, fs::copy_options::recursive);
  fs::rename(tmp, dst);
}

void write_study(const Study& s) {
  io::write_file_atomic(s.dir / "study.json", study_to_json(s).dump(2) + "\n");
}

}  // namespace

Study run_study(const StudyOptions& o, runtime::JobContext& ctx) {
  StudyPlan plan = plan_study(o);
  Study& s = plan.study;
  s.dir = o.out;
  // Everything read before the first step, so bad input stops the study at once.
  const auto tasks = analysis::load_tasks(o.tasks);
  for (const auto& t : tasks)
    s.columns.push_back({t.name, t.name, analysis::main_metric(t.type), "eval", analysis::lower_is_better(analysis::main_metric(t.type))});
  std::vector<demo::WorldExample> heldout;
  if (!o.heldout.empty()) {
    heldout = demo::read_world_examples(o.heldout);
    if (heldout.empty()) fail("{}: no held-out queries (expected JSONL rows with \"question\")", o.heldout.string());
    s.columns.push_back({"decode", "decode", "hit_rate", "probe", false});
    s.columns.push_back({"lens", "lens", "hit_rate", "probe", false});
  }
  if (o.runs.empty() && !fs::exists(o.data)) fail("--data {}: no such file", o.data.string());
  fs::create_directories(o.out);
  io::DirLock lock(o.out, "study");

  auto tok = text::load_tokenizer(o.model_dir);
  const auto device = model::parse_device(o.device);
  const auto dtype = o.dtype.empty() || o.dtype == "auto" ? (device.is_cuda() ? torch::kBFloat16 : torch::kFloat32)
                                                         : model::parse_dtype(o.dtype);
  std::shared_ptr<const model::DecoderLM> lm = model::DecoderLM::load(o.model_dir, device, dtype);
  const std::string instruction = map_instruction(tasks);

  auto run_of = [&](size_t i) -> StudyRun& {
    const auto& pr = plan.runs[i];
    auto& runs = s.variants[pr.variant].runs;
    return *std::find_if(runs.begin(), runs.end(), [&](const StudyRun& r) { return r.seed == pr.seed; });
  };
  // Runs finished by an earlier invocation first, so study.json shows them at once.
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const fs::path done = o.out / plan.runs[i].dir / "done.json";
    if (!fs::exists(done)) continue;
    run_of(i).scores = read_done(done, plan.runs[i].settings);
    run_of(i).done = true;
  }
  summarize(s);
  write_study(s);

  const auto n = static_cast<int64_t>(plan.runs.size());
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const PlannedRun& pr = plan.runs[i];
    StudyRun& sr = run_of(i);
    const std::string label = fmt::format("{} seed {}", s.variants[pr.variant].name, pr.seed);
    ctx.set_part(static_cast<int64_t>(i) + 1, n, label, pr.trained.empty() ? "train" : "probe");
    if (sr.done) {
      ctx.log(fmt::format("{}: done earlier, not trained again", label));
      continue;
    }
    ctx.check_cancel();
    const fs::path dir = o.out / pr.dir;
    const fs::path run_dir = pr.trained.empty() ? dir / "run" : pr.trained;
    int64_t step = 0;
    if (!pr.trained.empty()) {
      step = gen::list_checkpoints(pr.trained).back().first;
    } else {
      if (!fs::exists(dir / "run"))
        if (const fs::path src = find_reusable(o, pr.settings); !src.empty()) {
          copy_run(src / "run", dir / "run");
          ctx.log(fmt::format("{}: the same run is finished in {}: copied, not trained again", label, src.string()));
        }
      TrainRunOptions tr;
      tr.lm = lm;
      tr.tok = tok.get();
      tr.model_dir = o.model_dir;
      tr.data = o.data;
      tr.out = dir / "run";
      tr.settings = pr.settings;
      tr.resume = true;  // a run cut short by an earlier kill continues from its newest checkpoint
      tr.skip_empty = o.skip_empty;
      step = train_run(tr, ctx).step;
    }

    analysis::EvalOptions eo;
    eo.model_dir = o.model_dir;
    eo.adapter = run_dir.string();
    eo.tasks_dir = o.tasks;
    eo.modes = o.modes;
    eo.out_dir = dir / "eval";
    eo.batch_size = o.eval_batch_size;
    eo.device = o.device;
    eo.dtype = o.dtype;
    const auto results = analysis::run_eval(eo, &ctx);
    std::map<std::string, double> scores;
    for (const auto& t : results.tasks)
      if (auto m = t.scores.find("generative"); m != t.scores.end())
        if (auto v = m->second.metrics.find(t.main_metric); v != m->second.metrics.end()) scores[t.name] = v->second;

    if (!heldout.empty()) {
      const auto adapter = gen::load_adapter(gen::resolve_adapter_dir(run_dir), *lm, o.model_dir);
      auto probe = probe_queries(*lm, adapter.adapter, *tok, heldout, ctx);
      write_probe(probe, dir / "probe");
      write_probe_map(*lm, adapter, *tok, heldout, instruction, dir / "probe", ctx);
      scores["decode"] = probe.decode_rate;
      scores["lens"] = probe.lens_rate;
    }
    io::write_file_atomic(dir / "done.json", done_json(o, pr, scores, step).dump(2) + "\n");
    sr.scores = std::move(scores);
    sr.done = true;
    summarize(s);
    write_study(s);
  }
  summarize(s);
  write_study(s);
  io::write_file_atomic(o.out / "table.md", study_table_markdown(s));
  return s;
}

}  // namespace genlens::runs
