// `genlens neighbors`: one query's nearest corpus texts in several embedding spaces
// (generative, mean, last, hyde), one block per space: rank, cosine, the corpus row's
// label and its text wrapped to the terminal (--width). Corpus embeddings are cached on
// disk, so a second call only encodes the query.
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
#include "core/io/jsonl.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, adapter, corpus, query, modes, field = "text", label_field = "label", cache_dir;
  analysis::NeighborsOptions n;
  int64_t width = 0;
  bool no_cache = false, json = false, quiet = false;
  DeviceArgs dev;
};

// Each corpus row's `field` as text ("" when a row has none): the labels shown next to
// the hits. Rows are read as read_texts reads them (blank lines skipped), so row i here
// is corpus text i.
std::vector<std::string> read_labels(const std::string& path, const std::string& field) {
  std::vector<std::string> out;
  if (field.empty()) return out;
  io::JsonlReader r(path);
  io::Json row;
  bool any = false;
  while (r.next(row)) {
    std::string l;
    if (auto it = row.find(field); it != row.end() && !it->is_null())
      l = it->is_string() ? it->get<std::string>() : it->dump();
    any = any || !l.empty();
    out.push_back(std::move(l));
  }
  if (!any) out.clear();
  return out;
}

// The modes stacked, one block each: rank, similarity, label (when the corpus has
// labels) and the text word-wrapped to `width` columns.
void print_table(const analysis::NeighborsResult& res, const std::vector<std::string>& labels, size_t width) {
  fmt::print("query: {}\n", one_line(res.query));
  size_t lw = 0;
  for (const auto& m : res.per_mode)
    for (const auto& h : m.hits)
      if (static_cast<size_t>(h.index) < labels.size())
        lw = std::max(lw, display_width(labels[static_cast<size_t>(h.index)]));
  lw = std::min<size_t>(lw, 24);
  if (lw > 0) lw = std::max<size_t>(lw, 5);  // "label"
  // "  rank  cosine  label  text": 4 + 2 + 6 + 2 (+ label + 2) before the text.
  const size_t lead = 2 + 4 + 2 + 6 + 2 + (lw > 0 ? lw + 2 : 0);
  const size_t text_w = width > lead + 20 ? width - lead : 20;
  for (const auto& m : res.per_mode) {
    fmt::print("\n{}{}\n", m.mode, m.from_cache ? "  (corpus embeddings from the cache)" : "");
    std::string head = "  " + pad_left("rank", 4) + "  " + pad_left("cosine", 6) + "  ";
    if (lw > 0) head += pad("label", lw) + "  ";
    fmt::print("{}text\n", head);
    for (size_t r = 0; r < m.hits.size(); ++r) {
      const auto& h = m.hits[r];
      const auto lines = wrap(one_line(h.text), text_w);
      std::string line =
          "  " + pad_left(std::to_string(r + 1), 4) + "  " + pad_left(fmt::format("{:.3f}", h.similarity), 6) + "  ";
      const auto row = static_cast<size_t>(h.index);
      if (lw > 0) line += pad(row < labels.size() ? labels[row] : std::string(), lw) + "  ";
      fmt::print("{}{}\n", line, lines.front());
      for (size_t k = 1; k < lines.size(); ++k) fmt::print("{}{}\n", std::string(lead, ' '), lines[k]);
    }
  }
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
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
  sub.add_option("--label-field", o->label_field,
                 "JSONL field shown as each hit's label when the corpus has it (\"\" for none)")
      ->capture_default_str();
  add_max_length_option(sub, o->n.max_length);
  sub.add_option("--batch-size", o->n.batch_size, "Texts per batch")->check(kAtLeastOne)->capture_default_str();
  sub.add_option("--cache-dir", o->cache_dir, "Where corpus embeddings are cached (default: CORPUS.genlens-cache/)");
  sub.add_flag("--no-cache", o->no_cache, "Encode the corpus again and write no cache");
  sub.add_option("--width", o->width, "Columns of the table (default: $COLUMNS, else the terminal's, else 100)")
      ->check(kAtLeastOne);
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
    o->n.max_length = query_max_length_of(sub, o->n.max_length, adapter);
    {
      const bool no_warn = quiet_requested(sub, o->quiet);
      warn_cuts("neighbors", gen::count_query_cuts(*tok, {o->query}, o->n.instruction, o->n.max_length), no_warn,
                "query");
      warn_cuts("neighbors", gen::count_query_cuts(*tok, corpus, o->n.corpus_instruction, o->n.max_length), no_warn,
                "corpus text");
    }
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
    print_table(res, read_labels(o->corpus, o->label_field), terminal_width(o->width));
    return kOk;
  };
}

RegisterCommand reg({"neighbors", "A query's nearest corpus texts in each embedding space, one block per space", setup,
                     54});

}  // namespace
}  // namespace genlens::cli
