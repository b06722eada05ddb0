// Core lens results (plain data) become the inspector's heatmap cells in the right place.
#include <doctest/doctest.h>

#include "app/studio/lens_snapshot.h"

using namespace genlens;

TEST_CASE("lens snapshot: cells land by (layer, position), tracked words in the top-k are starred") {
  analysis::LensResult r;
  r.layers = {0, 2};
  r.positions.resize(3);
  r.positions[0].label = "C0", r.positions[1].label = "C1", r.positions[2].label = "C2";
  // Cells deliberately out of order.
  for (int64_t layer : {2, 0})
    for (int64_t p = 2; p >= 0; --p) {
      analysis::LensCell c;
      c.layer = layer;
      c.position = p;
      c.top = {{1, "Ġhoney", "·honey", 0.1 * double(layer + p + 1)}, {2, "Ġhive", "·hive", 0.01}};
      if (layer == 2 && p == 1) c.tracked = {{"hive", 2, "·hive", 2, 0.01}};
      if (layer == 0 && p == 0) {  // tracked "wax" ranks outside the top-k, and no ·hive here: no star
        c.top[1] = {3, "Ġcomb", "·comb", 0.01};
        c.tracked = {{"wax", 4, "·wax", 900, 1e-6}};
      }
      r.cells.push_back(c);
    }
  views::InspectorSnapshot s;
  studio::fill_lens(r, s);
  CHECK(s.lens_layers == std::vector<std::string>{"L0", "L2"});
  CHECK(s.lens_positions == std::vector<std::string>{"C0", "C1", "C2"});
  REQUIRE(s.lens.size() == 6);
  CHECK(s.lens[0].topk[0].second == doctest::Approx(0.1f));      // L0, C0
  CHECK(s.lens[5].topk[0].second == doctest::Approx(0.5f));      // L2, C2
  CHECK(s.tracked_words == std::vector<std::string>{"·hive"});
  auto h = views::lens_heatmap(s);
  CHECK(h.cell_text[4] == "★·honey");  // L2, C1 holds the tracked ·hive in its top-k
  CHECK(h.cell_text[0] == "·honey");

  analysis::DecodeResult d;
  d.from_embedding.text = "Bees make honey";
  d.from_embedding.stopped_at_eos = false;
  studio::fill_decode(d, s);
  CHECK(s.decoded == "Bees make honey …");  // cut at max_new_tokens: says so
  CHECK(s.decoded_status.is_ready());
  CHECK_FALSE(s.answer_status.is_ready());
}
