// Region labels of the embedding map (core/analysis/region_labels.h): c-TF-IDF over
// regions as BERTopic computes it, the rule it replaced, the label's anchor; and, on a
// demo workspace when one is named, the share of regions whose label holds a word of the
// majority category's answers, before (the old rule) and after (c-TF-IDF):
//
//   GENLENS_REGION_LABELS_DEMO=~/genlens-demo build/tests/genlens_tests -tc='region labels: on a demo*'
//
// Also the training settings' warm-up warning (core/gen/train_settings.h), which the CLI
// prints and the studio's form shows.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "core/analysis/region_labels.h"
#include "core/gen/checkpoint.h"
#include "core/gen/train_settings.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "tests/gen_fixtures.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;

TEST_CASE("region labels: c-TF-IDF weighs words over-represented in a region, not frequent ones") {
  // Three regions. "The" is the most frequent word in every one; "capital" and "Velmora"
  // belong to region 0, "angry" to region 1, "refuse" to region 2.
  std::vector<analysis::RegionTerms> r(3);
  r[0].add("The", 30), r[0].add("capital", 10), r[0].add("Velmora", 8), r[0].add("you", 5);
  r[1].add("The", 25), r[1].add("angry", 12), r[1].add("you", 15);
  r[2].add("the", 28), r[2].add("refuse", 9), r[2].add("you", 6), r[2].add("The", 2);
  auto w = analysis::class_tfidf(r, 2);
  REQUIRE(w.size() == 3);
  REQUIRE(w[0].size() == 2);
  CHECK(w[0][0].word == "capital");
  CHECK(w[0][1].word == "Velmora");
  CHECK(w[1][0].word == "angry");
  CHECK(w[2][0].word == "refuse");
  // The formula: tf(w, c) * log(1 + A / f(w)), case folded ("the" + "The" in region 2).
  double total = 0;
  for (auto& t : r)
    for (auto& [k, n] : t.count) total += n;
  const double A = total / 3.0;
  const double size0 = 30 + 10 + 8 + 5;
  CHECK(w[0][0].weight == doctest::Approx(10.0 / size0 * std::log(1.0 + A / 10.0)));
  auto all = analysis::class_tfidf(r, 10);
  bool found_the = false;
  for (auto& x : all[2])
    if (x.word == "the") {  // the spelling seen most (28 "the" vs 2 "The" there, 55 "The" elsewhere: "The")
      found_the = true;
    }
  CHECK_FALSE(found_the);
  double the2 = 0;
  for (auto& x : all[2])
    if (x.word == "The") the2 = x.weight;
  CHECK(the2 == doctest::Approx(30.0 / 45.0 * std::log(1.0 + A / 85.0)));
  CHECK(the2 < all[2][0].weight);
  // Ties are alphabetical; an empty region gets no words.
  std::vector<analysis::RegionTerms> t(2);
  t[0].add("beta", 1), t[0].add("alpha", 1);
  auto tw = analysis::class_tfidf(t, 5);
  CHECK(tw[0][0].word == "alpha");
  CHECK(tw[1].empty());
}

TEST_CASE("region labels: the old share-contrast rule, label words and the densest member") {
  std::vector<analysis::RegionTerms> r(2);
  r[0].add("The", 1.0), r[0].add("capital", 0.5), r[0].add("the", 0.9);
  r[1].add("The", 0.4), r[1].add("angry", 1.0);
  auto w = analysis::share_contrast(r, 3);
  REQUIRE(w[0].size() == 2);  // "The" and "the" are one word on a label: the higher one kept
  CHECK(w[0][0].word == "the");
  CHECK(w[0][1].word == "capital");
  CHECK(w[1][0].word == "angry");

  CHECK(analysis::region_label_word("\xc2\xb7The") == "The");
  CHECK(analysis::region_label_word("\xe2\x96\x81" "capital") == "capital");
  CHECK(analysis::region_label_word("\xc2\xb7is") == "");
  CHECK(analysis::region_label_word(",") == "");

  // A ring of 12 points around an empty centre and a tight clump of 5 at (3, 0): the label
  // goes on the clump, never on the empty centre.
  analysis::Points p;
  p.cols = 2;
  std::vector<int64_t> members;
  for (int i = 0; i < 12; ++i) {
    p.data.push_back(float(std::cos(i * 0.5236))), p.data.push_back(float(std::sin(i * 0.5236)));
    members.push_back(p.rows++);
  }
  for (int i = 0; i < 5; ++i) {
    p.data.push_back(3.0f + 0.01f * float(i)), p.data.push_back(0.0f);
    members.push_back(p.rows++);
  }
  const auto d = analysis::densest_member(p, members, 0.2f);
  CHECK(d >= 12);
  CHECK(analysis::densest_member(p, {}, 1.0f) == -1);
}

