#include "app/studio/script.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "app/studio/studio_app.h"
#include "core/util/error.h"

namespace genlens::studio {

namespace {
struct VerbSpec {
  const char* verb;
  int min_args, max_args;
};
constexpr VerbSpec kVerbs[] = {{"open", 2, 2},       {"query", 1, 1},        {"view", 1, 1},  {"project", 0, 1},
                               {"select", 4, 4},     {"train-set", 2, 2},    {"train-start", 0, 0},
                               {"train-resume", 0, 0}, {"train-stop", 0, 0}, {"wait", 1, 2},  {"wait-steps", 1, 2},
                               {"frames", 1, 1},     {"screenshot", 1, 1},   {"quit", 0, 0},
                               {"walk", 1, 1},       {"pin", 2, 2},          {"pan-zoom", 1, 1},   {"select-frac", 4, 4},
                               {"ablate", 0, 1},     {"trace", 0, 1},      {"attribute", 0, 1},  {"arithmetic", 1, 1}, {"lens", 1, 2},       {"scroll", 1, 1},
                               {"probe", 1, 1},      {"train-pause", 0, 0},  {"train-continue", 0, 0},
                               {"save-png", 2, 2},   {"expect", 2, 3},       {"expect-text", 2, 2},
                               {"select-region", 1, 1}, {"study-pick", 2, 2},  {"study-inspect", 1, 1}};

// ${NAME} (and $NAME) from the environment; in a path, a leading "~/" is $HOME. An unset
// variable is an error: a script that silently opened "/maps" would test nothing.
std::string expand(const std::string& in, const std::string& where, bool path) {
  std::string out;
  for (size_t i = 0; i < in.size();) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out += in[i++];
      continue;
    }
    size_t b = i + 1, e;
    std::string name;
    if (in[b] == '{') {
      e = in.find('}', b);
      if (e == std::string::npos) fail("{}: '${{' without its '}}'", where);
      name = in.substr(b + 1, e - b - 1);
      ++e;
    } else {
      e = b;
      if (!std::isalpha(static_cast<unsigned char>(in[b])) && in[b] != '_') {  // "$50": not a variable
        out += in[i++];
        continue;
      }
      while (e < in.size() && (std::isalnum(static_cast<unsigned char>(in[e])) || in[e] == '_')) ++e;
      name = in.substr(b, e - b);
    }
    if (name.empty()) {
      out += in[i++];
      continue;
    }
    const char* v = std::getenv(name.c_str());
    if (!v) fail("{}: ${} is not set", where, name);
    out += v;
    i = e;
  }
  if (path && (out.rfind("~/", 0) == 0 || out == "~")) {
    const char* home = std::getenv("HOME");
    if (home && *home) out = std::string(home) + out.substr(1);
  }
  return out;
}
}  // namespace

std::vector<ScriptCommand> parse_script(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) fail("{}: cannot read the script", path.string());
  std::vector<ScriptCommand> out;
  std::string line;
  int n = 0;
  while (std::getline(f, line)) {
    ++n;
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    line = line.substr(b);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    ScriptCommand c;
    c.line = n;
    std::istringstream in(line);
    in >> c.verb;
    const VerbSpec* spec = nullptr;
    for (auto& v : kVerbs)
      if (c.verb == v.verb) spec = &v;
    if (!spec) fail("{}:{}: unknown command '{}'", path.string(), n, c.verb);
    if (c.verb == "query" || c.verb == "probe" || c.verb == "walk" || c.verb == "arithmetic" || c.verb == "screenshot" ||
        c.verb == "train-set" ||
        c.verb == "open" || c.verb == "save-png" || c.verb == "expect-text") {
      // Last argument takes the rest of the line (queries and paths may hold spaces).
      std::string first;
      if (c.verb == "train-set" || c.verb == "open" || c.verb == "save-png" || c.verb == "expect-text") {
        in >> first;
        if (!first.empty()) c.args.push_back(first);
      }
      std::string rest;
      std::getline(in, rest);
      auto rb = rest.find_first_not_of(' ');
      if (rb != std::string::npos) c.args.push_back(rest.substr(rb));
    } else {
      std::string a;
      while (in >> a) c.args.push_back(a);
    }
    const std::string where = fmt::format("{}:{}", path.string(), n);
    // "~/" is $HOME in paths only (an expect-text may look for "~/" as drawn).
    const bool paths = c.verb == "open" || c.verb == "screenshot" || c.verb == "save-png";
    for (auto& a : c.args) a = expand(a, where, paths);
    if (int(c.args.size()) < spec->min_args || int(c.args.size()) > spec->max_args)
      fail("{}:{}: '{}' takes {} argument(s), found {}", path.string(), n, c.verb,
           spec->min_args == spec->max_args ? std::to_string(spec->min_args)
                                            : fmt::format("{} to {}", spec->min_args, spec->max_args),
           c.args.size());
    out.push_back(std::move(c));
  }
  return out;
}

