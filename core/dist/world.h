// Where this process sits in a multi-process run, read from the launcher's environment.
// Two conventions are honoured, so the launchers users already have work unchanged:
//  * torchrun / `genlens launch`: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
//  * Slurm (`srun genlens ...`): inside a job step (SLURM_STEP_ID set), SLURM_PROCID is the
//    rank, SLURM_STEP_NUM_TASKS (else SLURM_NTASKS) the world size, SLURM_LOCALID the
//    local rank. MASTER_ADDR, when unset, is the first host of SLURM_STEP_NODELIST (else
//    SLURM_JOB_NODELIST), e.g. "gpu[07-09,12]" -> "gpu07"; MASTER_PORT, when unset, is
//    29500 + SLURM_JOB_ID % 1000, so two jobs sharing a node do not collide.
// RANK/WORLD_SIZE win when both are present (torchrun inside an allocation). A Slurm batch
// script itself (no step) is a single process: SLURM_NTASKS alone does not make a world.
// Nothing here talks to the network; core/dist/group.h does.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace genlens::dist {

struct World {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr;  // empty when world_size == 1
  int master_port = 0;
  std::string source = "single";  // "single", "torchrun" (incl. genlens launch) or "slurm"
  // Collective and rendezvous timeout: GENLENS_DIST_TIMEOUT seconds (default 600). A rank
  // that dies makes the others fail at their next collective, at the latest after this.
  std::chrono::milliseconds timeout{600000};
  bool distributed() const { return world_size > 1; }
};

// getenv-like lookup, injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Reads the variables above; throws genlens::Error naming the variable and its value when
// one is malformed (non-numeric, rank outside [0, world), port outside 1..65535, ...).
World world_from_env(const EnvLookup& env);
World world_from_env();  // the process environment

// First host name of a Slurm hostlist expression: "a[01-03],b" -> "a01", "x" -> "x".
std::string first_slurm_host(const std::string& nodelist);

// Contiguous slice of n items for `rank` of `world`: [begin, end), sizes differ by at most
// one, earlier ranks take the larger slices; concatenated in rank order they are 0..n-1.
struct Slice {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
Slice slice_of(int64_t n, int rank, int world_size);

}  // namespace genlens::dist
