// The demo report as text (what `genlens demo` and the headless studio print).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "core/demo/pipeline.h"
#include "core/text/unicode.h"
#include "core/util/utf8.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Type-tolerant reads: report.json is a workspace file a person (or another version) may
// have edited; a field of the wrong type prints as missing, never as a JSON exception.
double num(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j.at(k).is_number() ? j.at(k).get<double>() : 0.0;
}
int64_t whole(const json& j, const char* k) { return static_cast<int64_t>(num(j, k)); }
std::string text(const json& j, const char* k, const std::string& def = "") {
  return j.is_object() && j.contains(k) && j.at(k).is_string() ? j.at(k).get<std::string>() : def;
}
json object(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j.at(k).is_object() ? j.at(k) : json::object();
}
json array(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j.at(k).is_array() ? j.at(k) : json::array();
}

std::string pretty_metric(const std::string& m) {
  if (m == "v_measure") return "V-measure";
  if (m == "ndcg_at_10") return "nDCG@10";
  if (m == "spearman") return "Spearman";
  if (m == "accuracy") return "accuracy";
  if (m == "harmful_at_5") return "harmful@5 (lower is better)";
  return m;
}

// At most `n` bytes (a report column): the text, or its head and "...".
std::string clip(const std::string& s, size_t n) { return s.size() <= n ? s : util::clip_head(s, n - 3); }

// `text` from column 11 (the report's second column), words wrapped at `width`, later lines
// indented by `indent`.
std::string wrap(const std::string& text, size_t width, const std::string& indent) {
  std::string out = std::string(11, ' '), word;
  size_t col = out.size();
  bool first = true;
  auto flush = [&] {
    if (word.empty()) return;
    if (!first && col + 1 + word.size() > width) {
      out += "\n" + indent;
      col = indent.size();
    } else if (!first) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    word.clear();
    first = false;
  };
  for (char c : text) {
    if (c == ' ') flush();
    else word += c;
  }
  flush();
  return out + "\n";
}

std::string seconds(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  return fmt::format("{}m{:02d}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

// A path as one shell word: as it is when it holds no character a shell treats specially,
// else in single quotes.
std::string shell_word(const std::string& p) {
  const bool plain = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+:=@%,", c) != nullptr;
  });
  if (plain) return p;
  std::string q = "'";
  for (char c : p) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Whether two paths name one directory (the same files when both exist, else the same
// absolute path once normalised).
bool same_dir(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec) && !ec;
  auto norm = [](const fs::path& p) {
    std::error_code e;
    fs::path n = fs::absolute(p, e).lexically_normal();
    if (!n.has_filename() && n.has_parent_path()) n = n.parent_path();  // "/a/b/" -> "/a/b"
    return n;
  };
  return norm(a) == norm(b);
}

}  // namespace

std::string demo_studio_command(const fs::path& workspace) {
  if (same_dir(workspace, default_demo_workspace())) return "genlens-studio --demo   (opens this workspace)";
  return "genlens-studio --workspace " + shell_word(workspace.string());
}

std::string format_demo_example(const json& ex) {
  // Each example says whether it went right: a response word among the compression
  // tokens' top-10 (the lens) and an answer of the right kind decoded from the soft
  // prompts alone (a report from before these fields were written shows no mark).
  auto mark = [&](const char* key, const char* yes, const char* no) -> std::string {
    if (!ex.is_object() || !ex.contains(key) || !ex.at(key).is_boolean()) return "";
    return fmt::format("[{}] ", ex.at(key).get<bool>() ? yes : no);
  };
  std::string s;
  const std::string category = text(ex, "category");
  s += fmt::format("\n    query    {}{}\n", category.empty() ? "" : "(" + category + ") ", clip(text(ex, "question"), 90));
  std::string words;
  for (auto& w : array(ex, "lens_top10")) {
    if (words.size() > 70) break;
    if (w.is_string()) words += (words.empty() ? "" : " ") + w.get<std::string>();
  }
  s += fmt::format("    lens     {}{}\n", mark("lens_hit", "has a response word", "no response word"), words);
  s += fmt::format("    decoded  {}{}\n", mark("decode_right_kind", "right kind", "wrong kind"),
                   clip(text(ex, "decoded"), 90));
  return s;
}

