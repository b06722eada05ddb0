// The studio's job host keeps its job list short, but never drops a finished job before
// every feature has polled it once after it finished: a feature whose job vanished would
// wait for its result forever (the flow test once lost a stopped training run's
// "use it as the adapter" offer that way, to a probe job started in the same frame).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "app/studio/job_host.h"

namespace st = genlens::studio;
using namespace std::chrono_literals;

namespace {
void wait_finished(st::JobHost& host, int id) {
  auto* j = host.find(id);
  REQUIRE(j);
  j->wait();
  REQUIRE(j->snapshot().finished());
}
}  // namespace

TEST_CASE("job host: finished jobs beyond 20 go only after a whole frame has seen them finished") {
  st::JobHost host;
  // The oldest job still runs: it must not shield the finished ones behind it from pruning.
  std::atomic<bool> release{false};
  const int running = host.start("train", [&](genlens::runtime::JobContext&) {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  std::vector<int> quick;
  for (int i = 0; i < 24; ++i) quick.push_back(host.start("probe" + std::to_string(i), [](genlens::runtime::JobContext&) {}));
  for (int id : quick) wait_finished(host, id);
  CHECK(host.entries().size() == 25);

  // Starting jobs never drops one: a feature may not have polled it yet this frame.
  const int late = host.start("late", [](genlens::runtime::JobContext&) {});
  wait_finished(host, late);
  CHECK(host.entries().size() == 26);

  // The first frame end only notes which jobs have finished.
  host.end_frame();
  CHECK(host.entries().size() == 26);
  // The next one drops the oldest finished jobs down to 20; the running one stays.
  host.end_frame();
  CHECK(host.entries().size() == 20);
  CHECK(host.find(running) != nullptr);
  CHECK(host.find(quick.front()) == nullptr);
  CHECK(host.find(late) != nullptr);

  // A job that finishes now (between frames) survives the next frame end even with the
  // list over 20, so the feature that waits for it sees it finished during a frame.
  for (int i = 0; i < 3; ++i) host.start("more" + std::to_string(i), [](genlens::runtime::JobContext&) {});
  release = true;
  for (auto& e : host.entries()) e.job->wait();
  host.end_frame();
  CHECK(host.find(running) != nullptr);
  CHECK(host.entries().size() == 20);
  const int one_more = host.start("one more", [](genlens::runtime::JobContext&) {});
  wait_finished(host, one_more);
  host.end_frame();
  CHECK(host.find(running) == nullptr);  // the oldest, now seen finished for a whole frame
  CHECK(host.entries().size() == 20);
}
