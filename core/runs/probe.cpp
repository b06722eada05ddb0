#include "core/runs/probe.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

#include "core/analysis/decode.h"
#include "core/analysis/lens.h"
#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/gen/query_length.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"

namespace genlens::runs {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::vector<std::string> answer_words(const std::string& answer) {
  // Function words long enough to pass the length test; they say nothing about content.
  static const std::set<std::string> kFunction = {
      "about", "above", "after", "again", "also", "been", "before", "being", "both", "could", "does", "doing",
      "down", "each", "from", "have", "having", "here", "into", "just", "more", "most", "much", "must", "only",
      "other", "over", "same", "should", "some", "such", "than", "that", "their", "them", "then", "there",
      "these", "they", "this", "those", "through", "under", "until", "very", "were", "what", "when", "where",
      "which", "while", "will", "with", "would", "your", "yours", "yourself"};
  std::vector<std::string> out;
  const std::string lower = text::unicode::ascii_lower(answer);
  size_t i = 0;
  while (i < lower.size()) {
    if (!std::isalpha(static_cast<unsigned char>(lower[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < lower.size() && std::isalpha(static_cast<unsigned char>(lower[j]))) ++j;
    std::string w = lower.substr(i, j - i);
    if (w.size() >= 4 && !kFunction.count(w) && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    i = j;
  }
  return out;
}

bool piece_hits(const std::string& piece, const std::vector<std::string>& signature) {
  std::string p = piece;
  for (const std::string marker : {"\xe2\x96\x81", "\xc4\xa0"})  // SentencePiece U+2581, GPT-2 byte-level space
    while (p.rfind(marker, 0) == 0) p = p.substr(marker.size());
  p = text::unicode::ascii_lower(p);
  if (p.size() < 3) return false;
  for (const auto& w : signature)
    for (size_t at = 0; (at = w.find(p, at)) != std::string::npos; ++at)
      if (at == 0 || !std::isalnum(static_cast<unsigned char>(w[at - 1]))) return true;
  return false;
}

ProbeResult probe_queries(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                          const std::vector<demo::WorldExample>& queries, runtime::JobContext& ctx,
                          const std::string& stage) {
  ProbeResult res;
  res.measure = "signature";
  ctx.set_stage(stage, static_cast<int64_t>(queries.size()), "queries");
  analysis::LensOptions lo;
  lo.top_k = 10;
  lo.layers = "-1";
  lo.input_lens_top_k = 0;
  analysis::DecodeOptions dopt;
  dopt.max_new_tokens = 40;
  dopt.model_answer = false;
  int lens_hits = 0, decode_hits = 0;
  for (size_t i = 0; i < queries.size(); i += 32) {
    ctx.check_cancel();
    const size_t end = std::min(queries.size(), i + 32);
    std::vector<std::string> qs;
    for (size_t k = i; k < end; ++k) qs.push_back(queries[k].question);
    auto dec = analysis::decode_queries(lm, adapter, tok, qs, dopt);
    for (size_t k = i; k < end; ++k) {
      demo::WorldExample e = queries[k];
      if (e.signature.empty()) {
        e.signature = answer_words(e.answer);
        res.measure = "answer words";
      }
      ProbeRow row;
      row.id = e.id;
      row.question = e.question;
      row.category = e.category;
      row.signature = e.signature;
      auto lr = analysis::logit_lens(lm, &adapter, tok, e.question, lo);
      for (size_t p = 0; p < lr.positions.size(); ++p) {
        if (lr.positions[p].kind != analysis::PositionKind::Compression) continue;
        for (const auto& sc : lr.cell(0, p).top) {
          if (std::find(row.lens_words.begin(), row.lens_words.end(), sc.text) == row.lens_words.end())
            row.lens_words.push_back(sc.text);
          row.lens_hit = row.lens_hit || piece_hits(sc.piece, e.signature);
        }
      }
      row.decoded = dec[k - i].from_embedding.text;
      row.decode_hit = demo::right_kind(e, row.decoded);
      lens_hits += row.lens_hit;
      decode_hits += row.decode_hit;
      res.rows.push_back(std::move(row));
      res.lens.push_back(std::move(lr));
      ctx.advance();
    }
  }
  if (!queries.empty()) {
    res.lens_rate = static_cast<double>(lens_hits) / static_cast<double>(queries.size());
    res.decode_rate = static_cast<double>(decode_hits) / static_cast<double>(queries.size());
  }
  return res;
}

void write_probe(const ProbeResult& r, const fs::path& dir) {
  fs::create_directories(dir);
  io::write_file_atomic_with(dir / "samples.jsonl", [&](const fs::path& tmp) {
    io::JsonlWriter w(tmp, io::JsonlWriter::Mode::Truncate);
    for (const auto& row : r.rows)
      w.write(ojson{{"id", row.id},
                    {"question", row.question},
                    {"category", row.category},
                    {"signature", row.signature},
                    {"lens_top10", row.lens_words},
                    {"lens_hit", row.lens_hit},
                    {"decoded", row.decoded},
                    {"decode_hit", row.decode_hit}});
  });
  ojson j{{"n", r.rows.size()}, {"lens_rate", r.lens_rate}, {"decode_rate", r.decode_rate}, {"measure", r.measure}};
  io::write_file_atomic(dir / "probe.json", j.dump(2) + "\n");
}

void write_probe_map(const model::DecoderLM& lm, const gen::LoadedAdapter& adapter, const text::Tokenizer& tok,
                     const std::vector<demo::WorldExample>& queries, const std::string& instruction, const fs::path& dir,
                     runtime::JobContext& ctx) {
  std::vector<std::string> ids, texts, labels;
  for (const auto& e : queries) {
    ids.push_back(e.id);
    texts.push_back(e.question);
    labels.push_back(!e.category.empty() ? e.category : e.label);
  }
  ojson xy_pca = ojson::array(), xy_umap = ojson::array();
  if (!texts.empty()) {
    ctx.set_stage("map", 0, "");
    gen::EncodeOptions eo;
    eo.batch_size = 64;
    eo.max_length = gen::query_max_length(&adapter.meta);
    eo.check_cancel = [&] { ctx.check_cancel(); };
    auto x = analysis::to_points(gen::encode_texts(lm, &adapter.adapter, tok, texts, instruction, eo));
    auto xy = [](const analysis::Points& p) {
      ojson a = ojson::array();
      for (int64_t r = 0; r < p.rows; ++r) a.push_back({p.at(r, 0), p.at(r, 1)});
      return a;
    };
    if (x.rows >= 2) xy_pca = xy(analysis::pca(x, {}).coords);
    if (x.rows >= 4) {
      analysis::UmapOptions uo;
      uo.n_neighbors = std::min<int>(15, static_cast<int>(x.rows) - 1);
      uo.seed = 0;
      xy_umap = xy(analysis::umap_fit(x, uo).embedding);
    }
  }
  fs::create_directories(dir);
  ojson m{{"ids", ids}, {"texts", texts}, {"labels", labels}, {"instruction", instruction}, {"pca", xy_pca}, {"umap", xy_umap}};
  io::write_file_atomic(dir / "map.json", m.dump() + "\n");
}

}  // namespace genlens::runs
