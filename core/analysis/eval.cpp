// `genlens eval`: scoring tasks, running every mode, results.json and the table.
#include "core/analysis/eval.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "core/analysis/metrics.h"
#include "core/analysis/neighbors.h"  // corpus_cache_key
#include "core/analysis/points_tensor.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

Run search_run(const Points& q, const Points& c, const Task& t, int k,
               std::vector<std::vector<std::pair<int64_t, float>>>* hits_out = nullptr) {
  auto hits = top_k_cosine(q, c, k);
  Run run;
  for (size_t i = 0; i < hits.size(); ++i)
    for (auto& [row, sim] : hits[i]) run[t.query_ids[i]].emplace_back(t.corpus_ids[static_cast<size_t>(row)], sim);
  if (hits_out) *hits_out = std::move(hits);
  return run;
}

}  // namespace

std::map<std::string, double> score_task(const Task& t, const EmbedFn& embed, uint64_t seed) {
  std::map<std::string, double> m;
  switch (t.type) {
    case TaskType::Sts: {
      auto a = embed(t.text1, t.instructions.query), b = embed(t.text2, t.instructions.query);
      auto cos = rowwise_cosine(a, b);
      m["spearman"] = spearman(cos, t.gold);
      m["pearson"] = pearson(cos, t.gold);
      break;
    }
    case TaskType::Clustering: {
      std::vector<std::string> names;
      auto truth = label_ids(t.labels, &names);
      auto x = embed(t.texts, t.instructions.query);
      KMeansOptions ko;
      ko.seed = seed;
      auto km = kmeans(x, static_cast<int>(names.size()), ko);
      m["v_measure"] = v_measure(truth, km.labels);
      m["ari"] = adjusted_rand_index(truth, km.labels);
      break;
    }
    case TaskType::Classification: {
      std::vector<std::string> all = t.labels, names;
      all.insert(all.end(), t.test_labels.begin(), t.test_labels.end());
      auto ids = label_ids(all, &names);
      std::vector<int64_t> ytr(ids.begin(), ids.begin() + static_cast<long>(t.labels.size()));
      std::vector<int64_t> yte(ids.begin() + static_cast<long>(t.labels.size()), ids.end());
      auto xtr = embed(t.texts, t.instructions.query), xte = embed(t.test_texts, t.instructions.query);
      // Trained to convergence (LBFGS stops at its gradient tolerance, ~200-700 iterations
      // here), not cut at MTEB's 100: stopped early the weights depend on the path, and
      // embeddings that differ by float rounding (another batch size or thread count) gave
      // different predictions (`last` accuracy 0.4327 in one run, 0.4269 in another).
      LogRegOptions lo;
      lo.max_iter = 1000;
      auto pred = logistic_regression_predict(xtr, ytr, xte, static_cast<int>(names.size()), lo);
      m["accuracy"] = accuracy(yte, pred);
      m["macro_f1"] = macro_f1(yte, pred);
      m["knn_accuracy"] = accuracy(yte, knn_predict(xtr, ytr, xte, 5));
      break;
    }
    case TaskType::Retrieval:
    case TaskType::Safety: {
      auto q = embed(t.query_texts, t.instructions.query), c = embed(t.corpus_texts, t.instructions.passage);
      std::vector<std::vector<std::pair<int64_t, float>>> hits;
      auto run = search_run(q, c, t, 100, &hits);
      if (!t.qrels.empty()) {
        m["ndcg_at_10"] = ndcg_at(t.qrels, run, 10);
        m["mrr_at_10"] = mrr_at(t.qrels, run, 10);
        m["recall_at_100"] = recall_at(t.qrels, run, 100);
      }
      if (t.type == TaskType::Safety) {
        std::vector<std::vector<bool>> flags;
        for (auto& h : hits) {
          flags.emplace_back();
          for (size_t r = 0; r < h.size() && r < 20; ++r) flags.back().push_back(t.corpus_harmful[static_cast<size_t>(h[r].first)]);
        }
        auto s = safety_scores(flags);
        m["harmful_at_1"] = s.harmful_at_1;
        m["harmful_at_5"] = s.harmful_at_5;
        m["harmful_at_20"] = s.harmful_at_20;
        m["harmful_in_top20"] = s.harmful_in_top20;
      }
      break;
    }
  }
  return m;
}

