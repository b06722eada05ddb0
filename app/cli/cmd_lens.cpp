// `genlens lens`: the logit lens of a query's thought and compression tokens at every
// layer (with an adapter), the soft prompts' output and input lens, and the words that
// dominate the compression tokens; without an adapter the plain per-layer logit lens of
// the text's own tokens. A table by default, everything with --json.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/lens.h"
#include "core/analysis/result_json.h"
#include "core/analysis/tuned_lens.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, layers = "all", track, tuned;
  std::vector<std::string> queries;
  analysis::LensOptions lens;
  DeviceArgs dev;
  bool json = false, quiet = false, keep_punct = false, keep_special = false, per_layer = false;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

std::string prob_str(double p) { return p >= 0.995 ? "1.00" : fmt::format("{:.2f}", p).substr(1); }

void print_lens(const analysis::LensResult& r, const analysis::LensOptions& opt) {
  fmt::print("query: {}\n", one_line(r.instruction + r.query));
  // Matrix: rows = layers, columns = positions, cell = top-1 piece and its probability,
  // in blocks of 8 positions so it fits a terminal.
  constexpr size_t kCol = 13, kBlock = 8;
  fmt::print("\n{} lens, top-1 per cell (layer 0 = embeddings, {} = last; · is a space)\n",
             opt.tuned ? "tuned" : "logit", r.n_layers);
  for (size_t b0 = 0; b0 < r.positions.size(); b0 += kBlock) {
    const size_t b1 = std::min(r.positions.size(), b0 + kBlock);
    std::string head = pad("layer", 6);
    for (size_t p = b0; p < b1; ++p) head += " " + pad(r.positions[p].label, kCol);
    fmt::print("{}\n", head);
    for (size_t li = 0; li < r.layers.size(); ++li) {
      std::string line = pad_left(std::to_string(r.layers[li]), 5) + " ";
      for (size_t p = b0; p < b1; ++p) {
        const auto& c = r.cell(li, p);
        std::string s = c.top.empty() ? "" : fit(c.top[0].text, kCol - 5) + " " + prob_str(c.top[0].score);
        line += " " + pad(s, kCol);
      }
      fmt::print("{}\n", line);
    }
    fmt::print("\n");
  }
  // Detail at the last layer shown: top-k, entropy, tracked tokens.
  const size_t li = r.layers.size() - 1;
  fmt::print("layer {}: top-{} per position (entropy in nats)\n", r.layers[li], opt.top_k);
  for (size_t p = 0; p < r.positions.size(); ++p) {
    const auto& c = r.cell(li, p);
    std::string line = pad(r.positions[p].label, 8) + pad_left(fmt::format("{:.2f}", c.entropy), 6) + "  ";
    for (const auto& t : c.top) line += fmt::format("{} {}  ", t.text, prob_str(t.score));
    fmt::print("{}\n", line);
    // The word the person asked about, then which of its tokens is tracked (the bare and
    // the spaced form; a word split in pieces is tracked by its first).
    for (const auto& t : c.tracked)
      fmt::print("{}tracked {}: rank {}, p {:.4g}  ({})\n", std::string(16, ' '), t.word, t.rank, t.prob,
                 t.n_pieces > 1 ? fmt::format("its first token {} of {}", t.text, t.n_pieces)
                                : fmt::format("token {}", t.text));
  }
  if (!r.soft_positions.empty()) {
    fmt::print("\nsoft prompts S = recon(C): output lens (final norm + LM head) | input lens (nearest input embeddings, cosine)\n");
    for (size_t i = 0; i < r.soft_positions.size(); ++i) {
      std::string out, in;
      for (size_t j = 0; j < std::min<size_t>(3, r.soft_output_lens[i].top.size()); ++j)
        out += fmt::format("{} {}  ", r.soft_output_lens[i].top[j].text, prob_str(r.soft_output_lens[i].top[j].score));
      for (size_t j = 0; j < std::min<size_t>(3, r.soft_input_lens[i].size()); ++j)
        in += fmt::format("{} {:.2f}  ", r.soft_input_lens[i][j].text, r.soft_input_lens[i][j].score);
      fmt::print("{} {} | {}\n", pad(r.soft_positions[i].label, 4), pad(out, 48), in);
    }
  }
}

