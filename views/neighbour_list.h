// A list of nearest corpus texts (similarity, label, the text cut to one line) in a
// framed child: the inspector's neighbour lists, the ablated and the arithmetic points'.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace genlens::views {

struct Neighbour {
  std::string text, label;
  float score = 0;
};

// `rows` lines tall (at least 3), so that lists drawn side by side share a height.
void draw_neighbour_list(const char* title, const std::vector<Neighbour>& ns, float width, size_t rows);

}  // namespace genlens::views
