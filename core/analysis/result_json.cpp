#include "core/analysis/result_json.h"

namespace genlens::analysis {

using json = nlohmann::json;

namespace {

json score_json(const TokenScore& s, const char* score_name) {
  return {{"id", s.id}, {"piece", s.piece}, {"text", s.text}, {score_name, s.score}};
}

json position_json(const LensPosition& p) {
  json j{{"index", p.index}, {"kind", to_string(p.kind)}, {"label", p.label}};
  if (p.token_id >= 0) j["token_id"] = p.token_id;
  return j;
}

json cell_json(const LensCell& c) {
  json top = json::array();
  for (const auto& s : c.top) top.push_back(score_json(s, "prob"));
  json j{{"layer", c.layer}, {"position", c.position}, {"entropy", c.entropy}, {"top", top}};
  if (!c.tracked.empty()) {
    json tr = json::array();
    for (const auto& t : c.tracked)
      tr.push_back({{"word", t.word}, {"id", t.id}, {"text", t.text}, {"pieces", t.n_pieces}, {"rank", t.rank},
                    {"prob", t.prob}});
    j["tracked"] = tr;
  }
  return j;
}

json decoded_json(const DecodedText& d) {
  return {{"text", d.text}, {"ids", d.ids}, {"stopped_at_eos", d.stopped_at_eos}};
}

json hit_json(const LatentHit& h) {
  return {{"token_id", h.token_id}, {"token", h.token_text}, {"layer", h.layer}, {"similarity", h.similarity},
          {"entry", h.entry},       {"row", h.row},          {"position", h.position}, {"context", h.context}};
}

}  // namespace

json to_json(const std::vector<SummaryWord>& summary) {
  json a = json::array();
  for (const auto& w : summary) a.push_back({{"id", w.id}, {"text", w.text}, {"prob_sum", w.prob_sum}, {"count", w.count}});
  return a;
}

json to_json(const LensResult& r) {
  json j;
  j["query"] = r.query;
  j["instruction"] = r.instruction;
  j["n_layers"] = r.n_layers;
  j["layers"] = r.layers;
  j["positions"] = json::array();
  for (const auto& p : r.positions) j["positions"].push_back(position_json(p));
  // cells[layer_index][position_index]
  j["cells"] = json::array();
  for (size_t li = 0; li < r.layers.size(); ++li) {
    json row = json::array();
    for (size_t pi = 0; pi < r.positions.size(); ++pi) row.push_back(cell_json(r.cell(li, pi)));
    j["cells"].push_back(row);
  }
  if (!r.soft_positions.empty()) {
    json soft = json::array();
    for (size_t i = 0; i < r.soft_positions.size(); ++i) {
      json s = position_json(r.soft_positions[i]);
      s["output_lens"] = cell_json(r.soft_output_lens[i]);
      json near = json::array();
      for (const auto& t : r.soft_input_lens[i]) near.push_back(score_json(t, "cosine"));
      s["input_lens"] = near;
      soft.push_back(s);
    }
    j["soft_prompts"] = soft;
  }
  j["summary_layer"] = r.summary_layer;
  j["summary"] = to_json(r.summary);
  return j;
}

json to_json(const DecodeResult& r) {
  json j{{"query", r.query}, {"from_embedding", decoded_json(r.from_embedding)}};
  if (r.has_model_answer) j["model_answer"] = decoded_json(r.model_answer);
  return j;
}

json to_json(const InterpolationResult& r) {
  json steps = json::array();
  for (const auto& s : r.steps) {
    json d = decoded_json(s.text);
    d["t"] = s.t;
    steps.push_back(d);
  }
  return {{"query_a", r.query_a}, {"query_b", r.query_b}, {"steps", steps}};
}

json to_json(const LatentLensResult& r) {
  json pos = json::array();
  for (const auto& p : r.positions) {
    json hits = json::array();
    for (const auto& h : p.hits) hits.push_back(hit_json(h));
    json pj = position_json(p.position);
    pj["hits"] = hits;
    pos.push_back(pj);
  }
  return {{"query", r.query},   {"encoder_layer", r.encoder_layer}, {"index_layer", r.index_layer},
          {"search", r.search}, {"positions", pos}};
}

json to_json(const LatentIndexInfo& r) {
  return {{"dir", r.dir},
          {"n_entries", r.n_entries},
          {"hidden", r.hidden},
          {"layers", r.layers},
          {"n_rows", r.n_rows},
          {"model_path", r.model_path},
          {"weights_fingerprint", r.weights_fingerprint},
          {"has_hnsw", r.has_hnsw},
          {"complete", r.complete}};
}

json hits_json(const std::vector<Neighbor>& hits) {
  json out = json::array();
  for (const auto& h : hits) out.push_back({{"index", h.index}, {"similarity", h.similarity}, {"text", h.text}});
  return out;
}

json to_json(const NeighborsResult& r) {
  json modes = json::array();
  for (const auto& m : r.per_mode)
    modes.push_back({{"mode", m.mode}, {"from_cache", m.from_cache}, {"cache", m.cache_path}, {"hits", hits_json(m.hits)}});
  return {{"query", r.query}, {"modes", modes}};
}

}  // namespace genlens::analysis
