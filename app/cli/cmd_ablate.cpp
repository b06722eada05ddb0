// `genlens ablate`: remove chosen thought/compression positions at chosen layers
// (zero, a corpus mean, or another text's states; core/analysis/ablate.h) and see what
// the generative embedding loses: the cosine to the original, the decoded texts, the
// nearest corpus texts, and how much each position matters alone.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <random>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/ablate.h"
#include "core/analysis/lens.h"
#include "core/analysis/neighbors.h"
#include "core/analysis/result_json.h"
#include "core/data/corpus.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, query, kind = "zero", positions = "special", layers = "all", corpus, field = "text",
                                     instruction;
  uint64_t seed = 0;
  int64_t batch_size = 32, max_length = 0, top_k = 5, decode_tokens = 32;
  bool json = false, quiet = false, no_importance = false, no_cache = false;
  DeviceArgs dev;
};

nlohmann::ordered_json result_json(const analysis::AblateResult& r, const std::vector<analysis::NeighborList>& nb) {
  nlohmann::ordered_json j;
  j["kind"] = r.kind;
  j["replacement"] = r.replacement;
  j["layers"] = r.layers;
  j["positions"] = nlohmann::ordered_json::array();
  for (const auto& p : r.positions) j["positions"].push_back(p.label);
  j["cosine"] = r.cosine;
  if (!r.importance.empty()) j["importance"] = r.importance;
  j["decoded"] = r.decoded;
  j["decoded_ablated"] = r.decoded_ablated;
  if (nb.size() == 2) {
    j["neighbors"] = analysis::hits_json(nb[0].hits);
    j["neighbors_ablated"] = analysis::hits_json(nb[1].hits);
  }
  j["forwards"] = r.forwards;
  return j;
}

std::string layers_text(const std::vector<int64_t>& layers) {
  bool run = layers.size() > 2;
  for (size_t i = 1; i < layers.size(); ++i) run = run && layers[i] == layers[i - 1] + 1;
  if (run) return fmt::format("layers {}..{}", layers.front(), layers.back());
  return fmt::format("layer{} {}", layers.size() == 1 ? "" : "s", fmt::join(layers, ","));
}

