#include "app/studio/lens_snapshot.h"

#include <fmt/format.h>

#include <algorithm>

namespace genlens::studio {

void fill_lens(const analysis::LensResult& lens, views::InspectorSnapshot& s) {
  s.lens_layers.clear();
  s.lens_positions.clear();
  s.lens.clear();
  s.tracked_words.clear();
  for (auto l : lens.layers) s.lens_layers.push_back(fmt::format("L{}", l));
  for (auto& p : lens.positions) s.lens_positions.push_back(p.label);
  s.lens.resize(lens.layers.size() * lens.positions.size());
  for (const auto& c : lens.cells) {
    // Cells carry their layer number and position index; place them by those, so a
    // result with cells in any order still lands in the right square.
    size_t li = 0;
    while (li < lens.layers.size() && lens.layers[li] != c.layer) ++li;
    if (li == lens.layers.size() || c.position < 0 || size_t(c.position) >= lens.positions.size()) continue;
    auto& cell = s.lens[li * lens.positions.size() + size_t(c.position)];
    for (auto& t : c.top) cell.topk.emplace_back(t.text, float(t.score));
    for (auto& t : c.tracked)
      if (t.rank >= 1 && size_t(t.rank) <= c.top.size() &&
          std::find(s.tracked_words.begin(), s.tracked_words.end(), t.text) == s.tracked_words.end())
        s.tracked_words.push_back(t.text);
  }
  s.lens_status = views::Status::ready();
}

void fill_decode(const analysis::DecodeResult& d, views::InspectorSnapshot& s) {
  s.decoded = d.from_embedding.text + (d.from_embedding.stopped_at_eos ? "" : " …");
  s.decoded_status = views::Status::ready();
  if (d.has_model_answer) {
    s.answer = d.model_answer.text;
    s.answer_status = views::Status::ready();
  }
}

void fill_walk(const analysis::InterpolationResult& w, views::InspectorSnapshot& s) {
  s.walk.clear();
  s.walk_from = w.query_a;
  s.walk_to = w.query_b;
  for (auto& st : w.steps) s.walk.emplace_back(float(st.t), st.text.text);
  s.walk_status = views::Status::ready();
}

void fill_latent(const analysis::LatentQueryPosition& pos, views::InspectorSnapshot& s) {
  s.latent.clear();
  for (auto& h : pos.hits) s.latent.push_back({h.token_text, h.context, int(h.layer), float(h.similarity)});
  s.latent_status = views::Status::ready();
}

}  // namespace genlens::studio
