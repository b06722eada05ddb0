// `genlens latent-index` builds a latent-lens index from a corpus (resumable Job);
// `genlens latent-lens` queries it with the special-token states of a query: which
// corpus tokens, at which layers, in which contexts, have the nearest hidden states.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/latent_lens.h"
#include "core/analysis/lens.h"
#include "core/analysis/result_json.h"
#include "core/dist/group.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct IndexOpts {
  std::string model, corpus, out, layers;
  analysis::LatentIndexSpec spec;
  bool no_hnsw = false, json = false, quiet = false;
  DeviceArgs dev;
};

RunFn setup_index(CLI::App& sub) {
  auto o = std::make_shared<IndexOpts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--corpus", o->corpus, "Corpus JSONL (e.g. the training responses)")->required();
  sub.add_option("--out", o->out, "Index directory (rerun the same command to resume a stopped build)")->required();
  sub.add_option("--field", o->spec.field,
                 "Text field (the default falls back to \"text\", then \"question\"; a named field must be in every row)")
      ->capture_default_str();
  sub.add_option("--layers", o->layers,
                 "LLM layers to index: a:b or a,b,c (default: 1,2,4,8,16,24,L-2,L-1 where they exist)");
  sub.add_option("--max-per-token", o->spec.max_per_token, "Most contexts per token id")->capture_default_str();
  sub.add_option("--max-tokens-per-row", o->spec.max_tokens_per_row, "Longer rows are cut")->capture_default_str();
  sub.add_option("--max-rows", o->spec.max_rows, "Read at most this many rows (0 = all)")->capture_default_str();
  sub.add_option("--batch-size", o->spec.batch_size, "Rows per forward pass")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--context-chars", o->spec.context_chars, "Bytes of context kept before each token")
      ->capture_default_str();
  sub.add_option("--shard-entries", o->spec.shard_entries, "Entries per shard file (memory bound of the build)")
      ->capture_default_str();
  sub.add_flag("--no-hnsw", o->no_hnsw, "Skip the approximate (hnswlib) index");
  sub.add_option("--hnsw-m", o->spec.hnsw_m, "hnswlib M (links per node)")->capture_default_str();
  sub.add_option("--hnsw-ef-construction", o->spec.hnsw_ef_construction, "hnswlib ef_construction")
      ->capture_default_str();
  sub.add_flag("--json", o->json, "Print the index description as JSON");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    o->spec.corpus = o->corpus;
    o->spec.out = o->out;
    o->spec.hnsw = !o->no_hnsw;
    // Under a multi-process launch each rank indexes its part of the rows into
    // OUT/part-R (resumable on its own), then rank 0 merges the parts into OUT: the index
    // one process would have built. An index already in OUT is rank 0's to finish.
    dist::Group* group = dist::process_group(o->dev.resolve_device());
    const bool root = !group || group->is_root();
    const bool quiet = quiet_requested(sub, o->quiet) || o->json || !root;
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    if (!o->layers.empty()) o->spec.layers = analysis::parse_layer_range(o->layers, lm->config().num_hidden_layers);
    const std::filesystem::path out(o->out);
    auto part_dir = [&](int r) { return out / fmt::format("part-{}", r); };
    const bool sharded = group && !std::filesystem::exists(out / "index.json");
    analysis::LatentIndexInfo info;
    int rc = kOk;
    if (sharded) {
      auto spec = o->spec;
      spec.out = part_dir(group->rank());
      spec.part = group->rank();
      spec.parts = group->size();
      spec.hnsw = false;
      runtime::Job part("latent-index", [&](runtime::JobContext& ctx) {
        analysis::build_latent_index(ctx, *lm, *tok, o->model, spec);
      });
      rc = run_job_cli(part, quiet);
      // Every rank's verdict, so none waits on a rank that failed.
      auto failed = torch::tensor({rc == kOk ? 0.0f : 1.0f});
      group->barrier_long("latent-index parts");
      group->all_reduce_max(failed, "latent-index part results");
      if (rc != kOk) return rc;
      if (failed.item<float>() > 0) fail("latent-index: another rank failed to build its part (see its output)");
      if (!root) return kOk;
      std::vector<std::filesystem::path> parts;
      for (int r = 0; r < group->size(); ++r) parts.push_back(part_dir(r));
      runtime::Job merge("latent-index", [&](runtime::JobContext& ctx) {
        info = analysis::merge_latent_index_parts(ctx, o->spec, parts);
      });
      rc = run_job_cli(merge, quiet);
    } else {
      if (!root) return kOk;
      runtime::Job job("latent-index", [&](runtime::JobContext& ctx) {
        info = analysis::build_latent_index(ctx, *lm, *tok, o->model, o->spec);
      });
      rc = run_job_cli(job, quiet);
      if (rc == kOk) {  // a merge that stopped before its hnsw.bin: the parts are done with
        std::error_code ec;
        for (int r = 0; group && r < group->size(); ++r) std::filesystem::remove_all(part_dir(r), ec);
      }
    }
    if (rc != kOk) return rc;
    if (o->json) {
      fmt::print("{}\n", analysis::to_json(info).dump(1));
      return kOk;
    }
    fmt::print("{}: {} entries from {} rows, layers {}, hidden {}{}\n", info.dir, info.n_entries, info.n_rows,
               fmt::join(info.layers, ","), info.hidden, info.has_hnsw ? ", with hnsw.bin" : "");
    return kOk;
  };
}