void print_table(const analysis::AblateResult& r, const std::vector<analysis::NeighborList>& nb) {
  std::string pos;
  for (const auto& p : r.positions) pos += (pos.empty() ? "" : " ") + p.label;
  fmt::print("ablated ({}): {}\nat the stream entering {} (0 = input embeddings)\nreplacement: {}\n\n", r.kind, pos,
             layers_text(r.layers), r.replacement);
  fmt::print("cosine to the original embedding: {:.4f}\n\n", r.cosine);
  fmt::print("decoded  original: {}\n         ablated:  {}\n", one_line(r.decoded), one_line(r.decoded_ablated));
  if (r.importance.size() > 1) {
    fmt::print("\nimportance of each position alone (1 - cosine to the original, ablated at the same layers):\n");
    double top = 0;
    for (double v : r.importance) top = std::max(top, v);
    for (size_t i = 0; i < r.importance.size(); ++i) {
      const int width = top > 0 ? static_cast<int>(std::lround(30 * r.importance[i] / top)) : 0;
      std::string bar;
      for (int k = 0; k < width; ++k) bar += "█";
      fmt::print("  {:<4} {:>7.4f}  {}\n", r.positions[i].label, r.importance[i], bar);
    }
  }
  if (nb.size() == 2) {
    const char* what[2] = {"original", "ablated"};
    for (int k = 0; k < 2; ++k) {
      fmt::print("\nnearest corpus texts, {} (generative space{}):\n", what[k],
                 nb[k].from_cache ? ", corpus embeddings from the cache" : "");
      for (const auto& h : nb[k].hits)
        fmt::print("  {:>6.3f}  row {:<5}  {}\n", h.similarity, h.index, fit(one_line(h.text), 80));
    }
  }
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint or training run directory")->required();
  sub.add_option("--query", o->query, "The query whose embedding is ablated")->required();
  sub.add_option("--kind", o->kind,
                 "zero: zero vectors; mean: the corpus's mean state at that layer and position (needs --corpus; "
                 "cached next to it); resample: the states of one other corpus text, picked by --seed")
      ->check(CLI::IsMember({"zero", "mean", "resample"}))
      ->capture_default_str();
  sub.add_option("--positions", o->positions,
                 "Special positions ablated: labels (T0,C3), ranges (C0:C4), thought, compression or special")
      ->capture_default_str();
  sub.add_option("--layers", o->layers,
                 "Residual-stream layers where they are replaced: all, a:b, a,b,c (0 = input embeddings, L = the "
                 "last layer's output; negative from the end)")
      ->capture_default_str();
  sub.add_option("--corpus", o->corpus,
                 "Texts JSONL: the mean or resample source, and the nearest corpus texts before and after");
  sub.add_option("--field", o->field, "JSONL field holding the corpus text")->capture_default_str();
  sub.add_option("--seed", o->seed, "resample: picks the corpus text")->capture_default_str();
  sub.add_option("--top-k", o->top_k, "Nearest corpus texts shown (with --corpus)")->check(kAtLeastOne)->capture_default_str();
  sub.add_flag("--no-importance", o->no_importance, "Skip ablating each position alone");
  sub.add_flag("--no-cache", o->no_cache, "Recompute the corpus's mean states and embeddings");
  sub.add_option("--batch-size", o->batch_size, "Ablated rows per forward")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--max-new-tokens", o->decode_tokens, "Most tokens per decoded text")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--instruction", o->instruction, "Text put before the query and the corpus texts (default: the "
                                                    "adapter's training instruction)");
  add_max_length_option(sub, o->max_length);
  sub.add_flag("--json", o->json,
               "Print JSON: {\"kind\", \"replacement\", \"layers\", \"positions\", \"cosine\", \"importance\", "
               "\"decoded\", \"decoded_ablated\", \"neighbors\", \"neighbors_ablated\", \"forwards\"}");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet) || o->json;
    const auto kind = analysis::parse_ablation_kind(o->kind);
    if (kind != analysis::AblationKind::Zero && o->corpus.empty())
      fail("--kind {}: needs --corpus (the texts whose states stand in)", o->kind);
    std::vector<std::string> corpus;
    if (!o->corpus.empty()) corpus = data::read_texts(o->corpus, o->field);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    const auto& ad = adapter->adapter;
    analysis::AblateOptions ao;
    ao.instruction = sub.count("--instruction") ? o->instruction : adapter->meta.instruction;
    ao.max_length = query_max_length_of(sub, o->max_length, adapter);
    ao.kind = kind;
    ao.positions = o->positions;
    ao.layers = o->layers;
    ao.importance = !o->no_importance;
    ao.batch_size = o->batch_size;
    ao.decode_tokens = o->decode_tokens;
    // The specs are checked before any corpus work starts.
    analysis::parse_special_positions(ao.positions, ad.shape().n_thought, ad.shape().n_compression);
    analysis::parse_layer_range(ao.layers, lm->config().num_hidden_layers, "--layers");
    warn_cuts("ablate", gen::count_query_cuts(*tok, {o->query}, ao.instruction, ao.max_length),
              quiet_requested(sub, o->quiet), "query");

    analysis::AblateResult r;
    std::vector<analysis::NeighborList> nb;
    runtime::Job job("ablate", [&](runtime::JobContext& ctx) {
      torch::Tensor rep;
      std::string note;
      if (kind == analysis::AblationKind::Mean) {
        rep = analysis::cached_mean_special_states(*lm, ad, *tok, o->model, adapter->dir, corpus, o->corpus,
                                                   ao.instruction, ao.max_length, !o->no_cache, &note, &ctx);
      } else if (kind == analysis::AblationKind::Resample) {
        std::mt19937_64 rng(o->seed);
        size_t row = static_cast<size_t>(rng() % corpus.size());
        for (size_t k = 0; k < corpus.size() && corpus[row] == o->query; ++k) row = (row + 1) % corpus.size();
        if (corpus[row] == o->query) fail("--kind resample: every text of {} is the query itself", o->corpus);
        rep = analysis::special_states(*lm, ad, *tok, corpus[row], ao.instruction, ao.max_length);
        note = fmt::format("the states of corpus row {} (--seed {}): \"{}\"", row, o->seed, fit(one_line(corpus[row]), 60));
      }
      r = analysis::ablate(*lm, ad, *tok, o->query, ao, rep, note, &ctx);
      if (!corpus.empty()) {
        analysis::NeighborsOptions no;
        no.top_k = o->top_k;
        no.instruction = no.corpus_instruction = ao.instruction;
        no.max_length = ao.max_length;
        no.use_cache = !o->no_cache;
        for (const auto* e : {&r.embedding, &r.embedding_ablated})
          nb.push_back(analysis::neighbors_of_embedding(ctx, *lm, &ad, *tok, o->model, adapter->dir, corpus, o->corpus,
                                                        *e, "generative", no));
      }
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    if (o->json) fmt::print("{}\n", result_json(r, nb).dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    else print_table(r, nb);
    return kOk;
  };
}

RegisterCommand reg({"ablate",
                     "Ablation: remove thought/compression positions at chosen layers and see what the embedding loses",
                     setup, 53});

}  // namespace
}  // namespace genlens::cli
