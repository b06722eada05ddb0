#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#if GENLENS_TESTS_WITH_CORE
#include <ATen/Context.h>

#include "core/runtime/env_info.h"
#endif

namespace {

// How many test cases passed the filters. CTest runs each case as `--test-case=NAME`; a
// name CTest mangles (a ';' splits it into two tests) matches nothing, and doctest calls
// a run of nothing a success. Here it is a failure, so no test can pass by not running.
unsigned g_matched = 0;

struct CountMatched : doctest::IReporter {
  explicit CountMatched(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override { g_matched = s.numTestCasesPassingFilters; }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("count-matched", 1, CountMatched);

bool has_case_filter(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    for (const char* f : {"--test-case=", "-tc=", "--dt-test-case=", "--dt-tc="})
      if (a.rfind(f, 0) == 0) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
#if GENLENS_TESTS_WITH_CORE
  // As the genlens executables do (env_info.h): the allocator, OpenBLAS's kernels, and
  // one thread per test process, passed on to the processes the tests start.
  genlens::runtime::tune_for_tensors(genlens::runtime::ThreadRole::Tests);
  // GENLENS_TEST_MKLDNN=0: bf16 matmuls take ATen's native gemm, as on a CPU without
  // AVX512BW/VL/DQ (tests/numeric_ref.h; tests/portability.sh runs the numerical tests so).
  if (const char* e = std::getenv("GENLENS_TEST_MKLDNN"); e && std::string(e) == "0")
    at::globalContext().setUserEnabledMkldnn(false);
#endif
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;  // --help, --list-test-cases, ...
  if (rc == 0 && g_matched == 0 && has_case_filter(argc, argv)) {
    std::fprintf(stderr, "no test case matches the --test-case filter: nothing ran, which is a failure "
                         "(a name with ';' is split by CTest; use ',' instead)\n");
    return 1;
  }
  return rc;
}