std::string format_demo_report(const json& r) {
  std::string s;
  const json world = object(r, "world");
  const json lm = object(r, "lm");
  const json check = object(r, "lm_check");
  const json ad = object(r, "adapter");
  s += fmt::format("genlens demo: world '{}' ({} variant)\n\n", text(world, "name", "?"), text(r, "variant", "?"));
  s += fmt::format("  world    {} training pairs, {} held-out queries (templates and slot values never trained on),\n"
                   "           {} kinds of answer\n",
                   whole(world, "train"), whole(world, "heldout"), array(world, "categories").size());
  // What the world asked for and could not make (WorldData::shortfalls).
  for (auto& f : array(world, "shortfalls"))
    if (f.is_string()) s += wrap("shortfall: " + f.get<std::string>(), 100, std::string(13, ' '));
  s += fmt::format("  tiny LM  {:.2f}M parameters ({} layers, hidden {}, vocab {}); loss {:.2f} -> {:.2f} in {} steps\n",
                   num(lm, "parameters") / 1e6, whole(lm, "layers"), whole(lm, "hidden_size"),
                   whole(lm, "vocab_size"), num(lm, "first_loss"), num(lm, "final_loss"), whole(lm, "steps"));
  s += fmt::format("           its own greedy answers to held-out queries are of the right kind: {:.0f}% of {}\n",
                   100 * num(check, "heldout_accuracy"), whole(check, "n"));
  s += fmt::format("  adapter  10 thought + 10 compression tokens, recon + align, mean-pool teacher, {} steps\n",
                   whole(ad, "steps"));

  // Eval table: rows = tasks (main metric), columns = modes, relative gain of generative
  // over the better input-centric mode (the `genlens eval` definition).
  const json ev = object(r, "eval");
  s += fmt::format("\n  {:<16}{:<29}{:>10}{:>8}{:>8}{:>10}\n", "held-out task", "metric", "generative", "mean", "last",
                   "gen gain");
  for (auto& t : array(ev, "tasks")) {
    const std::string metric = text(t, "main_metric");
    const json sc = object(t, "scores");
    auto v = [&](const char* mode) { return sc.contains(mode) ? num(sc.at(mode), metric.c_str()) : 0.0; };
    const bool lower = metric.rfind("harmful", 0) == 0;
    const double best = lower ? std::min(v("mean"), v("last")) : std::max(v("mean"), v("last"));
    std::string gain = "-";
    if (best != 0) gain = fmt::format("{:+.0f}%", 100 * (lower ? (best - v("generative")) / best
                                                              : (v("generative") - best) / std::abs(best)));
    s += fmt::format("  {:<16}{:<29}{:>10.3f}{:>8.3f}{:>8.3f}{:>10}\n", text(t, "type"), pretty_metric(metric),
                     v("generative"), v("mean"), v("last"), gain);
  }
  s += "  gen gain: generative over the better of mean and last (for harmful@5: fewer harmful documents)\n";

  const json lens = object(r, "lens");
  const int64_t n = whole(lens, "n");
  s += fmt::format("\n  logit lens  held-out queries whose compression tokens' top-10 holds a response word: {:.0f}% of {}\n",
                   100 * num(lens, "lens_hit_rate"), n);
  s += fmt::format("  decoding    held-out queries whose soft prompts alone decode to the right kind:   {:.0f}% of {}\n",
                   100 * num(lens, "decode_right_kind_rate"), n);
  for (auto& ex : array(lens, "examples")) s += format_demo_example(ex);

  const json tm = object(r, "timings");
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
  const std::string ws = text(r, "workspace", "?");
  s += fmt::format("\n  files    {}/\n", ws);
  s += "           report.json  this report      model/      the tiny LM (Hugging Face layout)\n"
       "           responses.jsonl  its answers  run/        the adapter checkpoint\n"
       "           tasks/  eval/results.json     maps/       <mode>.json: 2-D maps    lens/samples.jsonl\n";
  auto in_ws = [&](const char* sub) { return shell_word(ws + "/" + sub); };
  s += fmt::format("  next     genlens eval --model {} --adapter {} --tasks {}\n", in_ws("model"), in_ws("run"),
                   in_ws("tasks"));
  s += "           " + demo_studio_command(ws) + "\n";
  return s;
}

}  // namespace genlens::demo
