// `genlens bench load --model DIR`: how long loading takes and how much memory it
// needs, against the weight files' size. The goal is a peak of about one copy of the
// weights: same-dtype CPU loads view the mmap'ed file (no copy); converting loads drop
// each tensor's file pages once it is converted. Baseline: reading the same files with
// plain read() (disk / page-cache throughput, no model).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/cli/bench.h"
#include "app/cli/model_args.h"
#include "core/model/checkpoint.h"
#include "core/model/decoder_lm.h"

namespace genlens::cli {
namespace {

// kB from /proc/self/status ("VmRSS", "VmHWM").
int64_t proc_kb(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  return -1;
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Opts {
  std::string model, dtype = "f32", device = "cpu";
};

std::function<int()> setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Model directory")->required();
  sub.add_option("--dtype", o->dtype, "Load as f32, bf16 or f16")->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  return [o] {
    namespace fs = std::filesystem;
    const auto dtype = model::parse_dtype(o->dtype);
    const auto device = model::parse_device(o->device);
    // Baseline: read every weight file with read() into a small reused buffer.
    uint64_t file_bytes = 0;
    size_t n_files = 0;
    double read_s = 0;
    {
      auto wf = model::open_weight_files(o->model);
      file_bytes = wf.total_bytes;
      n_files = wf.files.size();
      std::vector<char> buf(16 << 20);
      auto t0 = std::chrono::steady_clock::now();
      for (auto& f : wf.files) {
        int fd = ::open(f->path().c_str(), O_RDONLY);
        while (fd >= 0 && ::read(fd, buf.data(), buf.size()) > 0) {
        }
        if (fd >= 0) ::close(fd);
      }
      read_s = seconds_since(t0);
    }
    const int64_t rss0 = proc_kb("VmRSS") * 1024, hwm0 = proc_kb("VmHWM") * 1024;

    auto t0 = std::chrono::steady_clock::now();
    auto lm = model::DecoderLM::load(o->model, device, dtype);
    const double load_s = seconds_since(t0);
    const int64_t rss1 = proc_kb("VmRSS") * 1024, hwm1 = proc_kb("VmHWM") * 1024;

    // Touch every weight (as a forward pass would) so mapped pages become resident.
    uint64_t model_bytes = 0;
    {
      torch::NoGradGuard ng;
      // One byte per page, read in place (no temporary copies that would inflate the peak).
      volatile unsigned char sink = 0;
      for (auto& [name, p] : lm->named_parameters()) {
        model_bytes += p.nbytes();
        if (!p.device().is_cpu()) continue;
        const auto* b = static_cast<const unsigned char*>(p.data_ptr());
        for (size_t i = 0; i < p.nbytes(); i += 4096) sink = sink + b[i];
      }
      (void)sink;
    }
    const int64_t rss2 = proc_kb("VmRSS") * 1024, hwm2 = proc_kb("VmHWM") * 1024;

    // One short forward, for orientation.
    double fwd_s = 0;
    {
      torch::NoGradGuard ng;
      auto ids = torch::arange(1, 33, torch::kLong).view({1, 32}).to(device);
      auto t1 = std::chrono::steady_clock::now();
      auto h = lm->forward(lm->embed(ids), torch::ones({1, 32}, torch::kLong).to(device)).last_hidden;
      lm->lm_head(h.select(1, 31)).sum().item<float>();
      fwd_s = seconds_since(t1);
    }
    const int64_t hwm3 = proc_kb("VmHWM") * 1024;

    const auto& c = lm->config();
    const double growth = static_cast<double>(std::max(hwm1, hwm2) - rss0);
    // Readable lines on stderr, one JSON object on stdout (as every bench case): the
    // baseline is a plain read() of the same files.
    fmt::print(stderr, "model        {} ({} {}, {:.1f}M parameters, {} file(s))\n", o->model, c.model_type,
               c.tie_word_embeddings ? "tied" : "untied", c.num_parameters() / 1e6, n_files);
    fmt::print(stderr, "weights      {:.1f} MiB on disk; {:.1f} MiB as {} in memory\n", mib(file_bytes), mib(model_bytes),
               o->dtype);
    fmt::print(stderr, "baseline     read() of the files: {:.3f} s ({:.0f} MiB/s)\n", read_s,
               mib(file_bytes) / std::max(read_s, 1e-9));
    fmt::print(stderr, "load         {:.3f} s to {} {}\n", load_s, o->device, o->dtype);
    fmt::print(stderr, "rss          before {:.1f} MiB | after load {:.1f} MiB | after touching all weights {:.1f} MiB\n",
               mib(rss0), mib(rss1), mib(rss2));
    fmt::print(stderr,
               "peak (HWM)   before {:.1f} MiB | after load {:.1f} MiB | after touch {:.1f} MiB | after a "
               "32-token forward {:.1f} MiB\n",
               mib(hwm0), mib(hwm1), mib(hwm2), mib(hwm3));
    fmt::print(stderr, "peak growth  {:.1f} MiB = {:.2f} x the in-memory weights, {:.2f} x the files\n", mib(growth),
               growth / std::max<double>(model_bytes, 1), growth / std::max<double>(file_bytes, 1));
    fmt::print(stderr, "forward      32 tokens in {:.3f} s\n", fwd_s);
    nlohmann::json j = {{"bench", "load"},
                        {"model", o->model},
                        {"device", o->device},
                        {"dtype", o->dtype},
                        {"parameters", c.num_parameters()},
                        {"file_mib", mib(file_bytes)},
                        {"weights_mib", mib(model_bytes)},
                        {"read_files_s", read_s},
                        {"load_s", load_s},
                        {"load_vs_read", read_s > 0 ? load_s / read_s : 0.0},
                        {"rss_mib", {{"before", mib(rss0)}, {"after_load", mib(rss1)}, {"after_touch", mib(rss2)}}},
                        {"peak_mib", {{"before", mib(hwm0)}, {"after_load", mib(hwm1)}, {"after_touch", mib(hwm2)},
                                      {"after_forward", mib(hwm3)}}},
                        {"peak_growth_vs_weights", growth / std::max<double>(model_bytes, 1)},
                        {"peak_growth_vs_files", growth / std::max<double>(file_bytes, 1)},
                        {"forward_32_tokens_s", fwd_s}};
    fmt::print("{}\n", j.dump());
    return 0;
  };
}

RegisterBench reg({"load", "Model load time and peak RSS vs the weight files' size", setup});

}  // namespace
}  // namespace genlens::cli
