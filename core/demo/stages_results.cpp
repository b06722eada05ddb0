// The demo pipeline's reading stages (demo_run.h): eval, maps, the lens, and the report
// that gathers every stage's result.
#include "core/demo/demo_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "core/analysis/decode.h"
#include "core/analysis/eval.h"
#include "core/analysis/lens.h"
#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/data/demo_world.h"
#include "core/data/responses.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/gen/trainer.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/model/checkpoint.h"
#include "core/model/generate.h"
#include "core/model/pretrain.h"
#include "core/runs/probe.h"
#include "core/teach/teacher.h"
#include "core/text/chat_template.h"
#include "core/text/spm.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::demo::stages {

// 7. eval: the held-out tasks in every mode, exactly `genlens eval --model model
//    --adapter run --tasks tasks --out eval`.
json evaluate_tasks(DemoRun& run) {
  const Workspace& ws = run.ws;
  analysis::EvalOptions eo;
  eo.model_dir = ws.model().string();
  eo.adapter = run.adapter.dir.string();
  eo.tasks_dir = ws.tasks();
  eo.modes = kModes;
  eo.out_dir = ws.eval();  // batch size and query length: the command's defaults, so the numbers are its numbers
  auto res = analysis::run_eval(eo, &run.ctx);
  json gains = json::object();
  for (auto& t : res.tasks)
    if (auto g = analysis::generative_gain(t)) gains[t.name] = *g;
  return json{{"results", (ws.eval() / "results.json").string()}, {"gain", gains}};
}

// Encodes texts in one mode -> Points [N, D] (the maps use the held-out queries).
analysis::Points encode(DemoRun& run, const std::vector<std::string>& texts, const std::string& instruction,
                        const std::string& mode) {
  gen::EncodeOptions eo;
  eo.mode = gen::parse_encode_mode(mode);
  eo.batch_size = 64;
  eo.check_cancel = [&] { run.ctx.check_cancel(); };
  const gen::Adapter* adapter = eo.mode == gen::EncodeMode::Generative ? &run.adapter.adapter : nullptr;
  return analysis::to_points(gen::encode_texts(*run.lm, adapter, *run.tok, texts, instruction, eo));
}

// 8. maps: the held-out queries embedded in each mode (with the clustering task's
//    instruction), UMAP and PCA to 2-D, one self-describing JSON per mode for the studio
//    plus the .npy arrays `genlens encode` / `genlens project` write.
json build_maps(DemoRun& run) {
  fs::create_directories(run.ws.maps());
  std::vector<std::string> texts, labels, categories, ids;
  for (auto& e : run.heldout) {
    texts.push_back(e.question);
    labels.push_back(e.label);
    categories.push_back(e.category);
    ids.push_back(e.id);
  }
  const std::string instruction = run.world.instructions.clustering;
  run.ctx.set_stage("maps", static_cast<int64_t>(kModes.size()), "modes");
  for (auto& mode : kModes) {
    auto x = encode(run, texts, instruction, mode);
    auto pc = analysis::pca(x, {});
    analysis::UmapOptions uo;
    uo.n_neighbors = std::min<int>(15, static_cast<int>(x.rows) - 1);
    uo.seed = 0;
    auto um = analysis::umap_fit(x, uo);
    auto t2 = [](const analysis::Points& p) {
      return torch::from_blob(const_cast<float*>(p.data.data()), {p.rows, p.cols}, torch::kFloat32).clone();
    };
    // emb-MODE.npy is what the studio's map reads instead of encoding the corpus again.
    io::save_npy(run.ws.maps() / ("emb-" + mode + ".npy"), t2(x));
    io::save_npy(run.ws.maps() / ("umap-" + mode + ".npy"), t2(um.embedding));
    io::save_npy(run.ws.maps() / ("pca-" + mode + ".npy"), t2(pc.coords));
    auto xy = [](const analysis::Points& p) {
      json a = json::array();
      for (int64_t r = 0; r < p.rows; ++r) a.push_back({p.at(r, 0), p.at(r, 1)});
      return a;
    };
    nlohmann::ordered_json m{{"mode", mode},
                             {"instruction", instruction},
                             {"n", x.rows},
                             {"dim", x.cols},
                             {"embeddings", "emb-" + mode + ".npy"},
                             {"umap", xy(um.embedding)},
                             {"pca", xy(pc.coords)},
                             {"pca_explained_variance_ratio", pc.explained_variance_ratio},
                             {"ids", ids},
                             {"labels", labels},
                             {"categories", categories},
                             {"texts", texts}};
    io::write_file_atomic(run.ws.maps() / (mode + ".json"), m.dump() + "\n");
    run.ctx.advance();
  }
  io::write_file_atomic_with(run.ws.maps() / "points.jsonl", [&](const fs::path& tmp) {
    io::JsonlWriter w(tmp, io::JsonlWriter::Mode::Truncate);
    for (size_t i = 0; i < texts.size(); ++i)
      w.write(nlohmann::ordered_json{{"id", ids[i]}, {"text", texts[i]}, {"label", labels[i]}, {"category", categories[i]}});
  });
  return json{{"points", texts.size()}, {"modes", kModes}, {"methods", {"umap", "pca"}}};
}

