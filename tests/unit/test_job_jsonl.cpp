// core/runtime/job, core/runtime/metrics_log, core/io/jsonl.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/io/jsonl.h"
#include "core/runtime/job.h"
#include "core/runtime/metrics_log.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace genlens;
using namespace std::chrono_literals;

TEST_CASE("job: progress, events and completion on a worker thread") {
  runtime::Job job("count", [](runtime::JobContext& ctx) {
    ctx.set_stage("count", 50, "items");
    for (int i = 0; i < 50; ++i) {
      ctx.check_cancel();
      if (i % 10 == 0) ctx.metrics(i, {{"loss", 1.0 / (i + 1)}, {"lr", 1e-3}});
      ctx.advance();
      std::this_thread::sleep_for(1ms);
    }
    ctx.log("finished counting");
  });
  CHECK(job.snapshot().state == runtime::JobState::Pending);
  job.start();
  size_t cursor = 0;
  std::vector<runtime::JobEvent> events;
  while (!job.wait_for(5ms)) {
    auto s = job.snapshot();
    CHECK(s.done <= 50);
    for (auto& e : job.events_since(cursor)) events.push_back(e);
  }
  for (auto& e : job.events_since(cursor)) events.push_back(e);
  auto s = job.snapshot();
  CHECK(s.state == runtime::JobState::Done);
  CHECK(s.done == 50);
  CHECK(s.total == 50);
  CHECK(s.rate > 0);
  CHECK(s.eta_s == doctest::Approx(0.0));
  int n_metrics = 0, n_logs = 0, n_stage = 0;
  for (auto& e : events) {
    if (e.kind == runtime::JobEvent::Kind::Metrics) {
      ++n_metrics;
      CHECK(e.metrics.value_or("lr", 0) == doctest::Approx(1e-3));
    }
    n_logs += e.kind == runtime::JobEvent::Kind::Log;
    n_stage += e.kind == runtime::JobEvent::Kind::Stage;
  }
  CHECK(n_metrics == 5);
  CHECK(n_logs == 1);
  CHECK(n_stage == 1);
  CHECK_NOTHROW(job.rethrow_if_failed());
  // A second consumer reading from 0 sees every event too.
  size_t c2 = 0;
  CHECK(job.events_since(c2).size() == events.size());
}

TEST_CASE("job: cooperative cancel and failures are states, errors keep their message") {
  runtime::Job job("forever", [](runtime::JobContext& ctx) {
    ctx.set_stage("spin", 0);
    for (;;) {
      ctx.check_cancel();
      std::this_thread::sleep_for(1ms);
    }
  });
  job.start();
  std::this_thread::sleep_for(20ms);
  job.cancel();
  job.wait();
  CHECK(job.snapshot().state == runtime::JobState::Cancelled);
  CHECK_THROWS_AS(job.rethrow_if_failed(), runtime::Cancelled);

  runtime::Job bad("bad", [](runtime::JobContext&) { fail("data.jsonl:3: field \"answer\": missing"); });
  bad.run_here();
  auto s = bad.snapshot();
  CHECK(s.state == runtime::JobState::Failed);
  CHECK(s.error.find("data.jsonl:3") != std::string::npos);
  CHECK_THROWS_AS(bad.rethrow_if_failed(), Error);
}

TEST_CASE("job: two threads may wait and join at once, the destructor joins a running worker") {
  // Before the worker was joined under a lock, two joiners (the studio's UI polling with
  // wait_for while its job host calls wait) both called std::thread::join: undefined
  // behaviour, in practice std::system_error or a crash. Repeat to give the race room.
  for (int rep = 0; rep < 200; ++rep) {
    runtime::Job job("short", [](runtime::JobContext& ctx) { ctx.advance(); });
    job.start();
    std::atomic<int> finished{0};
    std::thread a([&] { job.wait(); ++finished; });
    std::thread b([&] { while (!job.wait_for(1ms)) {} ++finished; });
    job.wait();
    a.join();
    b.join();
    CHECK(finished == 2);
    CHECK(job.snapshot().state == runtime::JobState::Done);
  }
  for (int rep = 0; rep < 50; ++rep) {  // start() racing a waiter on another thread
    runtime::Job job("late start", [](runtime::JobContext&) {});
    std::thread w([&] { while (!job.wait_for(1ms)) {} });
    job.start();
    w.join();
    job.wait();
  }
  std::atomic<bool> saw_cancel{false};
  {
    runtime::Job job("spin", [&](runtime::JobContext& ctx) {
      while (!ctx.cancelled()) std::this_thread::sleep_for(1ms);
      saw_cancel = true;
    });
    job.start();
    std::thread w([&] { job.wait_for(5ms); });  // a poller still active when destruction begins
    w.join();
  }  // ~Job: cancels and joins the worker
  CHECK(saw_cancel);
}

