#include "core/demo/claims.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <utility>

namespace genlens::demo {

using runs::Study;
using runs::StudyVariant;

std::string embedding_score_definition() {
  return "the mean, over the evaluation tasks, of each task's main metric (generative mode), a lower-is-better "
         "metric (safety's harmful@5) counted as 1 - x";
}

std::optional<Score> embedding_score(const Study& s, const StudyVariant& v) {
  std::vector<const runs::StudyColumn*> eval;
  for (const auto& c : s.columns)
    if (c.kind == "eval") eval.push_back(&c);
  if (eval.empty()) return std::nullopt;
  std::vector<double> per_run;
  for (const auto& r : v.runs) {
    if (!r.done) continue;
    double sum = 0;
    bool all = true;
    for (const auto* c : eval) {
      auto it = r.scores.find(c->id);
      if (it == r.scores.end() || !std::isfinite(it->second)) {
        all = false;
        break;
      }
      sum += c->lower_is_better ? 1.0 - it->second : it->second;
    }
    if (all) per_run.push_back(sum / static_cast<double>(eval.size()));
  }
  if (per_run.empty()) return std::nullopt;
  Score out;
  out.runs = static_cast<int>(per_run.size());
  for (double x : per_run) out.mean += x;
  out.mean /= static_cast<double>(per_run.size());
  if (per_run.size() > 1) {
    double ss = 0;
    for (double x : per_run) ss += (x - out.mean) * (x - out.mean);
    out.spread = std::sqrt(ss / static_cast<double>(per_run.size() - 1));
  }
  return out;
}

namespace {

// One measured quantity of a variant: the embedding score or the decode rate.
struct Measure {
  double mean = 0, spread = 0;
  int runs = 0;
};

std::optional<Measure> embedding(const Study& s, const StudyVariant* v) {
  if (!v) return std::nullopt;
  auto e = embedding_score(s, *v);
  if (!e) return std::nullopt;
  return Measure{e->mean, e->spread, e->runs};
}

std::optional<Measure> decode(const StudyVariant* v) {
  if (!v) return std::nullopt;
  auto m = v->mean.find("decode");
  if (m == v->mean.end()) return std::nullopt;
  Measure out;
  out.mean = m->second;
  if (auto sp = v->spread.find("decode"); sp != v->spread.end()) out.spread = sp->second;
  for (const auto& r : v->runs)
    if (r.done && r.scores.count("decode")) ++out.runs;
  return out;
}

// Two values of a setting are the same when they are the same text or the same number.
bool same_value(const std::string& a, const std::string& b) {
  if (a == b) return true;
  char *ea = nullptr, *eb = nullptr;
  const double x = std::strtod(a.c_str(), &ea), y = std::strtod(b.c_str(), &eb);
  return !a.empty() && !b.empty() && *ea == '\0' && *eb == '\0' && x == y;
}

const StudyVariant* find_variant(const Study& s, const std::vector<std::pair<std::string, std::string>>& want) {
  for (const auto& v : s.variants) {
    bool all = true;
    for (const auto& [key, value] : want) {
      auto it = std::find_if(v.setting.begin(), v.setting.end(), [&](const auto& kv) { return kv.first == key; });
      if (it == v.setting.end() || !same_value(it->second, value)) {
        all = false;
        break;
      }
    }
    if (all) return &v;
  }
  return nullptr;
}

struct Check {
  bool pass = false, noise = false;
};

// lhs >= rhs (or lhs > rhs when strict), where the two come from variants measured as
// `l` and `r`: inside the noise when both have several runs and the sides differ by no
// more than the larger spread.
Check at_least(double lhs, double rhs, const Measure& l, const Measure& r, bool strict = false) {
  Check c;
  c.pass = strict ? lhs > rhs : lhs >= rhs - 1e-12;
  c.noise = std::min(l.runs, r.runs) > 1 && std::fabs(lhs - rhs) <= std::max(l.spread, r.spread);
  return c;
}

std::string verdict(const std::vector<Check>& checks) {
  bool noise = false;
  for (const auto& c : checks) {
    if (!c.pass && !c.noise) return kNotReproduced;
    noise = noise || c.noise;
  }
  return noise ? kInsideNoise : kReproduced;
}

// "0.640" or "0.640 ± 0.012" (several runs).
std::string show(const Measure& m) {
  return m.runs > 1 ? fmt::format("{:.3f} ± {:.3f}", m.mean, m.spread) : fmt::format("{:.3f}", m.mean);
}

std::string ratio(double a, double b) { return b > 0 ? fmt::format("{:.2f} x", a / b) : std::string("- x"); }

Claim missing(Claim c, const std::string& what) {
  c.verdict = kNotReproduced;
  c.evidence = "Not measured: " + what + ".";
  return c;
}

const char* kBoth = "recon+align";
const char* kRecon = "recon only";
const char* kAlign = "align only";

}  // namespace

std::vector<Claim> judge_claims(const Study& losses, const Study& thought, const Study& compression) {
  const StudyVariant* both = find_variant(losses, {{"recon-weight", "1"}, {"align-weight", "1"}});
  const StudyVariant* recon = find_variant(losses, {{"recon-weight", "1"}, {"align-weight", "0"}});
  const StudyVariant* align = find_variant(losses, {{"recon-weight", "0"}, {"align-weight", "1"}});
  const auto e_both = embedding(losses, both), e_recon = embedding(losses, recon), e_align = embedding(losses, align);
  const auto d_both = decode(both), d_recon = decode(recon), d_align = decode(align);
  auto lacking = [](std::initializer_list<std::pair<const char*, bool>> parts) {
    std::string out;
    for (const auto& [name, have] : parts)
      if (!have) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
  };
  std::vector<Claim> out;

  {
    Claim c{"a", "Alignment alone gives good embeddings but loses interpretability.",
            fmt::format("align only: embedding score >= {:.2f} x recon+align's, and decode rate <= {:.2f} x "
                        "recon+align's",
                        kCloseRatio, kLostRatio),
            "", ""};
    const std::string gap = lacking({{"the losses study's recon+align run", e_both && d_both},
                                     {"its align-only run", e_align && d_align}});
    if (!gap.empty()) {
      out.push_back(missing(c, gap));
    } else {
      const Check e = at_least(e_align->mean, kCloseRatio * e_both->mean, *e_align, *e_both);
      const Check d = at_least(kLostRatio * d_both->mean, d_align->mean, *d_both, *d_align);
      c.verdict = verdict({e, d});
      c.evidence = fmt::format(
          "Align only scores {} against recon+align's {} ({}), and decodes {} of the held-out queries to the right "
          "kind of answer against {} ({}).",
          show(*e_align), show(*e_both), ratio(e_align->mean, e_both->mean), show(*d_align), show(*d_both),
          ratio(d_align->mean, d_both->mean));
      out.push_back(c);
    }
  }
  {
    Claim c{"b", "Reconstruction alone captures the content but not useful geometry.",
            fmt::format("recon only: decode rate >= align only's + {:.2f}, and embedding score <= {:.2f} x "
                        "recon+align's",
                        kWellAboveDecode, kCloseRatio),
            "", ""};
    const std::string gap = lacking({{"the losses study's recon-only run", e_recon && d_recon},
                                     {"its align-only run", d_align.has_value()},
                                     {"its recon+align run", e_both.has_value()}});
    if (!gap.empty()) {
      out.push_back(missing(c, gap));
    } else {
      const Check d = at_least(d_recon->mean, d_align->mean + kWellAboveDecode, *d_recon, *d_align);
      const Check e = at_least(kCloseRatio * e_both->mean, e_recon->mean, *e_both, *e_recon);
      c.verdict = verdict({d, e});
      c.evidence = fmt::format(
          "Recon only decodes {} against align only's {} ({:+.3f}), and scores {} against recon+align's {} ({}).",
          show(*d_recon), show(*d_align), d_recon->mean - d_align->mean, show(*e_recon), show(*e_both),
          ratio(e_recon->mean, e_both->mean));
      out.push_back(c);
    }
  }
  {
    Claim c{"c", "Together, reconstruction and alignment give both: good embeddings that stay interpretable.",
            fmt::format("recon+align: embedding score and decode rate each >= {:.2f} x the best of the three loss "
                        "variants",
                        kCloseRatio),
            "", ""};
    const std::string gap = lacking({{"the losses study's recon+align run", e_both && d_both},
                                     {"its recon-only run", e_recon && d_recon},
                                     {"its align-only run", e_align && d_align}});
    if (!gap.empty()) {
      out.push_back(missing(c, gap));
    } else {
      const std::vector<std::pair<const char*, Measure>> es = {{kBoth, *e_both}, {kRecon, *e_recon}, {kAlign, *e_align}};
      const std::vector<std::pair<const char*, Measure>> ds = {{kBoth, *d_both}, {kRecon, *d_recon}, {kAlign, *d_align}};
      auto best = [](const std::vector<std::pair<const char*, Measure>>& xs) {
        return *std::max_element(xs.begin(), xs.end(),
                                 [](const auto& a, const auto& b) { return a.second.mean < b.second.mean; });
      };
      const auto be = best(es), bd = best(ds);
      const Check e = at_least(e_both->mean, kCloseRatio * be.second.mean, *e_both, be.second);
      const Check d = at_least(d_both->mean, kCloseRatio * bd.second.mean, *d_both, bd.second);
      c.verdict = verdict({e, d});
      c.evidence = fmt::format(
          "Recon+align scores {} (best: {}, {}) and decodes {} (best: {}, {}).", show(*e_both), be.first,
          show(be.second), show(*d_both), bd.first, show(bd.second));
      out.push_back(c);
    }
  }
  {
    Claim c{"d", "Thought tokens help.", "thought=10: embedding score > thought=0's (decode rate reported)", "", ""};
    const StudyVariant* t10 = find_variant(thought, {{"thought", "10"}});
    const StudyVariant* t0 = find_variant(thought, {{"thought", "0"}});
    const auto e10 = embedding(thought, t10), e0 = embedding(thought, t0);
    const auto d10 = decode(t10), d0 = decode(t0);
    const std::string gap = lacking({{"the thought study's thought=10 run", e10.has_value()},
                                     {"its thought=0 run", e0.has_value()}});
    if (!gap.empty()) {
      out.push_back(missing(c, gap));
    } else {
      c.verdict = verdict({at_least(e10->mean, e0->mean, *e10, *e0, /*strict=*/true)});
      c.evidence = fmt::format("With 10 thought tokens the embedding score is {} against {} with none ({:+.3f})",
                               show(*e10), show(*e0), e10->mean - e0->mean);
      if (d10 && d0) c.evidence += fmt::format("; the decode rate {} against {}", show(*d10), show(*d0));
      c.evidence += ".";
      out.push_back(c);
    }
  }
  {
    Claim c{"e", "More compression tokens help, up to about 20.",
            "compression=20: embedding score >= compression=2's (where it peaks is reported)", "", ""};
    const StudyVariant* c20 = find_variant(compression, {{"compression", "20"}});
    const StudyVariant* c2 = find_variant(compression, {{"compression", "2"}});
    const auto e20 = embedding(compression, c20), e2 = embedding(compression, c2);
    const std::string gap = lacking({{"the compression study's compression=20 run", e20.has_value()},
                                     {"its compression=2 run", e2.has_value()}});
    if (!gap.empty()) {
      out.push_back(missing(c, gap));
    } else {
      std::string curve, peak;
      double peak_score = -1;
      for (const auto& v : compression.variants) {
        const auto e = embedding(compression, &v);
        if (!e) continue;
        const std::string value = v.setting.empty() ? v.name : v.setting.front().second;
        curve += fmt::format("{}{} at {}", curve.empty() ? "" : ", ", show(*e), value);
        if (e->mean > peak_score) peak_score = e->mean, peak = value;
      }
      c.verdict = verdict({at_least(e20->mean, e2->mean, *e20, *e2)});
      c.evidence = fmt::format("Embedding score {} compression tokens; 20 against 2 is {:+.3f}; it peaks at {}.",
                               curve, e20->mean - e2->mean, peak);
      out.push_back(c);
    }
  }
  return out;
}

nlohmann::ordered_json claims_to_json(const std::vector<Claim>& claims) {
  using oj = nlohmann::ordered_json;
  oj list = oj::array();
  for (const auto& c : claims)
    list.push_back({{"id", c.id}, {"paper", c.paper}, {"test", c.test}, {"verdict", c.verdict}, {"evidence", c.evidence}});
  return oj{{"embedding_score", embedding_score_definition()},
            {"noise", "with more than one seed, a comparison whose two sides differ by no more than the larger seed "
                      "spread is inside the noise"},
            {"claims", list}};
}

std::string claims_markdown(const std::vector<Claim>& claims) {
  std::string out = "## Claims\n\n";
  out += "Embedding score: " + embedding_score_definition() +
         ". Decode rate: the tables' decode column, the share of held-out queries whose soft prompts alone decode "
         "to a text with one of the query's signature words. With more than one seed, a comparison whose two sides "
         "differ by no more than the larger seed spread is inside the noise.\n\n";
  for (const auto& c : claims)
    out += fmt::format("- **{}. {}** {}. Test: {}. {}\n", c.id, c.paper, c.verdict == kReproduced ? "Reproduced"
                                                                        : c.verdict == kInsideNoise ? "Inside the noise"
                                                                                                    : "Not reproduced",
                       c.test, c.evidence);
  return out;
}

}  // namespace genlens::demo