// --summary: one line per layer instead of the layers x positions wall (a 28-layer model
// with 20 special tokens stays readable).
void print_layer_summaries(const analysis::LensResult& r, const std::vector<std::vector<analysis::SummaryWord>>& per_layer,
                           const analysis::LensOptions& opt) {
  fmt::print("query: {}\n", one_line(r.instruction + r.query));
  // Runs of special positions shown as ranges: "T0..T9 C0..C9".
  std::string pos;
  for (size_t i = 0; i < r.positions.size();) {
    size_t j = i;
    while (j + 1 < r.positions.size() && r.positions[i].kind != analysis::PositionKind::Ordinary &&
           r.positions[j + 1].kind == r.positions[i].kind && r.positions[j + 1].index == r.positions[j].index + 1)
      ++j;
    pos += (pos.empty() ? "" : " ") + r.positions[i].label + (j > i ? ".." + r.positions[j].label : "");
    i = j + 1;
  }
  fmt::print("\ndominant words per layer{} over {} (union of each position's top {}, summed probability; "
             "layer 0 = embeddings, {} = last; · is a space)\n",
             opt.tuned ? " (tuned lens)" : "", fit(pos, 60), opt.summary_top_k, r.n_layers);
  constexpr size_t kWidth = 100;
  for (size_t li = 0; li < r.layers.size(); ++li) {
    std::string line = pad_left(std::to_string(r.layers[li]), 5) + " ";
    for (const auto& w : per_layer[li]) {
      std::string item = fmt::format("  {} {:.2f}", w.text, w.prob_sum);
      if (line.size() + item.size() > kWidth) break;
      line += item;
    }
    fmt::print("{}\n", line);
  }
}