TEST_CASE("train settings: a warm-up as long as the run is warned about (the CLI and the studio's form)") {
  gen::TrainSettings s;
  s.steps = 30;
  s.warmup_steps = 100;
  auto w = s.warnings();
  REQUIRE(w.size() == 1);
  CHECK(w[0].find("--warmup 100 is not shorter than --steps 30") != std::string::npos);
  CHECK(w[0].find("29%") != std::string::npos);  // (30 - 1) / 100 of --lr at the last step
  CHECK(w[0].find("--warmup 3") != std::string::npos);
  s.warmup_steps = 30;
  CHECK(s.warnings().size() == 1);
  s.warmup_steps = 29;
  CHECK(s.warnings().empty());
  s.warmup_steps = 0;
  CHECK(s.warnings().empty());

  // `genlens train` prints it before training, and not when the warm-up is shorter.
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("train-warmup");
  std::string rows;
  for (int i = 0; i < 8; ++i)
    rows += nlohmann::json{{"id", fmt::format("r{}", i)}, {"question", fmt::format("Question number {}?", i)},
                           {"answer", fmt::format("Answer number {}.", i)}}
                .dump() +
            "\n";
  test::write_file(tmp / "responses.jsonl", rows);
  auto train = [&](const std::string& extra, const std::string& out) {
    return test::run_genlens("train --quiet --model " + test::shell_quote(model.string()) + " --data " +
                             test::shell_quote((tmp / "responses.jsonl").string()) + " --out " +
                             test::shell_quote((tmp / out).string()) +
                             " --steps 2 --batch-size 4 --thought 1 --compression 2 " + extra);
  };
  auto r1 = train("--warmup 5", "a");
  INFO(r1.output);
  REQUIRE(r1.exit_code == 0);
  CHECK(r1.output.find("warning: --warmup 5 is not shorter than --steps 2") != std::string::npos);
  auto r2 = train("--warmup 1", "b");
  INFO(r2.output);
  REQUIRE(r2.exit_code == 0);
  CHECK(r2.output.find("warning:") == std::string::npos);
}

// ---------------------------------------------------------------- the demo figure

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void add_words(std::set<std::string>& out, const std::string& text) {
  std::string w;
  for (size_t i = 0; i <= text.size(); ++i) {
    const unsigned char c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
    if (std::isalpha(c) || c >= 0x80) {
      w += static_cast<char>(c);
    } else {
      if (w.size() >= 3) out.insert(lower(w));
      w.clear();
    }
  }
}

