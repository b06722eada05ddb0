// `genlens attribute`: which input tokens an embedding leans on, by integrated gradients
// over the input token embeddings (core/analysis/attribution.h) of
// f(x) = cosine(embedding(x), target). One score per query token (instruction + text,
// as `tokenize --special` shows them), in the generative space, the mean-pooling space,
// or both side by side; every result with its completeness (how far the scores' sum is
// from f(x) - f(baseline)).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/attribution.h"
#include "core/analysis/lens.h"
#include "core/data/responses.h"
#include "core/gen/encoder.h"
#include "core/io/jsonl.h"
#include "core/text/readable_piece.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, query, mode = "generative", instruction, target_text, target_label, corpus,
      field = "text", label_field = "label", baseline = "token";
  int64_t target_row = -1, steps = 64, batch_size = 16, max_length = 0;
  bool json = false, quiet = false;
  DeviceArgs dev;
};

std::vector<gen::EncodeMode> parse_modes(const std::string& m) {
  if (m == "generative" || m == "gen") return {gen::EncodeMode::Generative};
  if (m == "mean") return {gen::EncodeMode::Mean};
  if (m == "both") return {gen::EncodeMode::Generative, gen::EncodeMode::Mean};
  fail("--mode: expected generative, mean or both, found \"{}\"", m);
}

// What f measures the cosine to, in words for the output ("self", "text:...", "row:3", "label:joy").
struct Target {
  std::string kind = "self";
  std::string describe;
  std::vector<std::string> texts;  // encoded (the centroid when several); empty for self
};

Target resolve_target(const Opts& o) {
  const int given = (!o.target_text.empty()) + (o.target_row >= 0) + (!o.target_label.empty());
  if (given > 1) fail("give one of --target-text, --target-row, --target-label (found {})", given);
  Target t;
  if (!o.target_text.empty()) {
    t.kind = "text";
    t.describe = "text:" + o.target_text;
    t.texts = {o.target_text};
    return t;
  }
  if (given == 0) {
    t.describe = "self";
    return t;
  }
  const std::string flag = o.target_row >= 0 ? "--target-row" : "--target-label";
  if (o.corpus.empty()) fail("{} needs --corpus FILE (the JSONL it reads)", flag);
  auto corpus = data::read_texts(o.corpus, o.field);
  if (o.target_row >= 0) {
    if (o.target_row >= static_cast<int64_t>(corpus.size()))
      fail("--target-row: {} has rows 0..{}, found {}", o.corpus, static_cast<int64_t>(corpus.size()) - 1,
           o.target_row);
    t.kind = "row";
    t.describe = fmt::format("row:{}", o.target_row);
    t.texts = {corpus[static_cast<size_t>(o.target_row)]};
    return t;
  }
  auto labels = data::read_labels(o.corpus, o.label_field);
  if (labels.size() != corpus.size())
    fail("{}: {} texts but {} label rows (--label-field {})", o.corpus, corpus.size(), labels.size(), o.label_field);
  std::vector<std::string> seen;
  for (size_t i = 0; i < corpus.size(); ++i) {
    if (labels[i] == o.target_label) t.texts.push_back(corpus[i]);
    else if (!labels[i].empty() && std::find(seen.begin(), seen.end(), labels[i]) == seen.end() && seen.size() < 12)
      seen.push_back(labels[i]);
  }
  if (t.texts.empty())
    fail("--target-label: no row of {} has {} \"{}\" (labels there: {})", o.corpus, o.label_field, o.target_label,
         seen.empty() ? std::string("none") : fmt::format("{}", fmt::join(seen, ", ")));
  t.kind = "label";
  t.describe = "label:" + o.target_label;
  return t;
}

// The target vector in `mode`'s space: the query's own embedding (self), a text's, or the
// centroid (mean of the unit-length embeddings) of a label's rows, each encoded as `encode` does.
torch::Tensor target_vector(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                            gen::EncodeMode mode, const Target& t, const std::vector<int32_t>& query_ids,
                            const std::string& instruction, int64_t max_length, int64_t batch_size) {
  gen::EncodeOptions eo;
  eo.mode = mode;
  eo.max_length = max_length;
  eo.batch_size = batch_size;
  auto* ad = mode == gen::EncodeMode::Generative ? adapter : nullptr;
  if (t.texts.empty()) return gen::encode_ids(lm, ad, {gen::TokenRow(query_ids.begin(), query_ids.end())}, eo)[0];
  auto e = gen::encode_texts(lm, ad, tok, t.texts, instruction, eo);
  if (e.size(0) == 1) return e[0];
  namespace F = torch::nn::functional;
  return F::normalize(e, F::NormalizeFuncOptions().dim(1)).mean(0);
}