void print_summary(const std::vector<analysis::SummaryWord>& s, int64_t layer, bool adapter) {
  fmt::print("\ndominant words ({} positions at layer {}; union of top-k, summed probability):\n",
             adapter ? "compression" : "token", layer);
  if (s.empty()) {
    fmt::print("  (none left after the filters; try --keep-punct / --keep-special)\n");
    return;
  }
  std::string line = " ";
  for (const auto& w : s) line += fmt::format(" {} {:.2f}", w.text, w.prob_sum);
  fmt::print("{}\n", line);
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter,
                 "Adapter checkpoint or run directory; without it: the plain lens of the text's own tokens");
  sub.add_option("--query", o->queries, "Query text (repeat for several; instruction + text, as `encode` builds it)")
      ->required();
  sub.add_option("--instruction", o->lens.instruction, "Text put before the query");
  sub.add_option("--top-k", o->lens.top_k, "Tokens per cell")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--layers", o->layers, "all, a:b (inclusive) or a,b,c; 0 = embeddings, negatives from the end")
      ->capture_default_str();
  sub.add_option("--track", o->track, "Comma-separated words whose rank and probability every cell reports");
  add_max_length_option(sub, o->lens.max_length);
  sub.add_flag("--include-tokens", o->lens.include_ordinary, "With --adapter: also the query's own tokens");
  sub.add_option("--positions", o->lens.positions,
                 "With --adapter: only these special positions: labels (T0,C3), ranges (C0:C9), thought, compression");
  sub.add_option("--tuned", o->tuned,
                 "A tuned lens directory (`genlens tuned-lens train`): layers below the last read through its "
                 "translators");
  sub.add_flag("--summary", o->per_layer,
               "One line per layer: the dominant words over the positions shown, instead of the layers x positions "
               "table (readable at 28 layers)");
  sub.add_option("--summary-size", o->lens.summary_size, "Words in the dominant-word summary")->capture_default_str();
  sub.add_option("--summary-top-k", o->lens.summary_top_k, "Top-k per compression token feeding the summary")
      ->capture_default_str();
  sub.add_flag("--keep-punct", o->keep_punct, "Summary: keep pure whitespace/punctuation pieces");
  sub.add_flag("--keep-special", o->keep_special, "Summary: keep special/control tokens");
  sub.add_flag("--json", o->json, "Print JSON (layers x positions x top-k, soft prompts, summary)");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet) || o->json;
    const bool warnings = !quiet_requested(sub, o->quiet);  // on stderr, so also with --json
    o->lens.layers = o->layers;
    o->lens.track = split_commas(o->track);
    o->lens.summary_skip_punct = !o->keep_punct;
    o->lens.summary_skip_special = !o->keep_special;
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    std::optional<analysis::TunedLens> tuned;
    if (!o->tuned.empty()) {
      tuned = analysis::load_tuned_lens(o->tuned, *lm, o->model);
      o->lens.tuned = &*tuned;
    }
    // Check every argument before the work starts (layers, lengths); a query longer than
    // the limit is cut as encode cuts it, and said so.
    analysis::parse_layer_range(o->lens.layers, lm->config().num_hidden_layers);
    if (!o->lens.positions.empty()) {
      if (!adapter) fail("--positions: names thought and compression positions (T0, C3, ...); it needs --adapter");
      analysis::parse_special_positions(o->lens.positions, adapter->adapter.shape().n_thought,
                                        adapter->adapter.shape().n_compression);
    }
    o->lens.max_length = query_max_length_of(sub, o->lens.max_length, adapter);
    gen::QueryCuts cuts;
    cuts.max_length = o->lens.max_length;
    for (const auto& q : o->queries) {
      int64_t n = 0;
      analysis::lens_query_ids(*tok, q, o->lens, &n);
      cuts.add(n);
    }
    warn_cuts("lens", cuts, !warnings, "query");
    std::vector<analysis::LensResult> results;
    runtime::Job job("lens", [&](runtime::JobContext& ctx) {
      ctx.set_stage("lens", static_cast<int64_t>(o->queries.size()), "queries");
      for (const auto& q : o->queries) {
        ctx.check_cancel();
        results.push_back(analysis::logit_lens(*lm, adapter ? &adapter->adapter : nullptr, *tok, q, o->lens));
        ctx.advance();
      }
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    auto summary = analysis::summarize_lens(results, *tok, o->lens);
    if (o->json) {
      nlohmann::json j;
      j["results"] = nlohmann::json::array();
      for (const auto& r : results) {
        auto rj = analysis::to_json(r);
        if (o->per_layer) {
          const auto per_layer = analysis::layer_summaries(r, *tok, o->lens);
          rj["layer_summary"] = nlohmann::json::array();
          for (size_t li = 0; li < r.layers.size(); ++li)
            rj["layer_summary"].push_back({{"layer", r.layers[li]}, {"words", analysis::to_json(per_layer[li])}});
        }
        j["results"].push_back(std::move(rj));
      }
      j["summary"] = analysis::to_json(summary);
      fmt::print("{}\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
      return kOk;
    }
    for (size_t i = 0; i < results.size(); ++i) {
      if (i) fmt::print("\n{}\n", std::string(72, '-'));
      if (o->per_layer) print_layer_summaries(results[i], analysis::layer_summaries(results[i], *tok, o->lens), o->lens);
      else print_lens(results[i], o->lens);
    }
    print_summary(summary, results.front().summary_layer, adapter.has_value());
    return kOk;
  };
}

RegisterCommand reg({"lens", "Logit lens of the thought/compression tokens (or any text) at every layer", setup, 50});

}  // namespace
}  // namespace genlens::cli
