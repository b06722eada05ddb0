// The collectives genlens needs, on PyTorch's own distributed runtime (c10d): a TCPStore
// rendezvous at MASTER_ADDR:MASTER_PORT (rank 0 serves it) and a ProcessGroupGloo for CPU
// tensors, or a ProcessGroupNCCL when genlens is built against a CUDA LibTorch and the
// device is CUDA. Every collective has the world's timeout (GENLENS_DIST_TIMEOUT); a
// failure (a peer that died, a timeout) becomes a genlens::Error naming this rank, the
// collective and what c10d said, so no rank ever hangs silently.
// The c10d headers stay inside group.cpp: this header only needs torch tensors.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>

#include "core/dist/world.h"

namespace genlens::dist {

class Group {
 public:
  // Rendezvous (waits up to world.timeout for every rank) and backend creation.
  Group(const World& world, torch::Device device);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return world_.rank; }
  int size() const { return world_.world_size; }
  bool is_root() const { return world_.rank == 0; }
  const World& world() const { return world_; }
  std::string backend() const;  // "gloo" or "nccl"

  // In place on `t` (any device; moved to the backend's device and back when needed).
  // `what` names the collective in errors ("gradients of step 12").
  void all_reduce_sum(torch::Tensor& t, const std::string& what);
  void all_reduce_max(torch::Tensor& t, const std::string& what);
  void broadcast(torch::Tensor& t, int root, const std::string& what);
  void barrier(const std::string& what);

  // For waits that follow long uneven work (the teacher on rank 0, the other ranks'
  // shards): a barrier with its own, long timeout. A rank that dies is still noticed at
  // once (its connections close); only a rank that hangs alive takes this long.
  void barrier_long(const std::string& what, std::chrono::hours timeout = std::chrono::hours(72));

 private:
  void all_reduce(torch::Tensor& t, bool max, const std::string& what, std::chrono::milliseconds timeout);
  struct Impl;
  World world_;
  std::unique_ptr<Impl> impl_;
};

// The process's group, created on first call from world_from_env() on `device` (later
// calls return the same group; the device of the first call wins). nullptr when the
// world has one process: then nothing is created and nothing touches the network.
Group* process_group(torch::Device device = torch::kCPU);

// This process's World (cheap; no network). Commands use it to pick their shard.
const World& this_world();

// --device cuda without an index under a multi-process launch means cuda:LOCAL_RANK.
torch::Device local_device(torch::Device requested);

}  // namespace genlens::dist
