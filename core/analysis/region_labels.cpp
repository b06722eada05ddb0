#include "core/analysis/region_labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>

#include "core/analysis/lens.h"
#include "core/analysis/map_regions.h"
#include "core/runtime/job.h"
#include "core/util/error.h"
#include "core/text/unicode.h"

namespace genlens::analysis {

std::string region_label_word(const std::string& text) {
  std::string w;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "\xc2\xb7") == 0) {  // "·": a space as readable pieces show it
      i += 2;
      continue;
    }
    if (text.compare(i, 3, "\xe2\x96\x81") == 0) {  // SentencePiece's "▁"
      i += 3;
      continue;
    }
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    w += text[i++];
  }
  int letters = 0;
  for (unsigned char c : w) letters += std::isalpha(c) || c >= 0x80;
  return letters >= 3 ? w : std::string();
}

namespace {

std::vector<WeightedWord> top_words(std::vector<WeightedWord> scored, int top_n) {
  std::sort(scored.begin(), scored.end(), [](const WeightedWord& a, const WeightedWord& b) {
    return a.weight != b.weight ? a.weight > b.weight : a.word < b.word;
  });
  std::vector<WeightedWord> out;
  std::set<std::string> seen;  // "The" and "the" are one word on a label
  for (auto& s : scored) {
    if (static_cast<int>(out.size()) >= top_n) break;
    if (seen.insert(text::unicode::ascii_lower(s.word)).second) out.push_back(s);
  }
  return out;
}

}  // namespace

std::vector<std::vector<WeightedWord>> class_tfidf(const std::vector<RegionTerms>& regions, int top_n) {
  // Fold case: per region, lower-cased word -> count; and the spelling seen most overall.
  std::vector<std::map<std::string, double>> tf(regions.size());
  std::map<std::string, std::map<std::string, double>> spellings;
  std::map<std::string, double> f;  // over all regions
  double total = 0;
  for (size_t c = 0; c < regions.size(); ++c)
    for (auto& [w, n] : regions[c].count) {
      if (!(n > 0)) continue;
      const auto key = text::unicode::ascii_lower(w);
      tf[c][key] += n;
      spellings[key][w] += n;
      f[key] += n;
      total += n;
    }
  const double A = regions.empty() ? 0.0 : total / static_cast<double>(regions.size());
  std::map<std::string, std::string> shown;
  for (auto& [key, sp] : spellings) {
    const auto best = std::max_element(sp.begin(), sp.end(), [](auto& a, auto& b) {
      return a.second != b.second ? a.second < b.second : a.first > b.first;  // ties: the first alphabetically
    });
    shown[key] = best->first;
  }
  std::vector<std::vector<WeightedWord>> out;
  for (size_t c = 0; c < regions.size(); ++c) {
    double size = 0;
    for (auto& [w, n] : tf[c]) size += n;
    std::vector<WeightedWord> scored;
    for (auto& [w, n] : tf[c]) scored.push_back({shown[w], (n / size) * std::log(1.0 + A / f[w])});
    out.push_back(top_words(std::move(scored), top_n));
  }
  return out;
}

std::vector<std::vector<WeightedWord>> share_contrast(const std::vector<RegionTerms>& regions, int top_n) {
  std::vector<std::vector<WeightedWord>> out;
  for (size_t k = 0; k < regions.size(); ++k) {
    std::vector<WeightedWord> scored;
    for (auto& [w, v] : regions[k].count) {
      double others = 0;
      for (size_t j = 0; j < regions.size(); ++j)
        if (j != k) {
          auto it = regions[j].count.find(w);
          others += it == regions[j].count.end() ? 0.0 : it->second;
        }
      const double score = v - (regions.size() > 1 ? others / static_cast<double>(regions.size() - 1) : 0.0);
      if (score > 0) scored.push_back({w, score});
    }
    out.push_back(top_words(std::move(scored), top_n));
  }
  return out;
}

