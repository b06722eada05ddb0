// Region labels of an embedding map, written by the embedding itself: the map is cut into
// regions (map_regions.h) and each region is labelled with the words that are
// over-represented in its members' compression-token logit lens compared with the other
// regions -- a class-based TF-IDF over regions, as BERTopic labels its topics (Grootendorst
// 2022, c-TF-IDF): every region is one "document" made of its members' lens words (each
// member's words once: those among the top 5 at some compression position, last layer);
// a word's weight in region c is
//
//   W(w, c) = tf(w, c) * log(1 + A / f(w))
//
// with tf(w, c) the word's count in c divided by c's total count, f(w) its count over all
// regions and A the mean total count per region. Words every region's lens shows ("The",
// "you") get a small weight however frequent they are; words one region's lens shows far
// more than the others (a capital, "refuse") get a large one.
//
// The scoring is plain functions over term counts (unit-tested without a model); the
// pipeline that computes the lens of each region's members is label_map_regions().
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/analysis/projection.h"  // Points

namespace genlens::model {
class DecoderLM;
}
namespace genlens::gen {
class Adapter;
}
namespace genlens::text {
class Tokenizer;
}
namespace genlens::runtime {
class JobContext;
}

namespace genlens::analysis {

// A lens piece's readable text ("·The", "▁capital") as a label word: without word-start
// markers and spaces; "" when it has fewer than three letters (fragments, punctuation).
std::string region_label_word(const std::string& readable_piece);

// One region's words: word (as spelled in the lens) -> weight summed over its members.
struct RegionTerms {
  std::map<std::string, double> count;
  void add(const std::string& word, double weight = 1.0) {
    if (!word.empty() && weight > 0) count[word] += weight;
  }
};

struct WeightedWord {
  std::string word;
  double weight = 0;
};

// c-TF-IDF over regions (the formula above). Spellings that differ only in case ("The",
// "the") are one word, shown as its most frequent spelling. Per region, its `top_n` words
// by weight, heaviest first (ties: alphabetical).
std::vector<std::vector<WeightedWord>> class_tfidf(const std::vector<RegionTerms>& regions, int top_n);

// A simpler rule for comparison with c-TF-IDF: a word's share of its region minus its
// mean share in the other regions (counts are taken as shares).
// Dominated by the few words every region's lens ranks first.
std::vector<std::vector<WeightedWord>> share_contrast(const std::vector<RegionTerms>& regions, int top_n);

// Where a region's label goes: its densest member -- the one with the most other members
// within `radius` (layout units); ties go to the one nearer the members' mean. Unlike the
// region's centre, it always sits on points (a ring-shaped region's centre can be empty).
int64_t densest_member(const Points& layout, const std::vector<int64_t>& members, float radius);

enum class RegionLabelRule { ClassTfIdf, ShareContrast };

struct RegionLabelOptions {
  int max_regions = 10;        // k-means k searched from 2 to this (map_regions.h)
  int words = 3;               // per label
  int lens_members = 40;       // members whose lens is read, nearest the region's centre first
  std::string instruction;     // put before every text (as the map's embeddings were made)
  RegionLabelRule rule = RegionLabelRule::ClassTfIdf;
  // ShareContrast reads the lens summary of only this many members, the most central.
  int contrast_members = 6;
};

struct MapRegionLabel {
  float x = 0, y = 0;            // where the label is anchored: the region's densest member
  float cx = 0, cy = 0;          // the region's centre (k-means)
  int64_t size = 0;
  std::vector<int64_t> members;  // every member, nearest the centre first
  std::vector<WeightedWord> words;
};

// Regions of the 2-D `layout` of `texts` (row-aligned), largest first, each labelled by
// the last-layer logit lens of its members' compression tokens. Needs an adapter.
std::vector<MapRegionLabel> label_map_regions(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                              const text::Tokenizer& tok, const Points& layout,
                                              const std::vector<std::string>& texts, const RegionLabelOptions& opt,
                                              runtime::JobContext* ctx = nullptr);

}  // namespace genlens::analysis
