// The demo report as text (what `genlens demo` and the headless studio print).
#include <fmt/format.h>

#include "core/demo/pipeline.h"

namespace genlens::demo {

using json = nlohmann::json;

std::string format_demo_report(const json& r) {
  std::string s;
  auto num = [](const json& j, const char* k) { return j.is_object() && j.contains(k) ? j.at(k).get<double>() : 0.0; };
  const json& world = r.value("world", json::object());
  const json& lm = r.value("lm", json::object());
  s += fmt::format("== genlens demo report: world '{}' ({} variant) ==\n", world.value("name", "?"),
                   r.value("variant", "?"));
  s += fmt::format("world      {} training pairs, {} held-out queries (unseen templates and slot values)\n",
                   world.value("train", 0), world.value("heldout", 0));
  s += fmt::format("tiny LM    {:.2f}M parameters, {} layers, vocab {}; loss {:.2f} -> {:.2f} in {} steps\n",
                   num(lm, "parameters") / 1e6, lm.value("layers", 0), lm.value("vocab_size", 0),
                   num(lm, "first_loss"), num(lm, "final_loss"), lm.value("steps", 0));
  s += fmt::format("           answers held-out queries with the right kind of response: {:.0f}%\n",
                   100 * num(r.value("lm_check", json::object()), "heldout_accuracy"));
  const json& ad = r.value("adapter", json::object());
  s += fmt::format("adapter    10 thought + 10 compression tokens, recon + align, mean-pool teacher, {} steps\n",
                   ad.value("steps", 0));

  // Eval table: rows = tasks (main metric), columns = modes, gain of generative.
  const json& ev = r.value("eval", json::object());
  s += "\nheld-out tasks        metric            generative      mean      last   gen vs best input\n";
  for (auto& t : ev.value("tasks", json::array())) {
    const std::string metric = t.value("main_metric", "");
    const json& sc = t.at("scores");
    auto v = [&](const char* mode) { return sc.contains(mode) ? num(sc.at(mode), metric.c_str()) : 0.0; };
    const bool lower_better = metric.rfind("harmful", 0) == 0;
    double best = lower_better ? std::min(v("mean"), v("last")) : std::max(v("mean"), v("last"));
    double gain = lower_better ? best - v("generative") : v("generative") - best;
    s += fmt::format("{:<21} {:<16} {:>11.3f} {:>9.3f} {:>9.3f}   {:+.3f}{}\n", t.value("name", ""), metric,
                     v("generative"), v("mean"), v("last"), gain, lower_better ? " (lower is better)" : "");
  }
  const json& lens = r.value("lens", json::object());
  s += fmt::format("\nlogit lens  response words among the compression tokens' top-10: {:.0f}% of {} held-out queries\n",
                   100 * num(lens, "lens_hit_rate"), lens.value("n", 0));
  s += fmt::format("decoding    soft prompts alone give the right kind of response: {:.0f}%\n",
                   100 * num(lens, "decode_right_kind_rate"));
  const json& tm = r.value("timings", json::object());
  s += "\ntimings    ";
  for (auto& [k, v] : tm.items())
    if (k != "total") s += fmt::format("{} {:.1f}s  ", k, v.get<double>());
  s += fmt::format("| total {:.1f}s\n", num(tm, "total"));
  s += fmt::format("workspace  {} (report.json, model/, run/, tasks/, eval/, maps/, lens/)\n",
                   r.value("workspace", "?"));
  return s;
}

}  // namespace genlens::demo
