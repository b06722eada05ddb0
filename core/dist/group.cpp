// The only translation unit that includes c10d (heavy headers; see group.h).
#include "core/dist/group.h"

#include <fmt/format.h>
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // the headers hide ProcessGroupGloo without it; Debian's LibTorch has Gloo
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(GENLENS_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <mutex>

#include "core/util/error.h"

namespace genlens::dist {

namespace {

std::string c10_message(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  // Gloo: a ProcessGroup in LibTorch 1.13, a Backend in 2.x; both offer the calls used here.
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if defined(GENLENS_WITH_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  torch::Device device = torch::kCPU;  // where the backend wants tensors
  std::mutex mu;                       // collectives are issued in one order per process
};

Group::Group(const World& world, torch::Device device) : world_(world), impl_(std::make_unique<Impl>()) {
  if (world_.world_size < 2) fail("dist::Group: a world of {} process needs no group", world_.world_size);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(world_.master_port);
    so.isServer = world_.rank == 0;
    so.numWorkers = static_cast<std::size_t>(world_.world_size);
    so.waitWorkers = true;
    so.timeout = world_.timeout;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // LibTorch >= 2.4 asks for the libuv TCPStore by default; Debian 13's LibTorch 2.6 is
    // built without libuv and refuses it. The classic store serves a rendezvous as well.
    so.useLibUV = false;
#endif
    impl_->store = c10::make_intrusive<c10d::TCPStore>(world_.master_addr, so);
  } catch (const std::exception& e) {
    fail("rank {} of {}: rendezvous at {}:{} ({} convention) failed after {:.0f} s: {}{}", world_.rank,
         world_.world_size, world_.master_addr, world_.master_port, world_.source,
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), c10_message(e),
         world_.rank == 0 ? " (is the port free? another run may be using it: set MASTER_PORT)"
                          : " (is rank 0 running and reachable at MASTER_ADDR:MASTER_PORT?)");
  }
  try {
#if defined(GENLENS_WITH_NCCL)
    if (device.is_cuda()) {
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = world_.timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, world_.rank, world_.world_size, opts);
      impl_->device = device;
      return;
    }
#endif
    auto opts = c10d::ProcessGroupGloo::Options::create(world_.timeout);
    // As torch.distributed does: GLOO_SOCKET_IFNAME picks the interface; otherwise the
    // host name's address (loopback when the whole world is on this machine).
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(world_.master_addr))
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, world_.rank, world_.world_size, opts);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // Typically a rank that never started: the group waits for every rank's address.
    fail("rank {} of {}: creating the {} process group failed: {} (did all {} ranks start, with the same "
         "MASTER_ADDR:MASTER_PORT {}:{}?)", world_.rank, world_.world_size, device.is_cuda() ? "NCCL" : "Gloo",
         c10_message(e), world_.world_size, world_.master_addr, world_.master_port);
  }
}

Group::~Group() = default;

std::string Group::backend() const {
#if defined(GENLENS_WITH_NCCL)
  if (impl_->nccl) return "nccl";
#endif
  return "gloo";
}

namespace {

template <class F>
void run_collective(const World& w, std::chrono::milliseconds timeout, const std::string& kind,
                    const std::string& what, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    f();
  } catch (const std::exception& e) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fail("rank {} of {}: {} ({}) failed after {:.1f} s (timeout {} s): {} -- another rank has most likely died or "
         "stopped; see its own output. This rank stops too.",
         w.rank, w.world_size, kind, what, s, std::chrono::duration_cast<std::chrono::seconds>(timeout).count(),
         c10_message(e));
  }
}

}  // namespace

void Group::all_reduce_sum(torch::Tensor& t, const std::string& what) {
  all_reduce(t, /*max=*/false, what, world_.timeout);
}
void Group::all_reduce_max(torch::Tensor& t, const std::string& what) {
  all_reduce(t, /*max=*/true, what, world_.timeout);
}

void Group::all_reduce(torch::Tensor& t, bool max, const std::string& what, std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  run_collective(world_, timeout, max ? "all-reduce (max)" : "all-reduce", what, [&] {
    std::vector<at::Tensor> v{t.to(impl_->device).contiguous()};
    c10d::AllreduceOptions o;
    o.reduceOp = max ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
    o.timeout = timeout;
#if defined(GENLENS_WITH_NCCL)
    if (impl_->nccl) impl_->nccl->allreduce(v, o)->wait();
    else
#endif
      impl_->gloo->allreduce(v, o)->wait();
    if (v[0].data_ptr() != t.data_ptr()) t.copy_(v[0]);
  });
}

void Group::broadcast(torch::Tensor& t, int root, const std::string& what) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  run_collective(world_, world_.timeout, "broadcast", what, [&] {
    std::vector<at::Tensor> v{t.to(impl_->device).contiguous()};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = world_.timeout;
#if defined(GENLENS_WITH_NCCL)
    if (impl_->nccl) impl_->nccl->broadcast(v, o)->wait();
    else
#endif
      impl_->gloo->broadcast(v, o)->wait();
    if (v[0].data_ptr() != t.data_ptr()) t.copy_(v[0]);
  });
}

void Group::barrier(const std::string& what) {
  // An all-reduce of one number rather than c10d's barrier: the same failure handling,
  // and NCCL's barrier needs to guess the device.
  auto one = torch::ones({1}, torch::kFloat32);
  all_reduce_sum(one, "barrier: " + what);
}

void Group::barrier_long(const std::string& what, std::chrono::hours timeout) {
  auto one = torch::ones({1}, torch::kFloat32);
  all_reduce(one, false, "barrier: " + what, timeout);
}

const World& this_world() {
  static const World w = world_from_env();
  return w;
}

Group* process_group(torch::Device device) {
  static std::once_flag once;
  // Never destroyed: a group torn down during static destruction can block on peers that
  // are already gone; the OS closes the sockets at exit.
  static Group* group = nullptr;
  std::call_once(once, [&] {
    if (this_world().distributed()) group = new Group(this_world(), device);
  });
  return group;
}

torch::Device local_device(torch::Device requested) {
  if (requested.is_cuda() && !requested.has_index() && this_world().distributed())
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(this_world().local_rank));
  return requested;
}

}  // namespace genlens::dist
