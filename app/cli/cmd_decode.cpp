// `genlens decode`: text decoded back from a query's embedding (its soft prompts S
// alone, the path the reconstruction loss trains) next to the LLM's own answer, and
// with --query-b the interpolation (1-t)·S_a + t·S_b for --steps values of t. --expr
// decodes from a sum of queries' states ("A" - "B" + "C", core/analysis/embedding_expr.h)
// and --vector from a saved state (--save-states writes one); with --corpus each decoded
// point also lists its nearest corpus texts in the generative space.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/decode.h"
#include "core/analysis/embedding_expr.h"
#include "core/analysis/neighbors.h"
#include "core/data/responses.h"
#include "core/io/npy.h"
#include "core/analysis/result_json.h"
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, query_b, chat_template, expr, vector, save_states, corpus, field = "text";
  std::string direction, label_field = "label";
  double scale = 1, add = 0;
  int64_t top_k = 5;
  std::vector<std::string> queries;
  int64_t steps = 5;
  analysis::DecodeOptions d;
  bool no_answer = false, json = false, quiet = false;
  DeviceArgs dev;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint or training run directory")->required();
  sub.add_option("--query", o->queries, "Query text (repeat for several, decoded as one batch)");
  sub.add_option("--expr", o->expr,
                 "Decode from a sum of compression states instead: terms \"TEXT\" or 'TEXT' (a query) or row:N "
                 "(0-based, of --corpus), each with an optional NUMBER* coefficient, joined by + and -; e.g. "
                 "\"'a cat' - 'cat' + 'dog'\"");
  sub.add_option("--vector", o->vector,
                 "Decode from saved compression states: .npy [n_compression, H] or [B, n_compression, H] "
                 "(as --save-states writes)");
  sub.add_option("--save-states", o->save_states,
                 "With --query: write the queries' compression states (soft prompts) as .npy [B, n_compression, H] "
                 "(with --direction: the steered states)");
  sub.add_option("--corpus", o->corpus,
                 "Texts JSONL: the rows of --expr row:N, and the nearest corpus texts of each decoded point "
                 "(generative space)");
  sub.add_option("--field", o->field, "JSONL field holding the corpus text")->capture_default_str();
  sub.add_option("--top-k", o->top_k, "Nearest corpus texts shown per decoded point (with --corpus)")
      ->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--direction", o->direction,
                 "Steer the decoded points along FROM:TO, the mean compression state of --corpus's rows labelled TO "
                 "minus that of the rows labelled FROM (labels in --label-field); then --add and --scale");
  sub.add_option("--add", o->add, "With --direction: add this many copies of the direction (default 1 when "
                                  "neither --add nor --scale is given)");
  sub.add_option("--scale", o->scale, "With --direction: multiply each point's own component along the direction "
                                      "(0 removes it)")->capture_default_str();
  sub.add_option("--label-field", o->label_field, "JSONL field holding --corpus's labels (for --direction)")
      ->capture_default_str();
  sub.add_option("--query-b", o->query_b, "Second query: decode the interpolation between --query and it");
  sub.add_option("--steps", o->steps, "Values of t in [0, 1] for the interpolation")->capture_default_str();
  sub.add_option("--instruction", o->d.instruction, "Text put before each query (as for `encode`)");
  sub.add_option("--max-new-tokens", o->d.max_new_tokens, "Most tokens per decoded text")->check(kAtLeastOne)->capture_default_str();
  add_max_length_option(sub, o->d.max_length);
  sub.add_flag("--sample", o->d.sample, "Sample instead of greedy decoding");
  sub.add_option("--temperature", o->d.temperature, "Sampling temperature")->capture_default_str();
  sub.add_option("--top-p", o->d.top_p, "Nucleus sampling mass")->capture_default_str();
  sub.add_option("--seed", o->d.seed, "Sampling seed")->capture_default_str();
  sub.add_flag("--no-answer", o->no_answer, "Skip the LLM's own answer (chat template)");
  sub.add_option("--chat-template", o->chat_template, "Override the chat format of the model's own answer");
  sub.add_flag("--json", o->json, "Print JSON");
  o->dev.add(sub);
  add_quiet_flag(sub, o->quiet);
  return [o, &sub]() -> int {
    const bool quiet = quiet_requested(sub, o->quiet) || o->json;
    const int sources = (!o->queries.empty()) + (!o->expr.empty()) + (!o->vector.empty());
    if (sources != 1)
      fail("decode: give one of --query, --expr, --vector (found {})", sources == 0 ? "none" : "several");
    if (o->queries.empty() && !o->query_b.empty()) fail("--query-b interpolates from --query; it needs --query");
    if (o->queries.empty() && !o->save_states.empty()) fail("--save-states writes the states of --query; it needs --query");
    const bool steer = !o->direction.empty();
    if (!steer && (sub.count("--add") || sub.count("--scale")))
      fail("--add and --scale move points along --direction FROM:TO; give it");
    if (steer && o->corpus.empty()) fail("--direction FROM:TO takes its two groups from --corpus FILE; give it");
    if (steer && !o->query_b.empty()) fail("--direction steers decoded points; it does not combine with --query-b");
    std::pair<std::string, std::string> groups;
    if (steer) groups = analysis::parse_direction(o->direction);
    if (steer && !sub.count("--add") && !sub.count("--scale")) o->add = 1;
    const bool from_point = o->queries.empty() || steer;  // --expr, --vector, or a steered query
    std::vector<analysis::ExprTerm> terms;
    if (!o->expr.empty()) terms = analysis::parse_embedding_expr(o->expr);
    std::vector<std::string> corpus;
    if (!o->corpus.empty()) corpus = data::read_texts(o->corpus, o->field);
    if (!o->query_b.empty() && o->queries.size() != 1)
      fail("--query-b interpolates between one --query and it; found {} --query", o->queries.size());
    if (!o->query_b.empty() && o->steps < 2) fail("--steps: expected >= 2, found {}", o->steps);
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    o->d.max_length = query_max_length_of(sub, o->d.max_length, adapter);
    {
      auto all = o->queries;
      if (!o->query_b.empty()) all.push_back(o->query_b);
      for (const auto& t : terms)
        if (!t.is_row) all.push_back(t.text);
      warn_cuts("decode", gen::count_query_cuts(*tok, all, o->d.instruction, o->d.max_length),
                quiet_requested(sub, o->quiet), "query");
    }
    text::ChatTemplate chat;
    o->d.model_answer = !o->no_answer && o->query_b.empty() && !from_point;
    if (o->d.model_answer) {
      chat = text::load_chat_template(o->model, o->chat_template);
      o->d.chat = &chat;
    }
    std::vector<analysis::DecodeResult> results;
    analysis::InterpolationResult interp;
    std::vector<analysis::NeighborList> neighbors;  // per result, with --corpus
    runtime::Job job("decode", [&](runtime::JobContext& ctx) {
      const auto& ad = adapter->adapter;
      torch::Tensor S;  // the decoded points' states, for --save-states and the neighbours
      if (from_point) {
        S = !o->queries.empty() ? analysis::query_soft_prompts(*lm, ad, *tok, o->queries, o->d)
            : o->vector.empty() ? analysis::expr_soft_prompts(*lm, ad, *tok, terms, corpus, o->corpus, o->d)
                                : analysis::load_soft_prompts(o->vector, ad);
        std::string steered;
        if (steer) {
          ctx.set_stage("direction " + o->direction);
          const auto labels = data::read_labels(o->corpus, o->label_field);
          const auto d = analysis::group_direction(*lm, ad, *tok, corpus, labels, o->corpus, groups.first,
                                                   groups.second, o->d);
          S = analysis::steer_soft_prompts(S, d, o->scale, o->add);
          steered = fmt::format(" steered {} (scale {}, add {})", o->direction, o->scale, o->add);
        }
        if (!o->save_states.empty()) io::save_npy(o->save_states, S);
        ctx.set_stage("decode", S.size(0), "points");
        torch::NoGradGuard ng;
        auto texts = analysis::decode_soft_prompts(*lm, tok.get(), S, o->d);
        for (size_t i = 0; i < texts.size(); ++i) {
          analysis::DecodeResult r;
          r.query = !o->queries.empty()  ? o->queries[i] + steered
                    : !o->expr.empty()   ? o->expr + steered
                    : texts.size() == 1 ? "vector:" + o->vector + steered
                                        : fmt::format("vector:{}[{}]{}", o->vector, i, steered);
          r.from_embedding = std::move(texts[i]);
          results.push_back(std::move(r));
        }
        ctx.set_done(S.size(0));
      } else if (o->query_b.empty()) {
        if (!o->save_states.empty() || !corpus.empty()) S = analysis::query_soft_prompts(*lm, ad, *tok, o->queries, o->d);
        if (!o->save_states.empty()) io::save_npy(o->save_states, S);
        ctx.set_stage("decode", static_cast<int64_t>(o->queries.size()), "queries");
        results = analysis::decode_queries(*lm, adapter->adapter, *tok, o->queries, o->d);
        ctx.set_done(static_cast<int64_t>(o->queries.size()));
      } else {
        ctx.set_stage("interpolate", o->steps, "steps");
        interp = analysis::interpolate(*lm, adapter->adapter, *tok, o->queries[0], o->query_b, o->steps, o->d);
        ctx.set_done(o->steps);
      }
      if (!corpus.empty() && S.defined()) {
        // Corpus rows are embedded with the queries' instruction and length, so row:N's own
        // state finds row N at cosine 1.
        analysis::NeighborsOptions no;
        no.top_k = o->top_k;
        no.instruction = no.corpus_instruction = o->d.instruction;
        no.max_length = o->d.max_length;
        auto E = analysis::embedding_of_soft_prompts(ad, S).contiguous();
        for (int64_t i = 0; i < E.size(0); ++i) {
          std::vector<float> e(E[i].data_ptr<float>(), E[i].data_ptr<float>() + E.size(1));
          neighbors.push_back(analysis::neighbors_of_embedding(ctx, *lm, &ad, *tok, o->model, adapter->dir, corpus,
                                                               o->corpus, e, "generative", no));
        }
      }
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    auto ending = [](const analysis::DecodedText& d) {
      return d.stopped_at_eos ? std::string() : std::string("  [cut at --max-new-tokens]");
    };
    if (o->json) {
      nlohmann::json j;
      if (o->query_b.empty()) {
        j["results"] = nlohmann::json::array();
        for (size_t i = 0; i < results.size(); ++i) {
          auto r = analysis::to_json(results[i]);
          if (i < neighbors.size()) r["neighbors"] = analysis::hits_json(neighbors[i].hits);
          j["results"].push_back(std::move(r));
        }
      } else {
        j["interpolation"] = analysis::to_json(interp);
      }
      fmt::print("{}\n", j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
      return kOk;
    }
    if (o->query_b.empty()) {
      for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        if (i) fmt::print("\n");
        fmt::print("query:          {}\n", one_line(r.query));
        fmt::print("from embedding: {}{}\n", one_line(r.from_embedding.text), ending(r.from_embedding));
        if (r.has_model_answer) fmt::print("model's answer: {}{}\n", one_line(r.model_answer.text), ending(r.model_answer));
        if (i < neighbors.size()) {
          fmt::print("nearest corpus texts (generative space{}):\n",
                     neighbors[i].from_cache ? ", corpus embeddings from the cache" : "");
          for (const auto& h : neighbors[i].hits)
            fmt::print("  {:>6.3f}  row {:<5}  {}\n", h.similarity, h.index, fit(one_line(h.text), 80));
        }
      }
    } else {
      fmt::print("a: {}\nb: {}\n\n", one_line(interp.query_a), one_line(interp.query_b));
      for (const auto& s : interp.steps)
        fmt::print("t={:.2f}  {}{}\n", s.t, one_line(s.text.text), ending(s.text));
    }
    return kOk;
  };
}

RegisterCommand reg({"decode", "Decode text back from a query's embedding; interpolate between two queries", setup, 51});

}  // namespace
}  // namespace genlens::cli