int64_t densest_member(const Points& layout, const std::vector<int64_t>& members, float radius) {
  if (members.empty()) return -1;
  // Large regions: candidates and neighbours from an even sample (the count is a density
  // estimate, not an exact neighbour count).
  const size_t cap = 1500;
  std::vector<int64_t> sample;
  const size_t stride = std::max<size_t>(1, members.size() / cap);
  for (size_t i = 0; i < members.size(); i += stride) sample.push_back(members[i]);
  double mx = 0, my = 0;
  for (auto m : sample) mx += layout.at(m, 0), my += layout.at(m, 1);
  mx /= static_cast<double>(sample.size());
  my /= static_cast<double>(sample.size());
  const float r2 = radius * radius;
  int64_t best = sample.front(), best_n = -1;
  double best_d = 0;
  for (auto a : sample) {
    const float ax = layout.at(a, 0), ay = layout.at(a, 1);
    int64_t n = 0;
    for (auto b : sample) {
      const float dx = layout.at(b, 0) - ax, dy = layout.at(b, 1) - ay;
      n += dx * dx + dy * dy <= r2;
    }
    const double d = (ax - mx) * (ax - mx) + (ay - my) * (ay - my);
    if (n > best_n || (n == best_n && d < best_d)) best = a, best_n = n, best_d = d;
  }
  return best;
}

std::vector<MapRegionLabel> label_map_regions(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                              const text::Tokenizer& tok, const Points& layout,
                                              const std::vector<std::string>& texts, const RegionLabelOptions& opt,
                                              runtime::JobContext* ctx) {
  if (layout.rows != static_cast<int64_t>(texts.size()))
    fail("region labels: the layout has {} points but the corpus {} texts", layout.rows, texts.size());
  if (ctx) ctx->set_stage("regions of the map");
  MapRegionOptions ro;
  ro.max_k = std::max(2, opt.max_regions);
  ro.representatives = std::numeric_limits<int>::max();  // every member, nearest the centre first
  const auto regions = find_map_regions(layout, ro);

  LensOptions lo;
  lo.instruction = opt.instruction;
  lo.layers = "-1";  // the last layer: what the compression states say about the response
  lo.top_k = 10;
  lo.input_lens_top_k = 0;
  lo.summary_size = 60;
  const int per_region = opt.rule == RegionLabelRule::ShareContrast ? opt.contrast_members : opt.lens_members;
  int64_t total = 0;
  for (auto& r : regions) total += std::min<int64_t>(static_cast<int64_t>(r.nearest.size()), per_region);
  if (ctx) ctx->set_stage("lens of each region's members", total, "texts");

  std::vector<RegionTerms> terms(regions.size());
  for (size_t k = 0; k < regions.size(); ++k) {
    std::vector<LensResult> lens;
    for (size_t i = 0; i < regions[k].nearest.size() && static_cast<int>(i) < per_region; ++i) {
      if (ctx) ctx->check_cancel();
      lens.push_back(logit_lens(lm, &adapter, tok, texts[static_cast<size_t>(regions[k].nearest[i])], lo));
      if (ctx) ctx->advance();
    }
    if (opt.rule == RegionLabelRule::ShareContrast) {
      // As before: the summary over the central members, each word's count as a share of
      // the most frequent word's.
      const auto summary = summarize_lens(lens, tok, lo);
      double cells = 0;
      for (auto& w : summary) cells = std::max(cells, static_cast<double>(w.count));
      for (auto& w : summary) terms[k].add(region_label_word(w.text), static_cast<double>(w.count) / std::max(1.0, cells));
    } else {
      // Each member is one document: a word counts once per member whose lens has it among
      // the top 5 of some compression position (a word a member repeats at all its
      // positions is one piece of evidence, not ten).
      for (auto& r : lens) {
        std::set<std::string> mine;
        for (auto& w : r.summary) mine.insert(region_label_word(w.text));
        for (auto& w : mine) terms[k].add(w, 1.0);
      }
    }
  }
  const auto words = opt.rule == RegionLabelRule::ShareContrast ? share_contrast(terms, opt.words)
                                                                : class_tfidf(terms, opt.words);
  float x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  for (int64_t r = 0; r < layout.rows; ++r) {
    const float x = layout.at(r, 0), y = layout.at(r, 1);
    if (r == 0 || x < x0) x0 = x;
    if (r == 0 || x > x1) x1 = x;
    if (r == 0 || y < y0) y0 = y;
    if (r == 0 || y > y1) y1 = y;
  }
  const float radius = 0.05f * std::max({x1 - x0, y1 - y0, 1e-6f});
  std::vector<MapRegionLabel> out;
  for (size_t k = 0; k < regions.size(); ++k) {
    MapRegionLabel l;
    l.cx = regions[k].cx;
    l.cy = regions[k].cy;
    l.size = regions[k].size;
    l.members = regions[k].nearest;
    const int64_t d = densest_member(layout, l.members, radius);
    l.x = d >= 0 ? layout.at(d, 0) : l.cx;
    l.y = d >= 0 ? layout.at(d, 1) : l.cy;
    l.words = words[k];
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace genlens::analysis