bool ScriptRunner::step(StudioApp& app, std::string& screenshot) {
  while (pc_ < cmds_.size()) {
    const auto& c = cmds_[pc_];
    auto where = [&] { return fmt::format("script line {} ({})", c.line, c.verb); };
    auto timed_out = [&](double default_s) {
      double limit = c.args.size() > 1 ? std::stod(c.args[1]) : default_s;
      return std::chrono::steady_clock::now() - wait_start_ > std::chrono::duration<double>(limit);
    };
    if (c.verb == "frames" || c.verb == "pan-zoom") {
      if (!waiting_) frames_left_ = std::stoi(c.args[0]), waiting_ = true;
      if (frames_left_-- > 0) {
        if (c.verb == "pan-zoom") app.nudge_maps(frames_left_);
        return true;
      }
      waiting_ = false;
    } else if (c.verb == "wait" || c.verb == "wait-steps") {
      if (!waiting_) wait_start_ = std::chrono::steady_clock::now(), waiting_ = true;
      bool ready = c.verb == "wait" ? !app.job_active(c.args[0] == "all" ? "" : c.args[0])
                                    : app.training_step() >= std::stoll(c.args[0]);
      if (!ready) {
        if (timed_out(120)) fail("{}: still waiting after the time limit", where());
        return true;
      }
      waiting_ = false;
    } else if (c.verb == "expect" || c.verb == "expect-text") {
      // expect KEY VALUE [SECONDS]: until the studio's KEY reads VALUE (default 10 s);
      // expect-text KEY TEXT: until it contains TEXT. Keys: StudioApp::script_value.
      if (!waiting_) wait_start_ = std::chrono::steady_clock::now(), waiting_ = true;
      const std::string have = app.script_value(c.args[0]);
      if (have == "?") fail("{}: no value '{}' to expect", where(), c.args[0]);
      const bool ok = c.verb == "expect" ? have == c.args[1] : have.find(c.args[1]) != std::string::npos;
      if (!ok) {
        const double limit = c.verb == "expect" && c.args.size() > 2 ? std::stod(c.args[2]) : 10.0;
        if (std::chrono::steady_clock::now() - wait_start_ > std::chrono::duration<double>(limit))
          fail("{}: {} is '{}', expected {}'{}'", where(), c.args[0], have, c.verb == "expect" ? "" : "it to contain ",
               c.args[1]);
        return true;
      }
      waiting_ = false;
    } else if (c.verb == "open") {
      views::OpenKind k;
      std::string kind = c.args[0];
      if (kind == "model") k = views::OpenKind::Model;
      else if (kind == "adapter") k = views::OpenKind::Adapter;
      else if (kind == "run") k = views::OpenKind::Run;
      else if (kind == "corpus") k = views::OpenKind::Corpus;
      else if (kind == "workspace") k = views::OpenKind::Workspace;
      else if (kind == "layout" || kind == "study") {
        if (kind == "layout") app.open_layout(c.args[1]);
        else app.open_study(c.args[1]);
        ++pc_;
        continue;
      }
      else fail("{}: open what? '{}' (model, adapter, run, corpus, workspace, layout, study)", where(), kind);
      if (c.args.size() < 2) fail("{}: open {} needs a path", where(), kind);
      app.open(k, c.args[1]);
    } else if (c.verb == "query") {
      app.inspect(c.args[0]);
    } else if (c.verb == "probe") {
      app.set_probe(c.args[0]);
    } else if (c.verb == "view") {
      Tab t;
      if (!parse_tab(c.args[0], t)) fail("{}: no view '{}'", where(), c.args[0]);
      app.show(t);
    } else if (c.verb == "project") {
      if (!c.args.empty() && c.args[0] != "PCA" && c.args[0] != "UMAP") fail("{}: project PCA or UMAP", where());
      app.project(c.args.empty() ? "" : c.args[0]);
    } else if (c.verb == "walk") {
      app.walk(c.args[0]);
    } else if (c.verb == "pin") {
      app.pin_lens_cell(std::stoi(c.args[0]), std::stoi(c.args[1]));
    } else if (c.verb == "ablate") {
      const std::string kind = c.args.empty() ? "zero" : c.args[0];
      if (kind != "zero" && kind != "mean" && kind != "patch") fail("{}: ablate zero, mean or patch", where());
      app.ablate_pinned(kind == "patch" ? 2 : kind == "mean" ? 1 : 0);
    } else if (c.verb == "attribute") {
      const std::string space = c.args.empty() ? "generative" : c.args[0];
      if (space != "generative" && space != "mean") fail("{}: attribute generative or attribute mean", where());
      app.show_attribution(space == "mean" ? 1 : 0);
      app.attribute();
    } else if (c.verb == "scroll") {
      if (c.args[0] != "top" && c.args[0] != "bottom") fail("{}: scroll top or scroll bottom", where());
      app.scroll(c.args[0] == "bottom");
    } else if (c.verb == "lens") {
      const bool train = c.args.size() == 2 && c.args[1] == "train";
      if ((c.args[0] != "logit" && c.args[0] != "tuned") || (c.args.size() == 2 && (!train || c.args[0] != "tuned")))
        fail("{}: lens logit, lens tuned or lens tuned train", where());
      app.lens_kind(c.args[0] == "tuned", train);
    } else if (c.verb == "arithmetic") {
      app.arithmetic(c.args[0]);
    } else if (c.verb == "trace") {
      const std::string source = c.args.empty() ? "walk" : c.args[0];
      if (source != "walk" && source != "noise") fail("{}: trace walk or trace noise", where());
      app.trace(source == "noise");
    } else if (c.verb == "select" || c.verb == "select-frac") {
      app.select_box(std::stof(c.args[0]), std::stof(c.args[1]), std::stof(c.args[2]), std::stof(c.args[3]),
                     c.verb == "select-frac");
    } else if (c.verb == "select-region") {
      if (!app.select_region(std::stoi(c.args[0])))
        fail("{}: no region {} (project first and wait for the regions job)", where(), c.args[0]);
    } else if (c.verb == "study-pick") {
      if (!app.pick_study_variants(c.args[0], c.args[1]))
        fail("{}: no variants '{}' and '{}' in the open study (rows from 0, or names; after \"wait study\")", where(),
             c.args[0], c.args[1]);
    } else if (c.verb == "study-inspect") {
      app.inspect_study_query(c.args[0]);
    } else if (c.verb == "train-set") {
      if (c.args.size() < 2 || !app.set_train_field(c.args[0], c.args[1]))
        fail("{}: cannot set '{}'", where(), c.args.empty() ? "" : c.args[0]);
    } else if (c.verb == "train-start" || c.verb == "train-resume") {
      app.start_training(c.verb == "train-resume");
    } else if (c.verb == "train-stop") {
      app.stop_training();
    } else if (c.verb == "save-png") {
      static const char* kTargets[] = {"map", "loss", "cos", "lr", "grad", "speed"};
      if (std::find(std::begin(kTargets), std::end(kTargets), c.args[0]) == std::end(kTargets))
        fail("{}: save-png what? '{}' (map, loss, cos, lr, grad, speed)", where(), c.args[0]);
      if (!waiting_) {
        app.save_png(c.args[0], c.args[1]);
        wait_start_ = std::chrono::steady_clock::now(), waiting_ = true;
        return true;
      }
      if (app.png_busy()) {
        if (std::chrono::steady_clock::now() - wait_start_ > std::chrono::seconds(10))
          fail("{}: the {} was not on screen (switch to its view first)", where(), c.args[0]);
        return true;
      }
      waiting_ = false;
      if (!app.last_png_error().empty()) fail("{}: {}", where(), app.last_png_error());
    } else if (c.verb == "train-pause" || c.verb == "train-continue") {
      app.pause_training(c.verb == "train-pause");
    } else if (c.verb == "screenshot") {
      screenshot = c.args[0];
      ++pc_;
      return true;  // this frame is saved; continue next frame
    } else if (c.verb == "quit") {
      pc_ = cmds_.size();
      return false;
    }
    ++pc_;
  }
  return false;
}

}  // namespace genlens::studio
