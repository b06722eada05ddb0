#include "app/studio/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/util/error.h"

namespace genlens::studio {

std::string last_error_line(const ProcessResult& r) {
  size_t end = r.err.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return fmt::format("exited with code {}", r.exit_code);
  size_t begin = r.err.rfind('\n', end);
  return r.err.substr(begin == std::string::npos ? 0 : begin + 1, end + 1 - (begin == std::string::npos ? 0 : begin + 1));
}

ProcessResult run_process(const std::vector<std::string>& argv, runtime::JobContext& ctx, ProcessControl* control) {
  if (argv.empty()) fail("run_process: empty command line");
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    fail("cannot create a pipe for '{}': {}", argv[0], std::strerror(errno));
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) fail("cannot start '{}': {}", argv[0], std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);  // its own group: a terminal Ctrl-C for the studio does not hit it twice
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(args[0], args.data());
    dprintf(2, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  ProcessResult r;
  std::string line_buf;
  bool interrupted = false;
  auto interrupt_time = std::chrono::steady_clock::now();
  bool out_open = true, err_open = true;
  bool child_stopped = false;
  auto set_stopped = [&](bool stop) {
    if (stop == child_stopped) return;
    kill(pid, stop ? SIGSTOP : SIGCONT);
    child_stopped = stop;
    if (control) control->stopped = stop;
  };
  while (out_open || err_open) {
    if (control && !interrupted) set_stopped(control->pause.load());
    if (ctx.cancelled() && !interrupted) {
      set_stopped(false);  // a stopped process would never see the SIGINT
      kill(pid, SIGINT);
      interrupted = true;
      interrupt_time = std::chrono::steady_clock::now();
    }
    if (interrupted && std::chrono::steady_clock::now() - interrupt_time > std::chrono::seconds(20)) kill(pid, SIGKILL);
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0}, {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, 50) < 0 && errno != EINTR) break;
    char buf[4096];
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      ssize_t n = read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) out_open = false;
      else r.out.append(buf, size_t(n));
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP))) {
      ssize_t n = read(err_pipe[0], buf, sizeof buf);
      if (n <= 0) {
        err_open = false;
      } else {
        r.err.append(buf, size_t(n));
        line_buf.append(buf, size_t(n));
        size_t nl;
        // Progress bars redraw with \r: log only whole lines.
        while ((nl = line_buf.find_first_of("\n\r")) != std::string::npos) {
          auto line = line_buf.substr(0, nl);
          line_buf.erase(0, nl + 1);
          if (!line.empty() && line_buf.find('\r') == std::string::npos) ctx.log(line);
        }
      }
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  set_stopped(false);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (interrupted) throw runtime::Cancelled();
  return r;
}

}  // namespace genlens::studio
