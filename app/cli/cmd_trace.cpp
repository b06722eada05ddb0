// `genlens trace`: causal tracing of a generative embedding (core/analysis/trace.h). One
// residual-stream cell (layer, position) at a time is patched from a source run into a
// base run, and the embedding's move toward the source's is measured: a layers x
// positions heatmap, the cells that carry most of it, and the texts decoded at the base,
// the source and the strongest single patch.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/list_arg.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/lens.h"
#include "core/analysis/neighbors.h"
#include "core/data/corpus.h"
#include "core/analysis/trace.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "core/util/utf8.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, query, contrast, noise_words, instruction, layers = "all";
  std::string corpus, field = "text", label_field = "label";
  double noise_scale = 3.0;
  uint64_t seed = 0;
  int64_t batch_size = 32, max_length = 0, top = 5;
  bool json = false, quiet = false, no_input = false;
  DeviceArgs dev;
};

// The nearest corpus text of the base, the source and the strongest patch (with --corpus):
// its row, similarity, text and label.
struct Nearest {
  analysis::Neighbor hit;
  std::string label;
};
using NearestSet = std::vector<Nearest>;  // base, source, strongest (empty without --corpus)

nlohmann::ordered_json nearest_json(const Nearest& n) {
  return {{"index", n.hit.index}, {"similarity", n.hit.similarity}, {"label", n.label}, {"text", n.hit.text}};
}

nlohmann::ordered_json result_json(const analysis::TraceResult& r, const NearestSet& nearest) {
  nlohmann::ordered_json j;
  j["mode"] = r.mode;
  j["layers"] = r.layers;
  j["positions"] = nlohmann::ordered_json::array();
  for (const auto& p : r.positions) j["positions"].push_back(p.label);
  j["kinds"] = nlohmann::ordered_json::array();
  for (const auto& p : r.positions) j["kinds"].push_back(analysis::to_string(p.kind));
  j["effect"] = nlohmann::ordered_json::array();
  for (const auto& row : r.effect) {
    auto a = nlohmann::ordered_json::array();
    for (double v : row) a.push_back(std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr));
    j["effect"].push_back(a);
  }
  j["cos_base_source"] = r.cos_base_source;
  if (r.strongest.layer >= 0)
    j["strongest"] = {{"layer", r.strongest.layer},
                      {"position", r.positions[r.strongest.position].label},
                      {"effect", r.strongest.effect},
                      {"decoded", r.decoded_strongest}};
  j["decoded_base"] = r.decoded_base;
  j["decoded_source"] = r.decoded_source;
  if (nearest.size() == 3) {
    j["nearest_base"] = nearest_json(nearest[0]);
    j["nearest_source"] = nearest_json(nearest[1]);
    j["nearest_strongest"] = nearest_json(nearest[2]);
  }
  j["noised"] = r.noised;
  j["notes"] = r.notes;
  j["forwards"] = r.forwards;
  return j;
}

