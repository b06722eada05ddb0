// The held-out probe: what an adapter's compression tokens say and what its soft prompts
// decode to, scored per query the way the paper reads them. For each held-out query:
//   lens   the logit lens at the last layer, top-10 at every compression position; a hit
//          when one piece (3+ letters, word marker dropped) begins a signature word
//   decode greedy text from the soft prompts alone (40 tokens); a hit when it contains a
//          signature word (whole word, case-insensitive: demo::right_kind, core/data/demo_world.h)
// A query's signature words are its "signature" field (the demo world's kinds of answer),
// or else the content words of its "answer" (the response the model gave; words of 4+
// letters that are not function words). The demo's lens stage and `genlens study` use it.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "core/analysis/lens_types.h"
#include "core/data/demo_world.h"

namespace genlens::gen {
class Adapter;
struct LoadedAdapter;
}
namespace genlens::model {
class DecoderLM;
}
namespace genlens::text {
class Tokenizer;
}
namespace genlens::runtime {
class JobContext;
}

namespace genlens::runs {

struct ProbeRow {
  std::string id, question, category;
  std::vector<std::string> signature;   // the words hits are counted against
  std::vector<std::string> lens_words;  // distinct readable top-10 pieces over the compression positions
  bool lens_hit = false;
  std::string decoded;
  bool decode_hit = false;
};

struct ProbeResult {
  std::vector<ProbeRow> rows;
  std::vector<analysis::LensResult> lens;  // one per row (the demo summarises them)
  double lens_rate = 0, decode_rate = 0;   // hits / rows (0 with no rows)
  std::string measure;                     // "signature" when every query had one, else "answer words"
};

// The content words of an answer, lower case, in order, each once: runs of letters of 4+
// bytes that are not common English function words.
std::vector<std::string> answer_words(const std::string& answer);

// Whether a top-k piece counts as a signature word: without SentencePiece's or GPT-2's
// word marker it is 3+ letters and begins one of the words.
bool piece_hits(const std::string& piece, const std::vector<std::string>& signature);

// Stage `stage` on ctx (one unit per query; the demo's pipeline calls it "lens"); batches
// of 32 for decoding.
ProbeResult probe_queries(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                          const std::vector<demo::WorldExample>& queries, runtime::JobContext& ctx,
                          const std::string& stage = "probe");

// DIR/probe.json {"n", "lens_rate", "decode_rate", "measure"} and DIR/samples.jsonl (one
// row per query: id, question, category, signature, lens_top10, lens_hit, decoded,
// decode_hit), both written atomically.
void write_probe(const ProbeResult& r, const std::filesystem::path& dir);

// DIR/map.json: the queries' generative embeddings (with `instruction`) in 2-D for the
// studio's side-by-side maps: {"ids", "texts", "labels", "pca": [[x, y]], "umap": [[x, y]]}
// (umap empty below 4 queries). Labels: the category, else the label.
void write_probe_map(const model::DecoderLM& lm, const gen::LoadedAdapter& adapter, const text::Tokenizer& tok,
                     const std::vector<demo::WorldExample>& queries, const std::string& instruction,
                     const std::filesystem::path& dir, runtime::JobContext& ctx);

}  // namespace genlens::runs
