// What the method benchmarks share (app/cli/bench_method.cpp): the shape of the random
// model (a real config from assets/model-shapes/ or stated sizes), the model itself
// written to a temporary directory, deterministic token data identical to
// tests/bench/peer.py's, timing, per-case peak memory, model FLOPs, and the JSON object
// every case prints (one line per case, the same keys as peer.py prints).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/cli/method_args.h"
#include "core/gen/train_settings.h"
#include "core/model/config.h"
#include "core/model/decoder_lm.h"

namespace genlens::cli::bench {

struct Spec {
  std::string shape;  // assets/model-shapes/NAME.json or a config.json path; "" = the sizes below
  int64_t hidden = 256, layers = 4, heads = 4, vocab = 32000;
  int64_t batch = 8, query_len = 64, response_len = 64, thought = 10, compression = 10, new_tokens = 32;
  int steps = 5;
  std::string recompute = "auto";
  double peak_tflops = 0;  // dense bf16 peak for MFU; 0 = from the CUDA device's name
  bool vs_python = false;
  std::string python = "/usr/bin/python3";
  DeviceArgs dev;
  CLI::App* app = nullptr;

  void add(CLI::App& s);
  model::ModelConfig config() const;  // the shape, with --layers applied to a preset when given
};

// The shape's name in the JSON ("model"): a preset as given ("qwen3-0.6b"), a config
// path's file stem or, for DIR/config.json, DIR's name; "custom" for stated sizes.
std::string shape_name(const std::string& shape);

// A random checkpoint of the spec's shape in a temporary directory, loaded frozen.
struct TempModel {
  std::filesystem::path root, dir;
  model::ModelConfig cfg;
  std::shared_ptr<model::DecoderLM> lm;
  explicit TempModel(const Spec& spec);
  ~TempModel();
};

// Row i's query (query_len ids) and target (response_len ids, the last one EOS = 2),
// the same formula as tests/bench/peer.py.
gen::TrainData token_rows(const Spec& s, int64_t vocab, int64_t first_row, int64_t n);

// Seconds of each of `reps` calls after one warm-up call; f must end by reading a value
// back to the host (so device work is inside the time).
std::vector<double> time_reps(const std::function<void()>& f, int reps);

double percentile(std::vector<double> v, double p);

// Runs a shell command; its stdout, and its exit status in *rc (may be null).
std::string run_capture(const std::string& cmd, int* rc = nullptr);  // p in [0, 1], linear interpolation

// Peak resident set of this process since the last reset (MB). reset_peak_rss() clears
// the kernel's high-water mark, so each case reports its own peak.
void reset_peak_rss();
double peak_rss_mb();

// Matmul FLOPs of a forward pass over rows of `positions` tokens (attention counted
// causally), without the LM head; and the LM head over `n` positions.
double forward_flops(const model::ModelConfig& c, int64_t rows, int64_t positions);
double head_flops(const model::ModelConfig& c, int64_t n);

// The JSON object of one case; fills throughput, latency, memory, FLOP/s and MFU.
struct Record {
  std::string bench, kase;
  int64_t items_per_rep = 0;   // rows per timed repetition
  double tokens_per_rep = 0;   // positions through the LLM per repetition
  double flops_per_rep = 0;    // model FLOPs per repetition (0: not reported)
  std::vector<double> seconds; // each timed repetition
  nlohmann::json extra = nlohmann::json::object();
};
nlohmann::json to_json(const Spec& s, const TempModel& m, const Record& r);

// tests/bench/peer.py on the same checkpoint and batch: its JSON object, or an object
// with "error" when it could not run. `peer_case`: encode-mean, encode-generative,
// train, generate.
nlohmann::json run_peer(const Spec& s, const TempModel& m, const std::string& peer_case);

// Prints the case's line (stdout) and, with --vs-python, the peer's figures inside it and
// a one-line summary on stderr: "encode/mean  ours 123.4 items/s  python-eager 100.0  1.23x".
void emit(const Spec& s, const TempModel& m, const Record& r, const std::string& peer_case);

// The UMAP case of `bench all` (app/cli/bench_umap.cpp): fit time of `reps` fits of n
// synthetic rows x dim, trustworthiness of the last; genlens only (no umap-learn run).
nlohmann::json umap_case_json(int64_t n, int64_t dim, int reps);

}  // namespace genlens::cli::bench
