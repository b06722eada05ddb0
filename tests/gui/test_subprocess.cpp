// The studio's child-process runner (app/studio/subprocess.cpp), which runs `genlens
// train` for the Training view: Pause stops the child where it stands and Continue picks
// it up, and Stop on a paused run still reaches the child (continued first, then
// interrupted) instead of waiting forever on a frozen process.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "app/studio/subprocess.h"

namespace st = genlens::studio;
namespace rt = genlens::runtime;
using namespace std::chrono_literals;

namespace {
// Lines the child has written so far, from the job's log.
size_t lines_logged(rt::Job& job, size_t& cursor, size_t& total) {
  total += job.events_since(cursor).size();
  return total;
}
}  // namespace

TEST_CASE("studio subprocess: pause freezes the child, continue resumes it, stop reaches a paused child") {
  // A child that prints a line every 20 ms for about 3 s.
  const std::vector<std::string> argv{"/bin/sh", "-c", "i=0; while [ $i -lt 150 ]; do echo $i >&2; i=$((i+1)); sleep 0.02; done"};
  st::ProcessControl control;
  st::ProcessResult result;
  rt::Job job("child", [&](rt::JobContext& ctx) { result = st::run_process(argv, ctx, &control); });
  job.start();
  size_t cursor = 0, total = 0;
  std::this_thread::sleep_for(300ms);
  REQUIRE(lines_logged(job, cursor, total) > 0);

  control.pause = true;
  for (int i = 0; i < 100 && !control.stopped; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(control.stopped);
  std::this_thread::sleep_for(150ms);  // lines already in the pipe drain
  const size_t at_pause = lines_logged(job, cursor, total);
  std::this_thread::sleep_for(500ms);  // 25 lines' worth of time
  CHECK(lines_logged(job, cursor, total) == at_pause);
  CHECK(job.snapshot().state == rt::JobState::Running);

  control.pause = false;
  std::this_thread::sleep_for(300ms);
  CHECK(!control.stopped);
  CHECK(lines_logged(job, cursor, total) > at_pause);

  // Stop while paused: the child is continued and interrupted, the job ends as cancelled.
  control.pause = true;
  for (int i = 0; i < 100 && !control.stopped; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(control.stopped);
  job.cancel();
  REQUIRE(job.wait_for(5s));
  CHECK(job.snapshot().state == rt::JobState::Cancelled);
  CHECK(!control.stopped);
}

TEST_CASE("studio subprocess: without a pause the child runs to the end and its exit code is kept") {
  st::ProcessResult result;
  rt::Job job("child", [&](rt::JobContext& ctx) {
    result = st::run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, ctx);
  });
  job.start();
  REQUIRE(job.wait_for(5s));
  CHECK(result.exit_code == 3);
  CHECK(result.out == "out\n");
  CHECK(st::last_error_line(result) == "err");
}
