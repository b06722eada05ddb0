// `genlens launch --nproc N -- genlens <command> ...`: N processes of one command on this
// machine, for users without PyTorch's Python (torchrun). It only spawns the processes
// with the torchrun variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT); the rendezvous and the collectives are c10d's (core/dist).
// It forwards SIGINT/SIGTERM/SIGHUP to every rank, and when one rank fails it stops the
// others (SIGTERM, then SIGKILL after --grace seconds) and exits non-zero, naming the rank.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "app/cli/command.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  int nproc = 2;
  int master_port = 0;
  std::string master_addr = "127.0.0.1";
  double grace_s = 10;
  std::vector<std::string> command;
};

std::atomic<int> g_signal{0};
extern "C" void on_launch_signal(int sig) { g_signal.store(sig); }

// A port the kernel says is free now (bound to port 0, then released). Racy in principle
// (another program may take it before rank 0 binds it); --master-port fixes one instead.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("launch: cannot open a socket to find a free port ({})", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    fail("launch: cannot find a free TCP port ({}); pass --master-port", std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) fail("launch: cannot read /proc/self/exe to start `genlens` ({})", std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

int run_launch(const Opts& o) {
  if (o.nproc < 1) fail("launch --nproc: expected >= 1, found {}", o.nproc);
  if (o.command.empty()) fail("launch: no command given (e.g. genlens launch --nproc 2 -- genlens train ...)");
  const int port = o.master_port > 0 ? o.master_port : free_port();
  // `genlens` means this very executable (the one on PATH may be another build).
  std::vector<std::string> argv = o.command;
  if (argv[0] == "genlens") argv[0] = self_exe();

  std::vector<pid_t> pids(static_cast<size_t>(o.nproc), -1);
  std::vector<bool> alive(static_cast<size_t>(o.nproc), false);
  g_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_launch_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {}, old_hup {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGHUP, &sa, &old_hup);
  const pid_t parent = ::getpid();
  for (int r = 0; r < o.nproc; ++r) {
    pid_t pid = ::fork();
    if (pid < 0) fail("launch: fork failed for rank {} ({})", r, std::strerror(errno));
    if (pid == 0) {
      // Own process group: a Ctrl-C at the terminal reaches the launcher only, which
      // forwards it once. If the launcher itself dies, the ranks get SIGTERM.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(143);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
      cargv.push_back(nullptr);
      ::execvp(cargv[0], cargv.data());
      fmt::print(stderr, "genlens launch: rank {}: cannot run {} ({})\n", r, argv[0], std::strerror(errno));
      ::_exit(127);
    }
    pids[static_cast<size_t>(r)] = pid;
    alive[static_cast<size_t>(r)] = true;
  }
  fmt::print(stderr, "genlens launch: {} ranks (pids {}), MASTER_ADDR={} MASTER_PORT={}\n", o.nproc,
             fmt::join(pids, " "), o.master_addr, port);

  auto send_all = [&](int sig) {
    for (int r = 0; r < o.nproc; ++r)
      if (alive[static_cast<size_t>(r)]) ::kill(pids[static_cast<size_t>(r)], sig);
  };
  int remaining = o.nproc, failed_rank = -1, failed_status = 0, forwarded = 0;
  std::chrono::steady_clock::time_point kill_at{};
  bool stopping = false, killed = false;
  while (remaining > 0) {
    if (int sig = g_signal.exchange(0); sig != 0) {
      forwarded = sig;
      fmt::print(stderr, "genlens launch: got signal {} ({}); forwarding it to every rank\n", sig, strsignal(sig));
      send_all(sig);
    }
    // Reap everything that ended since the last look. When several ranks ended in the
    // same round, one killed by a signal is reported before one that exited with an error:
    // the survivors of a dead rank fail too, a moment later, and are not the cause.
    std::vector<std::pair<int, int>> ended;  // (rank, wait status)
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      int r = 0;
      while (r < o.nproc && pids[static_cast<size_t>(r)] != pid) ++r;
      if (r == o.nproc) continue;  // not one of ours
      alive[static_cast<size_t>(r)] = false;
      --remaining;
      ended.emplace_back(r, status);
    }
    std::stable_sort(ended.begin(), ended.end(),
                     [](const auto& a, const auto& b) { return WIFSIGNALED(a.second) && !WIFSIGNALED(b.second); });
    for (auto& [r, status] : ended) {
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      // After a forwarded Ctrl-C the ranks stop on purpose (exit 130): not a failure.
      if (ok || failed_rank >= 0 || stopping || forwarded != 0) continue;
      failed_rank = r;
      failed_status = status;
      fmt::print(stderr, "genlens launch: rank {} (pid {}) {}; {}\n", r, pids[static_cast<size_t>(r)],
                 describe(status),
                 remaining > 0 ? fmt::format("stopping the other {} rank(s)", remaining)
                               : std::string("no other rank is running"));
      if (remaining > 0) {
        send_all(SIGTERM);
        stopping = true;
        kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.grace_s * 1000));
      }
    }
    if (!ended.empty()) continue;
    if (stopping && !killed && std::chrono::steady_clock::now() >= kill_at) {
      fmt::print(stderr, "genlens launch: {} rank(s) still running {} s after SIGTERM; killing them\n", remaining,
                 o.grace_s);
      send_all(SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);
  if (failed_rank >= 0) {
    fmt::print(stderr, "genlens launch: failed: rank {} {} (the first rank to fail; see its messages above)\n",
               failed_rank, describe(failed_status));
    const int code = exit_code_of(failed_status);
    return code == 0 ? kFailure : code;
  }
  if (forwarded != 0) return kCancelled;
  return kOk;
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("--nproc", o->nproc, "Processes (ranks) to start on this machine")->check(kAtLeastOne)
      ->capture_default_str();
  sub.add_option("--master-addr", o->master_addr, "Address rank 0 serves the rendezvous on")->capture_default_str();
  sub.add_option("--master-port", o->master_port, "Rendezvous TCP port (0: a free one)")->capture_default_str();
  sub.add_option("--grace", o->grace_s, "Seconds the other ranks get after SIGTERM when one rank failed")
      ->capture_default_str();
  sub.add_option("command", o->command, "The command after --, e.g. -- genlens train --model ...")->required();
  sub.footer(
      "Example: genlens launch --nproc 2 -- genlens train --model M --data D --out RUN --batch-size 8\n"
      "torchrun --no-python --nproc-per-node N genlens ... and srun genlens ... work as well (same variables).");
  return [o]() -> int { return run_launch(*o); };
}

RegisterCommand reg({"launch", "Run N ranks of a genlens command on this machine (data-parallel train, sharded "
                               "encode/generate)", setup, 60});

}  // namespace
}  // namespace genlens::cli