nlohmann::json result_json(const analysis::AttributionResult& r, const Target& t, const text::Tokenizer& tok) {
  nlohmann::json j;
  j["mode"] = r.mode;
  j["target"] = t.describe;
  j["baseline"] = {{"kind", analysis::to_string(r.baseline)},
                   {"id", r.baseline_id >= 0 ? nlohmann::json(r.baseline_id) : nlohmann::json(nullptr)}};
  j["steps"] = r.steps;
  j["f_input"] = r.f_input;
  j["f_baseline"] = r.f_baseline;
  j["tokens"] = nlohmann::json::array();
  for (size_t i = 0; i < r.ids.size(); ++i)
    j["tokens"].push_back({{"id", r.ids[i]}, {"piece", tok.id_to_piece(r.ids[i])}, {"score", r.scores[i]}});
  return j;
}

std::string completeness_line(const analysis::AttributionResult& r) {
  return fmt::format(
      "{}: f(input) {:.6f}  f(baseline) {:.6f}  sum of scores {:.6f}  completeness |sum - (f(input) - f(baseline))| "
      "{:.2e} ({:.2e} relative)",
      r.mode, r.f_input, r.f_baseline, r.score_sum(), r.completeness_abs(), r.completeness_rel());
}

void print_table(const std::vector<analysis::AttributionResult>& res, const Target& t, const std::string& query,
                 const text::Tokenizer& tok) {
  const auto& r0 = res.front();
  fmt::print("query:    {}\n", one_line(query));
  fmt::print("target:   {}\n", t.kind == "self" ? std::string("self (the query's own embedding, unablated)")
                                                 : one_line(t.describe));
  if (r0.baseline == analysis::BaselineKind::Token)
    fmt::print("baseline: every query token -> {} \"{}\"; {} steps\n\n", r0.baseline_id,
               text::readable_piece(tok, r0.baseline_id), r0.steps);
  else
    fmt::print("baseline: zeros; {} steps\n\n", r0.steps);
  std::vector<std::string> pieces;
  size_t pw = 5;
  for (auto id : r0.ids) {
    pieces.push_back(text::readable_piece(tok, id));
    pw = std::max(pw, std::min<size_t>(display_width(pieces.back()), 24));
  }
  std::string head = pad_left("#", 4) + "  " + pad_left("id", 7) + "  " + pad("piece", pw);
  for (const auto& r : res) head += "  " + pad_left(r.mode, 11);
  fmt::print("{}\n", head);
  for (size_t i = 0; i < r0.ids.size(); ++i) {
    std::string line = pad_left(std::to_string(i), 4) + "  " + pad_left(std::to_string(r0.ids[i]), 7) + "  " +
                       pad(fit(pieces[i], pw), pw);
    for (const auto& r : res) line += "  " + pad_left(fmt::format("{:+.5f}", r.scores[i]), 11);
    fmt::print("{}\n", line);
  }
  fmt::print("\n");
  for (const auto& r : res) fmt::print("{}\n", completeness_line(r));
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint or training run directory (needed for mode generative)");
  sub.add_option("--query", o->query, "Query text whose tokens are attributed")->required();
  sub.add_option("--mode", o->mode,
                 "generative (needs --adapter), mean, or both (the two side by side; with --json an object "
                 "{\"generative\": {...}, \"mean\": {...}}, one result per mode)")
      ->capture_default_str();
  sub.add_option("--target-text", o->target_text, "f = cosine to this text's embedding (encoded as `encode` does)");
  sub.add_option("--target-row", o->target_row, "f = cosine to the embedding of row N (0-based) of --corpus");
  sub.add_option("--target-label", o->target_label,
                 "f = cosine to the centroid of --corpus rows with this label (mean of their unit-length embeddings)");
  sub.add_option("--corpus", o->corpus, "Texts JSONL for --target-row / --target-label");
  sub.add_option("--field", o->field, "JSONL field holding the text (else \"question\", as encode)")->capture_default_str();
  sub.add_option("--label-field", o->label_field, "JSONL field holding the label")->capture_default_str();
  sub.add_option("--baseline", o->baseline,
                 "token: every query token's input embedding replaced by a neutral token's (the tokenizer's pad "
                 "token, else unk, else eos); zeros: all-zero inputs (the path then passes near a zero-norm input "
                 "where the first RMSNorm is steep: expect worse completeness)")
      ->capture_default_str();
  sub.add_option("--steps", o->steps, "Points on the path (midpoint rule)")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--batch-size", o->batch_size, "Path points per forward")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--instruction", o->instruction,
                 "Text put before the query and the target texts (default: the adapter's training instruction)");
  add_max_length_option(sub, o->max_length);
  sub.add_flag("--json", o->json,
               "Print JSON: {\"mode\", \"target\", \"baseline\": {\"kind\", \"id\"}, \"steps\", \"f_input\", "
               "\"f_baseline\", \"tokens\": [{\"id\", \"piece\", \"score\"}]} (--mode both: one such object per mode "
               "under its name); the completeness line goes to stderr");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  sub.footer(
      "Without a --target-*, the target is the query's own unablated embedding: f(input) = 1 and the scores say "
      "which tokens carry the embedding from the baseline's point to the query's (their sum = 1 - f(baseline)).");
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet);
    const auto modes = parse_modes(o->mode);
    analysis::AttributionOptions ao;
    if (o->baseline == "zeros") ao.baseline = analysis::BaselineKind::Zeros;
    else if (o->baseline != "token") fail("--baseline: expected token or zeros, found \"{}\"", o->baseline);
    const bool needs_adapter = modes.front() == gen::EncodeMode::Generative;
    if (needs_adapter && o->adapter.empty())
      fail("--mode {} needs --adapter CKPT for the generative embedding (or use --mode mean)", o->mode);
    const Target target = resolve_target(*o);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    std::string instruction = o->instruction;
    if (adapter && sub.count("--instruction") == 0) instruction = adapter->meta.instruction;
    const int64_t max_length = query_max_length_of(sub, o->max_length, adapter);
    warn_cuts("attribute", gen::count_query_cuts(*tok, {o->query}, instruction, max_length), quiet, "query");
    analysis::LensOptions lo;
    lo.instruction = instruction;
    lo.max_length = max_length;
    const auto ids = analysis::lens_query_ids(*tok, o->query, lo);
    if (ao.baseline == analysis::BaselineKind::Token) ao.baseline_id = analysis::neutral_token_id(*tok);
    ao.steps = o->steps;
    ao.batch_size = o->batch_size;
    std::vector<analysis::AttributionResult> results;
    runtime::Job job("attribute", [&](runtime::JobContext& ctx) {
      ao.check_cancel = [&] { ctx.check_cancel(); };
      for (auto mode : modes) {
        ctx.set_stage(fmt::format("target ({})", gen::to_string(mode)), 1, "texts");
        auto tv = target_vector(*lm, adapter ? &adapter->adapter : nullptr, *tok, mode, target, ids, instruction,
                                max_length, o->batch_size);
        ctx.set_stage(fmt::format("attribute ({})", gen::to_string(mode)), ao.steps, "steps");
        ao.on_progress = [&](int64_t d) { ctx.set_done(d); };
        results.push_back(
            analysis::integrated_gradients(*lm, adapter ? &adapter->adapter : nullptr, mode, ids, tv, ao));
      }
    });
    int rc = run_job_cli(job, quiet || o->json);
    if (rc != kOk) return rc;
    if (o->json) {
      nlohmann::json j;
      if (results.size() == 1) {
        j = result_json(results.front(), target, *tok);
      } else {
        for (const auto& r : results) j[r.mode] = result_json(r, target, *tok);
      }
      fmt::print("{}\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
      if (!quiet)
        for (const auto& r : results) fmt::print(stderr, "{}\n", completeness_line(r));
      return kOk;
    }
    print_table(results, target, o->query, *tok);
    return kOk;
  };
}

RegisterCommand reg({"attribute",
                     "Which input tokens an embedding leans on: integrated gradients of the cosine to a target", setup,
                     54});

}  // namespace
}  // namespace genlens::cli
