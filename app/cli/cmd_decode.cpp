// `genlens decode`: text decoded back from a query's embedding (its soft prompts S
// alone, the path the reconstruction loss trains) next to the LLM's own answer, and
// with --query-b the interpolation (1-t)·S_a + t·S_b for --steps values of t.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "app/cli/text_table.h"
#include "core/analysis/decode.h"
#include "core/analysis/result_json.h"
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, query_b, chat_template;
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
  sub.add_option("--query", o->queries, "Query text (repeat for several, decoded as one batch)")->required();
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
      warn_cuts("decode", gen::count_query_cuts(*tok, all, o->d.instruction, o->d.max_length),
                quiet_requested(sub, o->quiet), "query");
    }
    text::ChatTemplate chat;
    o->d.model_answer = !o->no_answer && o->query_b.empty();
    if (o->d.model_answer) {
      chat = text::load_chat_template(o->model, o->chat_template);
      o->d.chat = &chat;
    }
    std::vector<analysis::DecodeResult> results;
    analysis::InterpolationResult interp;
    runtime::Job job("decode", [&](runtime::JobContext& ctx) {
      if (o->query_b.empty()) {
        ctx.set_stage("decode", static_cast<int64_t>(o->queries.size()), "queries");
        results = analysis::decode_queries(*lm, adapter->adapter, *tok, o->queries, o->d);
        ctx.set_done(static_cast<int64_t>(o->queries.size()));
      } else {
        ctx.set_stage("interpolate", o->steps, "steps");
        interp = analysis::interpolate(*lm, adapter->adapter, *tok, o->queries[0], o->query_b, o->steps, o->d);
        ctx.set_done(o->steps);
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
        for (const auto& r : results) j["results"].push_back(analysis::to_json(r));
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
