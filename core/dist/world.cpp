#include "core/dist/world.h"

#include <cstdlib>

#include "core/util/error.h"

namespace genlens::dist {

namespace {

int64_t parse_int(const std::string& name, const std::string& value, int64_t lo, int64_t hi) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || v < lo || v > hi)
    fail("environment variable {}: expected a whole number in [{}, {}], found \"{}\"", name, lo, hi, value);
  return v;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // Hosts are separated by commas outside brackets; a bracket holds ranges "07-09,12".
  std::string first;
  int depth = 0;
  for (char c : nodelist) {
    if (c == ',' && depth == 0) break;
    if (c == '[') ++depth;
    if (c == ']') --depth;
    first.push_back(c);
  }
  // Each bracket group stands for a list of ranges: its first element starts the first host.
  std::string host;
  for (size_t i = 0; i < first.size(); ++i) {
    if (first[i] != '[') {
      host.push_back(first[i]);
      continue;
    }
    auto close = first.find(']', i);
    if (close == std::string::npos) fail("Slurm node list \"{}\": unbalanced '['", nodelist);
    std::string range = first.substr(i + 1, close - i - 1);
    host += range.substr(0, range.find_first_of(",-"));  // "07" of "07-09,12"
    i = close;
  }
  return host;
}

World world_from_env(const EnvLookup& env) {
  World w;
  auto get = [&](const char* name) { return env(name); };
  if (auto t = get("GENLENS_DIST_TIMEOUT"))
    w.timeout = std::chrono::seconds(parse_int("GENLENS_DIST_TIMEOUT", *t, 1, 7 * 24 * 3600));
  auto rank = get("RANK"), size = get("WORLD_SIZE");
  const bool slurm_step = get("SLURM_STEP_ID").has_value() && get("SLURM_PROCID").has_value();
  if (rank || size) {
    if (!rank || !size) fail("environment: {} is set but {} is not (torchrun sets both)", rank ? "RANK" : "WORLD_SIZE",
                             rank ? "WORLD_SIZE" : "RANK");
    w.source = "torchrun";
    w.world_size = static_cast<int>(parse_int("WORLD_SIZE", *size, 1, 1 << 20));
    w.rank = static_cast<int>(parse_int("RANK", *rank, 0, w.world_size - 1));
    if (auto l = get("LOCAL_RANK")) w.local_rank = static_cast<int>(parse_int("LOCAL_RANK", *l, 0, 1 << 20));
  } else if (slurm_step) {
    w.source = "slurm";
    auto n = get("SLURM_STEP_NUM_TASKS");
    if (!n) n = get("SLURM_NTASKS");
    if (!n) fail("environment: SLURM_PROCID is set but neither SLURM_STEP_NUM_TASKS nor SLURM_NTASKS is");
    w.world_size = static_cast<int>(parse_int(get("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS",
                                              *n, 1, 1 << 20));
    w.rank = static_cast<int>(parse_int("SLURM_PROCID", *get("SLURM_PROCID"), 0, w.world_size - 1));
    if (auto l = get("SLURM_LOCALID")) w.local_rank = static_cast<int>(parse_int("SLURM_LOCALID", *l, 0, 1 << 20));
  } else {
    return w;  // one process: no rendezvous at all
  }
  if (w.world_size == 1) return w;

  if (auto a = get("MASTER_ADDR"); a && !a->empty()) {
    w.master_addr = *a;
  } else if (w.source == "slurm") {
    auto list = get("SLURM_STEP_NODELIST");
    if (!list) list = get("SLURM_JOB_NODELIST");
    if (!list || list->empty())
      fail("environment: MASTER_ADDR is not set and Slurm gives no SLURM_STEP_NODELIST / SLURM_JOB_NODELIST to "
           "take it from");
    w.master_addr = first_slurm_host(*list);
  } else {
    fail("environment: WORLD_SIZE is {} but MASTER_ADDR is not set (the address of rank 0, e.g. 127.0.0.1)",
         w.world_size);
  }
  if (auto p = get("MASTER_PORT")) {
    w.master_port = static_cast<int>(parse_int("MASTER_PORT", *p, 1, 65535));
  } else if (w.source == "slurm") {
    int64_t job = 0;
    if (auto j = get("SLURM_JOB_ID")) job = parse_int("SLURM_JOB_ID", *j, 0, INT64_MAX);
    w.master_port = static_cast<int>(29500 + job % 1000);
  } else {
    fail("environment: WORLD_SIZE is {} but MASTER_PORT is not set (a free TCP port on rank 0's host)", w.world_size);
  }
  return w;
}

World world_from_env() {
  return world_from_env([](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

Slice slice_of(int64_t n, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    fail("slice_of: rank {} is outside a world of {}", rank, world_size);
  const int64_t base = n / world_size, extra = n % world_size;
  Slice s;
  s.begin = rank * base + std::min<int64_t>(rank, extra);
  s.end = s.begin + base + (rank < extra ? 1 : 0);
  return s;
}

}  // namespace genlens::dist
