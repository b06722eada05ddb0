// SIGBUS on a truncated memory-mapped file -> a clear error (see mapped_guard.h).
// The handler only reads a fixed table of atomics and calls write(2) and _exit(2), which
// are async-signal-safe; registration copies the path once into a never-freed buffer so
// the handler never touches memory that another thread might be freeing.
#include "core/io/mapped_guard.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace genlens::io {

namespace {

constexpr size_t kSlots = 4096;

struct Slot {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<const char*> path{nullptr};
};

Slot g_slots[kSlots];
std::mutex g_register_mutex;
struct sigaction g_previous {};

void write_str(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void write_u64(uint64_t v) {
  char buf[24];
  char* p = buf + sizeof(buf) - 1;
  *p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  write_str(p);
}

void on_sigbus(int sig, siginfo_t* info, void* ctx) {
  const auto addr = reinterpret_cast<uintptr_t>(info ? info->si_addr : nullptr);
  for (auto& s : g_slots) {
    const uintptr_t b = s.begin.load(std::memory_order_acquire), e = s.end.load(std::memory_order_acquire);
    const char* path = s.path.load(std::memory_order_acquire);
    if (b == 0 || addr < b || addr >= e || !path) continue;
    write_str("genlens: error: '");
    write_str(path);
    write_str("': the file shrank or was rewritten in place while genlens had it memory-mapped (reading byte ");
    write_u64(addr - b);
    write_str(" of the ");
    write_u64(e - b);
    write_str(" it had when opened); its data is gone, so genlens stops here. Outputs already written are "
              "intact; rerun once the file is complete.\n");
    ::_exit(1);
  }
  // Not ours: hand the signal to the handler installed before this one (or the default action).
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, ctx);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler) {
    return g_previous.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

}  // namespace

void watch_mapping(const void* addr, size_t size, const std::string& path) {
  install_once();
  std::lock_guard<std::mutex> lock(g_register_mutex);
  for (auto& s : g_slots) {
    if (s.begin.load() != 0) continue;
    // Leaked on purpose: the handler may read it at any time, even after unwatch.
    char* copy = new char[path.size() + 1];
    std::memcpy(copy, path.c_str(), path.size() + 1);
    s.path.store(copy, std::memory_order_release);
    s.end.store(reinterpret_cast<uintptr_t>(addr) + size, std::memory_order_release);
    s.begin.store(reinterpret_cast<uintptr_t>(addr), std::memory_order_release);
    return;
  }
}

void unwatch_mapping(const void* addr) {
  std::lock_guard<std::mutex> lock(g_register_mutex);
  for (auto& s : g_slots)
    if (s.begin.load() == reinterpret_cast<uintptr_t>(addr)) {
      s.begin.store(0, std::memory_order_release);
      s.end.store(0, std::memory_order_release);
      return;
    }
}

}  // namespace genlens::io
