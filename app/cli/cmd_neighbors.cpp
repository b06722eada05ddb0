// `genlens neighbors`: one query's nearest corpus texts in several embedding spaces side
// by side (generative, mean, last, hyde). Corpus embeddings are cached on disk, so a
// second call only encodes the query.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/neighbors.h"
#include "core/analysis/result_json.h"
#include "core/data/responses.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, corpus, query, modes, field = "text", cache_dir;
  analysis::NeighborsOptions n;
  bool no_cache = false, json = false, quiet = false;
  DeviceArgs dev;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint or run directory (needed for mode generative)");
  sub.add_option("--corpus", o->corpus, "Texts JSONL: a \"text\" (or \"question\") field per line")->required();
  sub.add_option("--query", o->query, "Query text")->required();
  sub.add_option("--modes", o->modes,
                 "Comma-separated spaces: generative, mean, last, hyde (default: generative,mean,last with --adapter, "
                 "else mean,last)");
  sub.add_option("--top-k", o->n.top_k, "Neighbours per mode")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--instruction", o->n.instruction, "Text put before the query");
  sub.add_option("--corpus-instruction", o->n.corpus_instruction, "Text put before every corpus text");
  sub.add_option("--field", o->field, "JSONL field holding the text")->capture_default_str();
  sub.add_option("--max-length", o->n.max_length, "Most text tokens")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--batch-size", o->n.batch_size, "Texts per batch")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--cache-dir", o->cache_dir, "Where corpus embeddings are cached (default: CORPUS.genlens-cache/)");
  sub.add_flag("--no-cache", o->no_cache, "Encode the corpus again and write no cache");
  sub.add_flag("--json", o->json, "Print JSON");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet) || o->json;
    o->n.modes.clear();
    std::string cur;
    for (char c : (o->modes.empty() ? std::string(o->adapter.empty() ? "mean,last" : "generative,mean,last") : o->modes) + ",") {
      if (c == ',') {
        if (!cur.empty()) o->n.modes.push_back(cur);
        cur.clear();
      } else if (c != ' ') {
        cur.push_back(c);
      }
    }
    o->n.cache_dir = o->cache_dir;
    o->n.use_cache = !o->no_cache;
    auto corpus = data::read_texts(o->corpus, o->field);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    analysis::NeighborsResult res;
    runtime::Job job("neighbors", [&](runtime::JobContext& ctx) {
      res = analysis::find_neighbors(ctx, *lm, adapter ? &adapter->adapter : nullptr, *tok, o->model,
                                     adapter ? adapter->dir : std::filesystem::path(), corpus, o->corpus, o->query,
                                     o->n);
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    if (o->json) {
      fmt::print("{}\n", analysis::to_json(res).dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
      return kOk;
    }
    fmt::print("query: {}\n", one_line(res.query));
    // Side by side: one column per mode.
    const size_t w = std::max<size_t>(24, 100 / std::max<size_t>(1, res.per_mode.size()));
    std::string head = "   ";
    for (const auto& m : res.per_mode) head += " " + pad(m.mode + (m.from_cache ? " (cached corpus)" : ""), w);
    fmt::print("{}\n", head);
    for (int64_t r = 0; r < o->n.top_k; ++r) {
      std::string line = pad_left(std::to_string(r + 1), 3);
      bool any = false;
      for (const auto& m : res.per_mode) {
        std::string cell;
        if (r < static_cast<int64_t>(m.hits.size())) {
          const auto& h = m.hits[static_cast<size_t>(r)];
          cell = fmt::format("{:.3f} {}", h.similarity, one_line(h.text));
          any = true;
        }
        line += " " + pad(cell, w);
      }
      if (any) fmt::print("{}\n", line);
    }
    return kOk;
  };
}

RegisterCommand reg({"neighbors", "A query's nearest corpus texts in each embedding space, side by side", setup, 54});

}  // namespace
}  // namespace genlens::cli