TEST_CASE("job: ETA from the rate of the current stage, resumed progress is not speed") {
  runtime::Job job("eta", [](runtime::JobContext& ctx) {
    ctx.set_stage("train", 100, "steps", /*start_done=*/60);
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(2ms);
      ctx.advance();
    }
  });
  job.run_here();
  auto s = job.snapshot();
  CHECK(s.done == 70);
  CHECK(s.rate > 0);
  CHECK(s.rate < 1000);  // 10 steps in >= 20 ms, not 70 steps
  CHECK(s.eta_s > 0);
  CHECK(runtime::format_duration(3725) == "1h02m");
  CHECK(runtime::format_duration(65) == "1m05s");
  CHECK(runtime::format_duration(9.4) == "9s");
}

TEST_CASE("jsonl: rows stream, errors name file:line and field") {
  test::TempDir tmp("jsonl");
  auto p = tmp / "rows.jsonl";
  test::write_file(p, "{\"id\": 1, \"question\": \"q1\"}\n\n{\"id\": \"b\", \"question\": 7}\n[1,2]\n{oops\n");
  io::JsonlReader r(p);
  io::Json row;
  REQUIRE(r.next(row));
  CHECK(r.line() == 1);
  CHECK(r.get_id(row) == "1");
  CHECK(r.get_string(row, "question") == "q1");
  CHECK_FALSE(r.get_string_opt(row, "answer").has_value());
  try {
    r.get_string(row, "answer");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("rows.jsonl:1: field \"answer\"") != std::string::npos);
  }
  REQUIRE(r.next(row));
  CHECK(r.line() == 3);  // blank line skipped, still counted
  CHECK(r.get_id(row) == "b");
  try {
    r.get_string(row, "question");
    FAIL("expected an error");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("rows.jsonl:3: field \"question\": expected a string, found a JSON number") != std::string::npos);
  }
  try {
    r.next(row);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("rows.jsonl:4: expected a JSON object, found a JSON array") != std::string::npos);
  }
  try {
    r.next(row);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("rows.jsonl:5: expected one JSON object per line") != std::string::npos);
  }
  CHECK_THROWS_AS(io::JsonlReader(tmp / "missing.jsonl"), Error);
}

TEST_CASE("jsonl: writer appends and flushes, a torn last line is detected and can be redone") {
  test::TempDir tmp("jsonl-torn");
  auto p = tmp / "out.jsonl";
  {
    io::JsonlWriter w(p, io::JsonlWriter::Mode::Truncate);
    w.write(io::Json{{"id", "a"}, {"answer", "x\ny"}});
    w.write(io::Json{{"id", "b"}, {"answer", "bad utf8 \xff here"}});
    // Flushed per line: visible before close.
    CHECK(io::read_jsonl_complete(p).rows.size() == 2);
  }
  auto full = test::read_file(p);
  test::write_file(p, full + "{\"id\": \"c\", \"ans");  // crash mid-write
  auto pre = io::read_jsonl_complete(p);
  CHECK(pre.rows.size() == 2);
  CHECK(pre.torn_tail);
  CHECK(pre.valid_bytes == full.size());
  CHECK(pre.rows[0]["answer"] == "x\ny");
  io::truncate_file(p, pre.valid_bytes);
  {
    io::JsonlWriter w(p, io::JsonlWriter::Mode::Append);
    w.write(io::Json{{"id", "c"}, {"answer", "z"}});
  }
  auto again = io::read_jsonl_complete(p);
  CHECK(again.rows.size() == 3);
  CHECK_FALSE(again.torn_tail);
  // A complete-looking but unparsable last line is torn too; one in the middle is corruption.
  test::write_file(p, "{\"id\": 1}\n{\"id\": \n");
  CHECK(io::read_jsonl_complete(p).torn_tail);
  test::write_file(p, "{\"id\": 1}\n{\"id\": \n{\"id\": 3}\n");
  CHECK_THROWS_AS(io::read_jsonl_complete(p), Error);
  CHECK(io::read_jsonl_complete(tmp / "none.jsonl").rows.empty());
}

TEST_CASE("metrics log: one object per step, truncation for resume keeps earlier rows") {
  test::TempDir tmp("metrics");
  auto p = tmp / "metrics.jsonl";
  {
    runtime::MetricsLog log(p);
    for (int s = 1; s <= 5; ++s) log.write(s, {{"loss", 10.0 - s}, {"lr", 1e-3}, {"bad", std::nan("")}});
  }
  auto text = test::read_file(p);
  CHECK(text.find("{\"step\":1,\"loss\":9.0,\"lr\":0.001,\"bad\":null}") != std::string::npos);
  test::write_file(p, text + "{\"step\":6,\"lo");
  runtime::MetricsLog::truncate_after_step(p, 3);
  auto rows = runtime::MetricsLog::read(p);
  REQUIRE(rows.size() == 3);
  CHECK(rows.back().step == 3);
  CHECK(rows.back().value_or("loss", 0) == doctest::Approx(7.0));
  {
    runtime::MetricsLog log(p);
    log.write(4, {{"loss", 1.0}});
  }
  CHECK(runtime::MetricsLog::read(p).size() == 4);
}