// 9. lens: the logit lens on held-out queries, the compression tokens at the last layer
//    (top-10 per position, as the reference reads them), and greedy decoding from the
//    soft prompts alone (analysis/lens.h, analysis/decode.h).
json read_lens(DemoRun& run) {
  fs::create_directories(run.ws.lens());
  auto probe = runs::probe_queries(*run.lm, run.adapter.adapter, *run.tok, run.heldout, run.ctx, "lens");
  const auto& lens_results = probe.lens;
  std::map<std::string, std::pair<int, int>> lens_cat, dec_cat;
  std::vector<nlohmann::ordered_json> rows;
  analysis::LensOptions lo;  // the summary's settings (probe_queries read the cells with top-10 at the last layer)
  lo.top_k = 10;
  lo.layers = "-1";
  lo.input_lens_top_k = 0;
  for (const auto& r : probe.rows) {
    lens_cat[r.category].first += r.lens_hit, lens_cat[r.category].second++;
    dec_cat[r.category].first += r.decode_hit, dec_cat[r.category].second++;
    rows.push_back({{"id", r.id},
                    {"question", r.question},
                    {"category", r.category},
                    {"signature", r.signature},
                    {"lens_top10", r.lens_words},
                    {"lens_hit", r.lens_hit},
                    {"decoded", r.decoded},
                    {"decode_right_kind", r.decode_hit}});
  }
  io::write_file_atomic_with(run.ws.lens() / "samples.jsonl", [&](const fs::path& tmp) {
    io::JsonlWriter w(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& r : rows) w.write(r);
  });
  // The paper's view: words that dominate the compression tokens over all held-out
  // queries, and per category.
  auto summary = [&](const std::vector<analysis::LensResult>& rs) {
    json a = json::array();
    for (auto& w : analysis::summarize_lens(rs, *run.tok, lo)) a.push_back(w.text);
    return a;
  };
  json by_cat = json::object();
  for (auto& c : run.world.categories) {
    std::vector<analysis::LensResult> rs;
    for (size_t k = 0; k < run.heldout.size(); ++k)
      if (run.heldout[k].category == c) rs.push_back(lens_results[k]);
    if (!rs.empty()) by_cat[c] = summary(rs);
  }
  auto rates = [](auto& m) {
    json j = json::object();
    for (auto& [c, v] : m) j[c] = double(v.first) / v.second;
    return j;
  };
  // A few examples for the printed report: the first held-out query of the first
  // category, of a middle one, and of the first harmful one.
  json examples = json::array();
  std::set<std::string> shown;
  auto show = [&](auto pred) {
    for (size_t k = 0; k < run.heldout.size(); ++k)
      if (pred(run.heldout[k]) && shown.insert(run.heldout[k].category).second) {
        examples.push_back(json::parse(rows[k].dump()));
        return;
      }
  };
  if (!run.world.categories.empty()) {
    show([&](const WorldExample& e) { return e.category == run.world.categories.front(); });
    show([&](const WorldExample& e) { return e.category == run.world.categories[run.world.categories.size() / 2]; });
  }
  show([&](const WorldExample& e) { return e.harmful; });
  return json{{"n", run.heldout.size()},
              {"examples", examples},
              {"lens_hit_rate", probe.lens_rate},
              {"decode_right_kind_rate", probe.decode_rate},
              {"lens_per_category", rates(lens_cat)},
              {"decode_per_category", rates(dec_cat)},
              {"dominant_words", by_cat}};
}

// The report: everything a person (or CI) needs, in one file.
json write_report(DemoRun& run) {
  const Workspace& ws = run.ws;
  json& stages = run.stages;
  json world_report = stages["world"].is_object() ? stages["world"] : json::object();
  world_report["shortfalls"] = run.world.shortfalls;  // the world as it is now (a cached stage may predate the list)
  json report{{"workspace", fs::absolute(ws.root).string()},
              {"world", world_report},
              {"variant", run.identity["variant"]},
              {"world_file", run.identity["world_file"]},
              {"tokenizer", stages["tokenizer"]},
              {"lm", stages["lm"]},
              {"lm_check", stages["lm-check"]},
              {"responses", stages["responses"]},
              {"adapter", stages["adapter"]},
              {"eval", io::read_json_file(ws.eval() / "results.json")},
              {"lens", stages["lens"]}};
  // Seconds per stage in pipeline order (a stage cached from an earlier run keeps the
  // time it took then), and where the time went.
  nlohmann::ordered_json timings;
  double total = 0;
  for (auto& name : demo_stage_names()) {
    const double sec = stages.contains(name) ? stages[name].value("seconds", 0.0) : 0.0;
    timings[name] = sec;
    total += sec;
  }
  timings["total"] = total;
  report["timings"] = timings;
  report["maps"] = stages["maps"];
  report["files"] = {{"model", ws.model().string()},       {"responses", ws.responses().string()},
                     {"adapter", run.adapter.dir.string()},    {"tasks", ws.tasks().string()},
                     {"eval", (ws.eval() / "results.json").string()}, {"maps", ws.maps().string()},
                     {"lens", (ws.lens() / "samples.jsonl").string()}, {"report", ws.report().string()}};
  io::write_file_atomic(ws.report(), report.dump(2) + "\n");
  return report;
}


}  // namespace genlens::demo::stages