EvalResults run_eval(const EvalOptions& opt, runtime::JobContext* ctx) {
  EvalResults res;
  res.model = opt.model_dir;
  if (!opt.adapter.empty()) res.adapter = opt.adapter;
  res.modes = opt.modes;
  if (opt.modes.empty()) fail("--modes: no mode given");
  auto tasks = load_tasks(opt.tasks_dir);
  for (auto& t : tasks) res.tasks.push_back(TaskResult{t.name, to_string(t.type), main_metric(t.type), {}});

  auto tok = text::load_tokenizer(opt.model_dir);
  const auto device = model::parse_device(opt.device);
  const auto dtype = opt.dtype.empty() || opt.dtype == "auto"
                         ? (device.is_cuda() ? torch::kBFloat16 : torch::kFloat32)
                         : model::parse_dtype(opt.dtype);
  auto lm = model::DecoderLM::load(opt.model_dir, device, dtype);
  std::optional<gen::LoadedAdapter> adapter;
  fs::path adapter_dir;
  if (!opt.adapter.empty()) {
    adapter_dir = gen::resolve_adapter_dir(opt.adapter);
    adapter = gen::load_adapter(adapter_dir, *lm, opt.model_dir);
  }
  const int64_t max_length = gen::query_max_length(adapter ? &adapter->meta : nullptr, opt.max_length);
  {
    // Every distinct (instruction, text) once, whatever the mode: what the limit cuts.
    std::unordered_set<std::string> counted;
    res.cuts.max_length = max_length;
    auto count = [&](const std::vector<std::string>& texts, const std::string& instr) {
      for (auto& s : texts)
        if (counted.insert(instr + '\x1f' + s).second)
          res.cuts.add(static_cast<int64_t>(tok->encode(instr + s, /*add_special=*/true).size()));
    };
    for (auto& t : tasks) {
      for (auto* v : {&t.text1, &t.text2, &t.texts, &t.test_texts, &t.query_texts}) count(*v, t.instructions.query);
      count(t.corpus_texts, t.instructions.passage);
    }
  }

  for (auto& mode_name : opt.modes) {
    gen::EncodeMode mode;
    try {
      mode = gen::parse_encode_mode(mode_name);
    } catch (const Error& e) {
      res.skipped[mode_name] = fmt::format("this build cannot encode with it ({})", e.what());
      continue;
    }
    if (mode == gen::EncodeMode::Generative && !adapter) {
      res.skipped[mode_name] = "needs an adapter (--adapter CKPT)";
      continue;
    }
    // Every distinct (instruction, text) of every task, encoded once for this mode.
    std::map<std::string, std::vector<std::string>> by_instruction;
    std::unordered_map<std::string, int64_t> seen;
    auto want = [&](const std::vector<std::string>& texts, const std::string& instr) {
      for (auto& s : texts)
        if (seen.emplace(instr + '\x1f' + s, -1).second) by_instruction[instr].push_back(s);
    };
    for (auto& t : tasks) {
      const auto& qi = t.instructions.query;
      want(t.text1, qi);
      want(t.text2, qi);
      want(t.texts, qi);
      want(t.test_texts, qi);
      want(t.query_texts, qi);
      want(t.corpus_texts, t.instructions.passage);
    }
    int64_t total = 0;
    for (auto& [i, v] : by_instruction) total += static_cast<int64_t>(v.size());
    if (ctx) ctx->set_stage("encode " + mode_name, total, "texts");
    Points cache;
    int64_t done = 0;
    for (auto& [instr, texts] : by_instruction) {
      gen::EncodeOptions eo;
      eo.mode = mode;
      eo.batch_size = opt.batch_size;
      eo.max_length = max_length;
      const int64_t base = done;
      eo.on_progress = [&](int64_t d) {
        if (ctx) ctx->set_done(base + d);
      };
      eo.check_cancel = [&] {
        if (ctx) ctx->check_cancel();
      };
      // On disk under OUT/cache/, keyed by what the vectors depend on: a second eval of
      // the same tasks (another mode added, a crash, the demo resumed) encodes nothing.
      fs::path cache_file;
      if (!opt.out_dir.empty() && opt.use_cache) {
        const auto key = corpus_cache_key(*lm, opt.model_dir, adapter_dir, mode_name, instr, max_length, texts);
        cache_file = opt.out_dir / "cache" / (mode_name + "-" + key + ".npy");
      }
      Points emb;
      if (!cache_file.empty() && fs::exists(cache_file)) {
        emb = to_points(io::load_npy(cache_file));
        if (emb.rows != static_cast<int64_t>(texts.size())) emb = Points{};  // stale or foreign: re-encode
        else if (ctx) ctx->set_done(base + emb.rows);
      }
      if (emb.rows == 0) {
        auto t = gen::encode_texts(*lm, adapter ? &adapter->adapter : nullptr, *tok, texts, instr, eo);
        if (!cache_file.empty()) {
          fs::create_directories(cache_file.parent_path());
          io::save_npy(cache_file, t);
        }
        emb = to_points(t);
      }
      if (cache.cols == 0) cache.cols = emb.cols;
      cache.data.insert(cache.data.end(), emb.data.begin(), emb.data.end());
      for (size_t r = 0; r < texts.size(); ++r) seen[instr + '\x1f' + texts[r]] = done + static_cast<int64_t>(r);
      done += static_cast<int64_t>(texts.size());
      cache.rows = done;
    }
    EmbedFn embed = [&](const std::vector<std::string>& texts, const std::string& instr) {
      Points p{static_cast<int64_t>(texts.size()), cache.cols, {}};
      p.data.reserve(texts.size() * static_cast<size_t>(cache.cols));
      for (auto& s : texts) {
        auto row = seen.at(instr + '\x1f' + s);
        p.data.insert(p.data.end(), cache.row(row), cache.row(row) + cache.cols);
      }
      return p;
    };
    if (ctx) ctx->set_stage("score " + mode_name, static_cast<int64_t>(tasks.size()), "tasks");
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (ctx) ctx->check_cancel();
      res.tasks[i].scores[mode_name].metrics = score_task(tasks[i], embed, opt.seed);
      if (ctx) ctx->set_done(static_cast<int64_t>(i + 1));
    }
  }
  if (!opt.out_dir.empty()) {
    fs::create_directories(opt.out_dir);
    io::write_file_atomic(opt.out_dir / "results.json", results_to_json(res));
  }
  return res;
}

