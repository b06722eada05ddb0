// The demo report as text (what `genlens demo` and the headless studio print).
#include <fmt/format.h>

#include <algorithm>

#include "core/demo/pipeline.h"

namespace genlens::demo {

using json = nlohmann::json;

namespace {

double num(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j.at(k).is_number() ? j.at(k).get<double>() : 0.0;
}

std::string pretty_metric(const std::string& m) {
  if (m == "v_measure") return "V-measure";
  if (m == "ndcg_at_10") return "nDCG@10";
  if (m == "spearman") return "Spearman";
  if (m == "accuracy") return "accuracy";
  if (m == "harmful_at_5") return "harmful@5 (lower is better)";
  return m;
}

std::string clip(std::string s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "...";
}

std::string seconds(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

}  // namespace

std::string format_demo_report(const json& r) {
  std::string s;
  const json& world = r.value("world", json::object());
  const json& lm = r.value("lm", json::object());
  const json& check = r.value("lm_check", json::object());
  const json& ad = r.value("adapter", json::object());
  s += fmt::format("genlens demo: world '{}' ({} variant)\n\n", world.value("name", "?"), r.value("variant", "?"));
  s += fmt::format("  world    {} training pairs, {} held-out queries (templates and slot values never trained on),\n"
                   "           {} kinds of answer\n",
                   world.value("train", 0), world.value("heldout", 0), world.value("categories", json::array()).size());
  s += fmt::format("  tiny LM  {:.2f}M parameters ({} layers, hidden {}, vocab {}); loss {:.2f} -> {:.2f} in {} steps\n",
                   num(lm, "parameters") / 1e6, lm.value("layers", 0), lm.value("hidden_size", 0),
                   lm.value("vocab_size", 0), num(lm, "first_loss"), num(lm, "final_loss"), lm.value("steps", 0));
  s += fmt::format("           its own greedy answers to held-out queries are of the right kind: {:.0f}% of {}\n",
                   100 * num(check, "heldout_accuracy"), check.value("n", 0));
  s += fmt::format("  adapter  10 thought + 10 compression tokens, recon + align, mean-pool teacher, {} steps\n",
                   ad.value("steps", 0));

  // Eval table: rows = tasks (main metric), columns = modes, relative gain of generative
  // over the better input-centric mode (the `genlens eval` definition).
  const json& ev = r.value("eval", json::object());
  s += fmt::format("\n  {:<16}{:<29}{:>10}{:>8}{:>8}{:>10}\n", "held-out task", "metric", "generative", "mean", "last",
                   "gen gain");
  for (auto& t : ev.value("tasks", json::array())) {
    const std::string metric = t.value("main_metric", "");
    const json& sc = t.value("scores", json::object());
    auto v = [&](const char* mode) { return sc.contains(mode) ? num(sc.at(mode), metric.c_str()) : 0.0; };
    const bool lower = metric.rfind("harmful", 0) == 0;
    const double best = lower ? std::min(v("mean"), v("last")) : std::max(v("mean"), v("last"));
    std::string gain = "-";
    if (best != 0) gain = fmt::format("{:+.0f}%", 100 * (lower ? (best - v("generative")) / best
                                                              : (v("generative") - best) / std::abs(best)));
    s += fmt::format("  {:<16}{:<29}{:>10.3f}{:>8.3f}{:>8.3f}{:>10}\n", t.value("type", ""), pretty_metric(metric),
                     v("generative"), v("mean"), v("last"), gain);
  }
  s += "  gen gain: generative over the better of mean and last (for harmful@5: fewer harmful documents)\n";

  const json& lens = r.value("lens", json::object());
  const int n = lens.value("n", 0);
  s += fmt::format("\n  logit lens  held-out queries whose compression tokens' top-10 holds a response word: {:.0f}% of {}\n",
                   100 * num(lens, "lens_hit_rate"), n);
  s += fmt::format("  decoding    held-out queries whose soft prompts alone decode to the right kind:   {:.0f}% of {}\n",
                   100 * num(lens, "decode_right_kind_rate"), n);
  for (auto& ex : lens.value("examples", json::array())) {
    s += fmt::format("\n    query    {}\n", clip(ex.value("question", ""), 90));
    std::string words;
    for (auto& w : ex.value("lens_top10", json::array())) {
      if (words.size() > 70) break;
      words += (words.empty() ? "" : " ") + w.get<std::string>();
    }
    s += fmt::format("    lens     {}\n", words);
    s += fmt::format("    decoded  {}\n", clip(ex.value("decoded", ""), 90));
  }

  const json& tm = r.value("timings", json::object());
  s += "\n  time     ";
  size_t col = 11;
  for (auto& [k, v] : tm.items()) {
    if (k == "total" || !v.is_number()) continue;
    std::string item = fmt::format("{} {}  ", k, seconds(v.get<double>()));
    if (col + item.size() > 100) {
      s += "\n           ";
      col = 11;
    }
    s += item;
    col += item.size();
  }
  s += fmt::format("\n           total {} (stages cached from an earlier run count the time they took then)\n",
                   seconds(num(tm, "total")));
  const std::string ws = r.value("workspace", "?");
  s += fmt::format("\n  files    {}/\n", ws);
  s += "           report.json  this report      model/      the tiny LM (Hugging Face layout)\n"
       "           responses.jsonl  its answers  run/        the adapter checkpoint\n"
       "           tasks/  eval/results.json     maps/       <mode>.json: 2-D maps    lens/samples.jsonl\n";
  s += fmt::format("  next     genlens eval --model {0}/model --adapter {0}/run --tasks {0}/tasks\n", ws);
  s += "           genlens-studio --demo   (opens this workspace)\n";
  return s;
}

}  // namespace genlens::demo