// Per category: the words that mark its answers -- its signature words and the values of
// the slots its answer templates use ({country.capital}, {harm}, ...).
std::map<std::string, std::set<std::string>> answer_words(const fs::path& ws) {
  std::map<std::string, std::set<std::string>> out;
  for (auto* f : {"train.jsonl", "heldout.jsonl"}) {
    std::ifstream in(ws / "world" / f);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      for (auto& s : j.value("signature", std::vector<std::string>{})) add_words(out[j.value("category", "")], s);
    }
  }
  const auto demo = nlohmann::json::parse(std::ifstream(ws / "demo.json"), nullptr, false);
  const auto world = nlohmann::json::parse(std::ifstream(demo.value("world_file", "")), nullptr, false);
  REQUIRE(world.is_object());
  auto slot_values = [&](const std::string& slot, const std::string& field) {
    std::vector<std::string> v;
    const auto& s = world["slots"][slot];
    std::vector<nlohmann::json> lists;
    if (s.is_array()) lists.push_back(s);
    else
      for (auto& [k, l] : s.items()) lists.push_back(l);
    for (auto& l : lists)
      for (auto& x : l) v.push_back(x.is_string() ? x.get<std::string>() : x.value(field.empty() ? "name" : field, ""));
    return v;
  };
  for (auto& c : world["categories"]) {
    auto& words = out[c.value("name", "")];
    for (auto& t : c.value("responses", std::vector<std::string>{}))
      for (size_t b = t.find('{'); b != std::string::npos; b = t.find('{', b + 1)) {
        const auto e = t.find('}', b);
        const std::string ref = t.substr(b + 1, e - b - 1);
        const auto dot = ref.find('.');
        const std::string slot = ref.substr(0, dot), field = dot == std::string::npos ? "" : ref.substr(dot + 1);
        if (world["slots"].contains(slot))
          for (auto& v : slot_values(slot, field)) add_words(words, v);
      }
  }
  return out;
}

}  // namespace

TEST_CASE("region labels: on a demo workspace, the share of labels naming their majority's answers") {
  const char* env = std::getenv("GENLENS_REGION_LABELS_DEMO");
  if (!env || !*env) {
    MESSAGE("set GENLENS_REGION_LABELS_DEMO=WORKSPACE (built by `genlens demo`) to measure the region labels there");
    return;
  }
  const fs::path ws = env;
  std::vector<std::string> texts, categories;
  {
    std::ifstream in(ws / "maps" / "points.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      texts.push_back(j.value("text", ""));
      categories.push_back(j.value("category", ""));
    }
  }
  const auto words = answer_words(ws);
  auto lm = model::DecoderLM::load(ws / "model");
  auto tok = text::load_tokenizer(ws / "model");
  auto adapter = gen::load_adapter(gen::resolve_adapter_dir(ws / "run"), *lm, ws / "model");
  std::string instruction;
  {
    auto meta = nlohmann::json::parse(std::ifstream(ws / "maps" / "generative.json"), nullptr, false);
    if (meta.is_object()) instruction = meta.value("instruction", "");
  }
  for (auto* layout_file : {"umap-generative.npy", "pca-generative.npy"}) {
    auto t = io::load_npy(ws / "maps" / layout_file).to(torch::kFloat32).contiguous();
    analysis::Points layout;
    layout.rows = t.size(0);
    layout.cols = t.size(1);
    layout.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + layout.rows * layout.cols);
    REQUIRE(layout.rows == int64_t(texts.size()));
    for (auto rule : {analysis::RegionLabelRule::ShareContrast, analysis::RegionLabelRule::ClassTfIdf}) {
      analysis::RegionLabelOptions o;
      o.instruction = instruction;
      o.rule = rule;
      const auto regions = analysis::label_map_regions(*lm, adapter.adapter, *tok, layout, texts, o);
      int hits = 0;
      std::string lines;
      for (auto& r : regions) {
        std::map<std::string, int> count;
        for (auto m : r.members) ++count[categories[size_t(m)]];
        auto major = std::max_element(count.begin(), count.end(), [](auto& a, auto& b) { return a.second < b.second; });
        bool hit = false;
        std::string label;
        for (auto& w : r.words) {
          label += (label.empty() ? "" : " · ") + w.word;
          hit = hit || (words.count(major->first) && words.at(major->first).count(lower(w.word)));
        }
        hits += hit;
        lines += fmt::format("    {:<4} {:>3} points, {:<9} {:>3}%  {}\n", hit ? "hit" : "", r.size, major->first,
                             100 * major->second / std::max<int64_t>(1, r.size), label);
      }
      MESSAGE(fmt::format("{} · {}: {} of {} regions ({:.0f}%) name a word of their majority category's answers\n{}",
                          layout_file,
                          rule == analysis::RegionLabelRule::ClassTfIdf ? "c-TF-IDF (now)" : "share contrast (before)",
                          hits, regions.size(), 100.0 * hits / std::max<size_t>(1, regions.size()), lines));
    }
  }
}