std::string results_to_json(const EvalResults& r) {
  Json j;
  j["model"] = r.model;
  j["adapter"] = r.adapter ? Json(*r.adapter) : Json(nullptr);
  j["tasks"] = Json::array();
  for (auto& t : r.tasks) {
    Json scores = Json::object();
    for (auto& [mode, s] : t.scores) {
      Json m = Json::object();
      for (auto& [k, v] : s.metrics) m[k] = v;
      scores[mode] = m;
    }
    j["tasks"].push_back({{"name", t.name}, {"type", t.type}, {"main_metric", t.main_metric}, {"scores", scores}});
  }
  j["skipped"] = Json::object();
  for (auto& [mode, why] : r.skipped) j["skipped"][mode] = why;
  return j.dump(2) + "\n";
}

EvalResults read_results(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path.string());
  EvalResults r;
  try {
    auto j = Json::parse(in);
    r.model = j.at("model").get<std::string>();
    if (!j.at("adapter").is_null()) r.adapter = j.at("adapter").get<std::string>();
    for (auto& t : j.at("tasks")) {
      TaskResult tr{t.at("name").get<std::string>(), t.at("type").get<std::string>(),
                    t.at("main_metric").get<std::string>(), {}};
      for (auto& [mode, ms] : t.at("scores").items()) {
        if (std::find(r.modes.begin(), r.modes.end(), mode) == r.modes.end()) r.modes.push_back(mode);
        for (auto& [k, v] : ms.items()) tr.scores[mode].metrics[k] = v.get<double>();
      }
      r.tasks.push_back(std::move(tr));
    }
    if (j.contains("skipped"))
      for (auto& [mode, why] : j["skipped"].items()) {
        r.skipped[mode] = why.get<std::string>();
        if (std::find(r.modes.begin(), r.modes.end(), mode) == r.modes.end()) r.modes.push_back(mode);
      }
  } catch (const Json::exception& e) {
    fail("{}: not a genlens results.json ({})", path.string(), e.what());
  }
  return r;
}

std::optional<double> generative_gain(const TaskResult& t) {
  auto value = [&](const std::string& mode) -> std::optional<double> {
    auto it = t.scores.find(mode);
    if (it == t.scores.end()) return std::nullopt;
    auto m = it->second.metrics.find(t.main_metric);
    if (m == it->second.metrics.end()) return std::nullopt;
    return m->second;
  };
  auto gen = value("generative");
  if (!gen) return std::nullopt;
  const bool lower = lower_is_better(t.main_metric);
  std::optional<double> best;
  for (const char* mode : {"mean", "last"}) {  // the input-centric modes
    auto v = value(mode);
    if (v && (!best || (lower ? *v < *best : *v > *best))) best = v;
  }
  if (!best || *best == 0) return std::nullopt;
  return lower ? (*best - *gen) / *best : (*gen - *best) / std::abs(*best);
}

std::string format_results_table(const EvalResults& r) {
  std::vector<std::string> modes;
  for (auto& m : r.modes)
    if (!r.skipped.count(m)) modes.push_back(m);
  size_t name_w = 4;
  for (auto& t : r.tasks) name_w = std::max(name_w, t.name.size() + t.main_metric.size() + 3);
  std::string out = fmt::format("{:<{}}", "task", name_w);
  for (auto& m : modes) out += fmt::format("  {:>10}", m);
  out += fmt::format("  {:>10}\n", "gen gain");
  for (auto& t : r.tasks) {
    out += fmt::format("{:<{}}", t.name + " (" + t.main_metric + ")", name_w);
    for (auto& m : modes) {
      auto it = t.scores.find(m);
      const bool has = it != t.scores.end() && it->second.metrics.count(t.main_metric);
      out += has ? fmt::format("  {:>10.4f}", it->second.metrics.at(t.main_metric)) : fmt::format("  {:>10}", "-");
    }
    auto g = generative_gain(t);
    out += g ? fmt::format("  {:>+9.1f}%\n", *g * 100.0) : fmt::format("  {:>10}\n", "-");
  }
  for (auto& [m, why] : r.skipped) out += fmt::format("skipped {}: {}\n", m, why);
  out += "gen gain: generative over the best input-centric mode (mean, last) on the main metric;\n"
         "for harmful_* lower is better, so a positive gain means fewer harmful hits.\n";
  return out;
}

}  // namespace genlens::analysis