void print_table(const analysis::TraceResult& r, const NearestSet& nearest, const Opts& o) {
  // One column per position, 6 characters wide; the labels cut to fit.
  std::string head = fmt::format("{:>6}", "layer");
  for (const auto& p : r.positions) head += fmt::format(" {:>6}", util::clip_head(p.label, 6, "…"));
  fmt::print("{}\n", head);
  for (size_t li = 0; li < r.layers.size(); ++li) {
    std::string line = fmt::format("{:>6}", r.layers[li]);
    for (double v : r.effect[li]) line += std::isfinite(v) ? fmt::format(" {:>6.2f}", v) : fmt::format(" {:>6}", "-");
    fmt::print("{}\n", line);
  }
  fmt::print("\neffect: how far patching that one cell moves the embedding from the base's toward the source's "
             "(0 none, 1 all the way); layer 0 = input embeddings, {} = the last layer's output\n",
             r.layers.empty() ? 0 : r.layers.back());
  fmt::print("{}: base = {}, source = {} (cosine between their embeddings {:.3f})\n", r.mode,
             r.mode == "contrast" ? "--query" : "--query with noise", r.mode == "contrast" ? "--contrast" : "the clean --query",
             r.cos_base_source);
  if (!r.noised.empty()) {
    std::string toks;
    for (const auto& t : r.noised) toks += (toks.empty() ? "" : " ") + t;
    fmt::print("noised tokens: {}\n", toks);
  }
  for (const auto& n : r.notes) fmt::print("note: {}\n", n);
  fmt::print("\nstrongest cells:\n");
  for (const auto& c : r.top_cells(static_cast<size_t>(o.top)))
    fmt::print("  layer {:>3}  {:<8} {:.3f}\n", c.layer, r.positions[c.position].label, c.effect);
  fmt::print("\ndecoded  base:      {}\n", r.decoded_base);
  fmt::print("         source:    {}\n", r.decoded_source);
  if (r.strongest.layer >= 0)
    fmt::print("         strongest: {}   (layer {}, {})\n", r.decoded_strongest, r.strongest.layer,
               r.positions[r.strongest.position].label);
  if (nearest.size() == 3) {
    fmt::print("\nnearest corpus text (generative space):\n");
    const char* who[3] = {"base", "source", "strongest"};
    for (int k = 0; k < 3; ++k) {
      const auto& n = nearest[static_cast<size_t>(k)];
      fmt::print("  {:<10} {:.3f}  row {:<5} {}{}\n", who[k], n.hit.similarity, n.hit.index,
                 n.label.empty() ? "" : "[" + n.label + "] ", fit(one_line(n.hit.text), 70));
    }
  }
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint or training run directory")->required();
  sub.add_option("--query", o->query, "The query traced (the base run: A)")->required();
  auto* contrast = sub.add_option("--contrast", o->contrast,
                                  "A second query B: patch B's states into A's run (the thought and compression "
                                  "positions pair up from the end; the input positions when A and B have as many tokens)");
  sub.add_option("--noise-words", o->noise_words,
                 "Without --contrast: corrupt these words of the query (comma-separated; default all of it) with "
                 "Gaussian noise on their input embeddings and patch the clean states back (ROME)")
      ->excludes(contrast);
  sub.add_option("--noise-scale", o->noise_scale, "Noise std in units of the embedding matrix's std")
      ->capture_default_str();
  sub.add_option("--seed", o->seed, "Seed of the noise")->capture_default_str();
  sub.add_option("--layers", o->layers,
                 "Residual-stream layers to patch: all, a:b, a,b,c (0 = input embeddings, L = last layer's output; "
                 "negative from the end)")
      ->capture_default_str();
  sub.add_flag("--no-input-positions", o->no_input, "Trace only the thought and compression positions");
  sub.add_option("--batch-size", o->batch_size, "Patched cells per forward")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--top", o->top, "Strongest cells listed")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--instruction", o->instruction,
                 "Text put before the queries (default: the adapter's training instruction)");
  sub.add_option("--corpus", o->corpus,
                 "Texts JSONL: the nearest corpus text (and its label) of the base, the source and the strongest "
                 "patch");
  sub.add_option("--field", o->field, "JSONL field holding the corpus text")->capture_default_str();
  sub.add_option("--label-field", o->label_field, "JSONL field holding the label")->capture_default_str();
  add_max_length_option(sub, o->max_length);
  sub.add_flag("--json", o->json,
               "Print JSON: {\"mode\", \"layers\", \"positions\", \"kinds\", \"effect\": [[...]], "
               "\"cos_base_source\", \"strongest\": {\"layer\", \"position\", \"effect\", \"decoded\"}, "
               "\"decoded_base\", \"decoded_source\", \"nearest_base\", \"nearest_source\", "
               "\"nearest_strongest\" (with --corpus: {\"index\", \"similarity\", \"label\", \"text\"}), "
               "\"noised\", \"notes\", \"forwards\"}");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    analysis::TraceOptions to;
    to.instruction = sub.count("--instruction") ? o->instruction : adapter->meta.instruction;
    to.max_length = query_max_length_of(sub, o->max_length, adapter);
    to.contrast = o->contrast;
    if (sub.count("--noise-words")) to.noise_words = split_comma_list(o->noise_words, "--noise-words: expected words separated by commas");
    to.noise_scale = o->noise_scale;
    to.seed = o->seed;
    to.layers = o->layers;
    to.input_positions = !o->no_input;
    to.batch_size = o->batch_size;
    warn_cuts("trace", gen::count_query_cuts(*tok, {o->query}, to.instruction, to.max_length), quiet, "query");
    if (!quiet) {
      // The cost, before a long trace starts: every layer asked x every position traced
      // (as causal_trace picks them), in batched forwards that start at their layer.
      const auto n_layers =
          static_cast<int64_t>(analysis::parse_layer_range(o->layers, lm->config().num_hidden_layers, "--layers").size());
      analysis::LensOptions lo;
      lo.instruction = to.instruction;
      lo.max_length = to.max_length;
      const auto n_a = static_cast<int64_t>(analysis::lens_query_ids(*tok, o->query, lo).size());
      int64_t positions = adapter->adapter.shape().n_special();
      if (!o->no_input &&
          (o->contrast.empty() || static_cast<int64_t>(analysis::lens_query_ids(*tok, o->contrast, lo).size()) == n_a))
        positions += n_a;
      const int64_t forwards = n_layers * ((positions + o->batch_size - 1) / o->batch_size);
      fmt::print(stderr, "trace: {} layers x {} positions = {} cells, in {} forwards of up to {} rows\n", n_layers,
                 positions, n_layers * positions, forwards, o->batch_size);
    }
    std::vector<std::string> corpus, labels;
    if (!o->corpus.empty()) {
      corpus = data::read_texts(o->corpus, o->field);
      labels = data::read_labels(o->corpus, o->label_field);
    }
    analysis::TraceResult r;
    NearestSet nearest;
    runtime::Job job("trace", [&](runtime::JobContext& ctx) {
      r = analysis::causal_trace(*lm, adapter->adapter, *tok, o->query, to, &ctx);
      if (corpus.empty() || r.embedding_strongest.empty()) return;
      analysis::NeighborsOptions no;
      no.top_k = 1;
      no.instruction = no.corpus_instruction = to.instruction;
      no.max_length = to.max_length;
      for (const auto* e : {&r.embedding_base, &r.embedding_source, &r.embedding_strongest}) {
        auto list = analysis::neighbors_of_embedding(ctx, *lm, &adapter->adapter, *tok, o->model, adapter->dir,
                                                     corpus, o->corpus, *e, "generative", no);
        Nearest n;
        if (!list.hits.empty()) n.hit = list.hits[0];
        if (n.hit.index >= 0 && static_cast<size_t>(n.hit.index) < labels.size())
          n.label = labels[static_cast<size_t>(n.hit.index)];
        nearest.push_back(std::move(n));
      }
    });
    int rc = run_job_cli(job, quiet || o->json);
    if (rc != kOk) return rc;
    if (o->json)
      fmt::print("{}\n", result_json(r, nearest).dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    else print_table(r, nearest, *o);
    return kOk;
  };
}

RegisterCommand reg({"trace",
                     "Causal tracing: which (layer, position) of the encoder carries the embedding, by patching one "
                     "cell at a time",
                     setup, 52});

}  // namespace
}  // namespace genlens::cli