struct LensOpts {
  std::string model, adapter, index, query, search = "auto";
  analysis::LatentLensOptions lens;
  bool json = false, quiet = false;
  DeviceArgs dev;
};

RunFn setup_lens(CLI::App& sub) {
  auto o = std::make_shared<LensOpts>();
  add_model_option(sub, "--model", o->model, "Base model directory (the one the index was built from)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter: query with its thought/compression states (else the query's tokens)");
  sub.add_option("--index", o->index, "Index directory from `genlens latent-index`")->required();
  sub.add_option("--query", o->query, "Query text")->required();
  sub.add_option("--instruction", o->lens.instruction, "Text put before the query");
  sub.add_option("--encoder-layer", o->lens.encoder_layer, "Layer of the query's states (-1 = last)")
      ->capture_default_str();
  sub.add_option("--index-layer", o->lens.index_layer, "Search only this index layer (-1 = all)")->capture_default_str();
  sub.add_option("--top-k", o->lens.top_k, "Hits per position")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--search", o->search, "auto (hnsw for >= 100k entries when built), exact or hnsw")
      ->capture_default_str();
  sub.add_option("--ef", o->lens.ef, "hnsw search breadth")->capture_default_str();
  sub.add_flag("--compression-only", o->lens.compression_only, "Skip the thought tokens");
  add_max_length_option(sub, o->lens.max_length);
  sub.add_flag("--json", o->json, "Print JSON");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet) || o->json;
    o->lens.search = analysis::parse_search_kind(o->search);
    auto index = analysis::LatentIndex::open(o->index);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    o->lens.max_length = query_max_length_of(sub, o->lens.max_length, adapter);
    warn_cuts("latent-lens", gen::count_query_cuts(*tok, {o->query}, o->lens.instruction, o->lens.max_length),
              quiet_requested(sub, o->quiet), "query");
    analysis::LatentLensResult res;
    runtime::Job job("latent-lens", [&](runtime::JobContext& ctx) {
      ctx.set_stage("search", 1, "queries");
      res = analysis::latent_lens(*lm, adapter ? &adapter->adapter : nullptr, *tok, *index, o->query, o->lens);
      ctx.set_done(1);
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    if (o->json) {
      fmt::print("{}\n", analysis::to_json(res).dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
      return kOk;
    }
    fmt::print("query: {}\nencoder layer {}, index layers {}, {} search over {} entries\n", one_line(res.query),
               res.encoder_layer, res.index_layer < 0 ? std::string("all") : std::to_string(res.index_layer), res.search,
               index->size());
    for (const auto& p : res.positions) {
      fmt::print("\n{} ({})\n", p.position.label, analysis::to_string(p.position.kind));
      for (const auto& h : p.hits)
        fmt::print("  {:.3f}  L{:<3} {}  {}\n", h.similarity, h.layer, pad(h.token_text, 14), one_line(h.context));
    }
    return kOk;
  };
}

RegisterCommand reg_index({"latent-index", "Build a latent-lens index: per-token hidden states of a corpus", setup_index,
                           52, /*distributed=*/true});
RegisterCommand reg_lens({"latent-lens", "Nearest corpus tokens (by hidden state) of a query's special tokens",
                          setup_lens, 53});

}  // namespace
}  // namespace genlens::cli
