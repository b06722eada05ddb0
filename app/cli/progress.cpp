#include "app/cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "app/cli/command.h"

namespace genlens::cli {

namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_signal(int) { g_interrupted.store(true); }

// A job in parts (a study): one bar for the whole job, then the part and its stage.
std::string parts_line(const runtime::JobSnapshot& s) {
  const int width = 30;
  const double frac = s.overall_fraction();
  const int fill = static_cast<int>(frac * width);
  std::string bar = std::string(fill, '#') + std::string(width - fill, '.');
  std::string stage = s.stage.empty() ? "" : " · " + s.stage;
  if (!s.stage.empty() && s.total > 0) stage += fmt::format(" {}/{}{}", s.done, s.total, s.unit.empty() ? "" : " " + s.unit);
  // The whole job's ETA from its pace so far (parts differ, so this is rough early on).
  const std::string eta = frac > 0.02 ? runtime::format_duration(s.elapsed_s * (1 - frac) / frac) : "?";
  return fmt::format("{} {}/{} [{}] {:3.0f}%  {}{}  elapsed {}  ETA {}", s.name, s.part, s.parts, bar, frac * 100,
                     s.part_label, stage, runtime::format_duration(s.elapsed_s), eta);
}

std::string bar_line(const runtime::JobSnapshot& s) {
  if (s.parts > 0) return parts_line(s);
  std::string unit = s.unit.empty() ? "" : " " + s.unit;
  std::string head = s.stage.empty() ? s.name : s.stage;
  std::string rate = s.rate > 0 ? (s.rate >= 10 ? fmt::format("  {:.0f}{}/s", s.rate, unit)
                                                : fmt::format("  {:.2f}{}/s", s.rate, unit))
                                : "";
  if (s.total > 0) {
    const int width = 30;
    double frac = std::min(1.0, static_cast<double>(s.done) / static_cast<double>(s.total));
    int fill = static_cast<int>(frac * width);
    std::string bar = std::string(fill, '#') + std::string(width - fill, '.');
    return fmt::format("{:<10} [{}] {}/{}{} {:3.0f}%{}  elapsed {}  ETA {}", head, bar, s.done, s.total,
                       unit, frac * 100, rate, runtime::format_duration(s.elapsed_s),
                       s.eta_s >= 0 ? runtime::format_duration(s.eta_s) : "?");
  }
  return fmt::format("{:<10} {}{}{}  elapsed {}", head, s.done, unit, rate,
                     runtime::format_duration(s.elapsed_s));
}

}  // namespace

void add_quiet_flag(CLI::App& sub, bool& flag) {
  sub.add_flag("-q,--quiet", flag, "No progress bar or log lines (errors still go to stderr)");
}

bool quiet_requested(const CLI::App& sub, bool local_flag) {
  if (local_flag) return true;
  const CLI::App* p = sub.get_parent();
  while (p) {
    try {
      if (p->count("--quiet") > 0) return true;
    } catch (const CLI::OptionNotFound&) {
    }
    p = p->get_parent();
  }
  return false;
}

int run_job_cli(runtime::Job& job, bool quiet, const ProgressStyle& style) {
  g_interrupted.store(false);
  auto old_int = std::signal(SIGINT, on_signal);
  auto old_term = std::signal(SIGTERM, on_signal);
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  size_t cursor = 0;
  bool bar_drawn = false;
  std::string last_stage;
  auto last_line_time = std::chrono::steady_clock::now() - std::chrono::hours(1);

  auto clear_bar = [&] {
    if (tty && bar_drawn) {
      std::fputs("\r\033[K", stderr);
      bar_drawn = false;
    }
  };
  auto draw = [&](bool final) {
    auto s = job.snapshot();
    for (auto& e : job.events_since(cursor)) {
      if (quiet) continue;
      if (e.kind == runtime::JobEvent::Kind::Log) {
        if (style.show_log && !style.show_log(e.text)) continue;
        clear_bar();
        fmt::print(stderr, "{}\n", e.text);
      } else if (e.kind == runtime::JobEvent::Kind::Stage && tty && bar_drawn && style.keep_stage_lines) {
        std::fputs("\n", stderr);  // keep the finished stage's bar on screen
        bar_drawn = false;
      }
    }
    if (quiet) return;
    const std::string line = style.line ? style.line(s) : bar_line(s);
    if (tty) {
      std::fputs(("\r\033[K" + line).c_str(), stderr);
      bar_drawn = true;
      if (final) {
        std::fputs("\n", stderr);
        bar_drawn = false;
      }
    } else {
      auto now = std::chrono::steady_clock::now();
      if (final || s.stage != last_stage || now - last_line_time > std::chrono::seconds(5)) {
        fmt::print(stderr, "{}\n", line);
        last_line_time = now;
      }
    }
    last_stage = s.stage;
    std::fflush(stderr);
  };

  job.start();
  bool cancelled_by_user = false;
  while (!job.wait_for(std::chrono::milliseconds(tty ? 100 : 250))) {
    if (g_interrupted.load() && !cancelled_by_user) {
      cancelled_by_user = true;
      job.cancel();
      clear_bar();
      if (!quiet) fmt::print(stderr, "interrupted: stopping at the next safe point...\n");
    }
    draw(false);
  }
  draw(true);
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);

  auto s = job.snapshot();
  if (s.state == runtime::JobState::Cancelled) {
    if (!quiet) fmt::print(stderr, "{}: cancelled\n", s.name);
    return kCancelled;
  }
  job.rethrow_if_failed();
  return kOk;
}

}  // namespace genlens::cli
