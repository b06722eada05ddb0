#include "app/cli/bench_harness.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <numeric>

#include "core/gen/checkpoint.h"
#include "core/model/checkpoint.h"
#include "core/util/error.h"
#include "genlens_paths.h"

#ifdef GENLENS_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace genlens::cli::bench {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void Spec::add(CLI::App& s) {
  app = &s;
  s.add_option("--shape", shape,
               "A real model's shape: qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b, llama-3.2-1b "
               "(assets/model-shapes/), or a config.json path; random weights. Default: the sizes below");
  s.add_option("--hidden", hidden, "Hidden size (no --shape)")->capture_default_str();
  s.add_option("--layers", layers, "Decoder layers (with --shape: cuts a real shape's depth)")->capture_default_str();
  s.add_option("--heads", heads, "Attention heads, kv heads = heads / 2 (no --shape)")->capture_default_str();
  s.add_option("--vocab", vocab, "Vocabulary size (with --shape: overrides it)")->capture_default_str();
  s.add_option("--batch", batch, "Rows per batch")->capture_default_str();
  s.add_option("--query-len", query_len, "Query tokens per row")->capture_default_str();
  s.add_option("--response-len", response_len, "Response tokens per row, incl. EOS (train)")->capture_default_str();
  s.add_option("--thought", thought, "Thought tokens")->capture_default_str();
  s.add_option("--compression", compression, "Compression tokens")->capture_default_str();
  s.add_option("--new-tokens", new_tokens, "Tokens generated per row (generate)")->capture_default_str();
  s.add_option("--steps", steps, "Timed repetitions (after one warm-up)")->capture_default_str()->check(
      CLI::PositiveNumber);
  s.add_option("--recompute", recompute, "Training's activation recomputation: auto (on for CUDA), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  s.add_option("--peak-tflops", peak_tflops, "Dense bf16 peak of the device for MFU (default: known CUDA devices)");
  s.add_flag("--vs-python", vs_python,
             "Also run tests/bench/peer.py (HF transformers, or a plain eager PyTorch model) on the same checkpoint "
             "and batch, and print the ratios");
  s.add_option("--python", python, "Python for --vs-python")->capture_default_str();
  dev.add(s);
}

std::string shape_name(const std::string& shape) {
  if (shape.empty()) return "custom";
  const fs::path p = shape;
  if (p.extension() != ".json") return shape;  // a preset: "qwen3-0.6b" (its ".6b" is no extension)
  // A config path: the file's name, or the model directory's for a plain config.json.
  if (p.filename() == "config.json" && p.has_parent_path() && !p.parent_path().filename().empty())
    return p.parent_path().filename().string();
  return p.stem().string();
}

model::ModelConfig Spec::config() const {
  model::ModelConfig c;
  if (!shape.empty()) {
    fs::path p = shape;
    if (p.extension() != ".json") p = fs::path(GENLENS_SOURCE_DIR) / "assets/model-shapes" / (shape + ".json");
    if (!fs::exists(p)) {
      std::vector<std::string> names;
      for (auto& e : fs::directory_iterator(fs::path(GENLENS_SOURCE_DIR) / "assets/model-shapes"))
        if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
      std::sort(names.begin(), names.end());
      fail("--shape {}: no such shape (known: {}; or give a config.json path)", shape, fmt::join(names, ", "));
    }
    c = model::ModelConfig::from_json_file(p);
    if (app && app->count("--layers")) c.num_hidden_layers = layers;
    if (app && app->count("--vocab")) c.vocab_size = vocab;
    c.torch_dtype = "float32";
    c.validate("--shape " + shape);
    return c;
  }
  c.model_type = "qwen3";
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = hidden * 3;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = std::max<int64_t>(1, heads / 2);
  c.head_dim = hidden / heads;
  c.qk_norm = true;
  c.tie_word_embeddings = true;
  c.rope_theta = 1e6;
  c.max_position_embeddings = 4096;
  c.eos_token_ids = {2};
  c.torch_dtype = "float32";
  c.validate("bench shape");
  return c;
}

TempModel::TempModel(const Spec& spec) {
  root = fs::temp_directory_path() / ("genlens-bench-" + std::to_string(::getpid()));
  dir = root / "model";
  cfg = spec.config();
  if (cfg.vocab_size <= 10) fail("bench: --vocab must be > 10 (the token formula uses ids 10..V-1), found {}", cfg.vocab_size);
  auto d = spec.dev.resolve_device();
  auto dt = spec.dev.resolve_dtype(d);
  model::InitOptions io;
  io.seed = 1;
  // Written in the compute dtype (half the disk for a bf16 run of a large shape), or in
  // bf16 for the low-memory format, as a real bf16 checkpoint is: its matrices then map
  // without a copy.
  io.dtype = spec.dev.weights == "bf16" ? torch::kBFloat16 : dt;
  model::write_random_checkpoint(cfg, dir, io);
  lm = spec.dev.load(dir.string());
}

TempModel::~TempModel() {
  lm.reset();
  std::error_code ec;
  fs::remove_all(root, ec);
}

gen::TrainData token_rows(const Spec& s, int64_t vocab, int64_t first_row, int64_t n) {
  gen::TrainData d;
  for (int64_t i = first_row; i < first_row + n; ++i) {
    gen::TokenRow q, t;
    for (int64_t j = 0; j < s.query_len; ++j) q.push_back(static_cast<int32_t>(10 + (i * 131 + j * 17) % (vocab - 10)));
    for (int64_t j = 0; j + 1 < s.response_len; ++j)
      t.push_back(static_cast<int32_t>(10 + (i * 71 + j * 29) % (vocab - 10)));
    t.push_back(2);
    d.ids.push_back(std::to_string(i));
    d.query.push_back(std::move(q));
    d.target.push_back(std::move(t));
  }
  return d;
}

std::vector<double> time_reps(const std::function<void()>& f, int reps) {
  f();  // warm-up: allocator pools, lazy initialisation, caches
  std::vector<double> out;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    out.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return out;
}

void reset_peak_rss() {
  // Linux: writing 5 to clear_refs resets the VmHWM high-water mark (since 4.0).
  std::ofstream("/proc/self/clear_refs") << "5";
#ifdef GENLENS_CUDA
  if (torch::cuda::is_available()) c10::cuda::CUDACachingAllocator::resetPeakStats(c10::cuda::current_device());
#endif
}

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double forward_flops(const model::ModelConfig& c, int64_t rows, int64_t positions) {
  const double H = static_cast<double>(c.hidden_size), I = static_cast<double>(c.intermediate_size);
  const double q = static_cast<double>(c.num_attention_heads * c.head_dim);
  const double kv = static_cast<double>(c.num_key_value_heads * c.head_dim);
  const double T = static_cast<double>(positions);
  const double linear = 2.0 * T * (H * q + 2.0 * H * kv + q * H + 3.0 * H * I);
  const double attention = 2.0 * T * T * q;  // q k^T and p v, causal half of each
  return static_cast<double>(rows) * static_cast<double>(c.num_hidden_layers) * (linear + attention);
}

double head_flops(const model::ModelConfig& c, int64_t n) {
  return 2.0 * static_cast<double>(n) * static_cast<double>(c.hidden_size) * static_cast<double>(c.vocab_size);
}

std::string run_capture(const std::string& cmd, int* rc) {
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, k);
    const int status = ::pclose(p);
    if (rc) *rc = status;
  } else if (rc) {
    *rc = -1;
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double x = p * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(x);
  const double f = x - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

namespace {

// Dense bf16 tensor-core peak (TFLOP/s, no sparsity) of known CUDA devices, by name.
double known_peak_tflops(const std::string& name) {
  struct P { const char* key; double tflops; };
  static const P table[] = {{"H200", 989}, {"H100 PCIe", 756}, {"H100 NVL", 835}, {"H100", 989}, {"GH200", 989},
                            {"A100", 312}, {"L40S", 362},      {"L4", 121},        {"A10G", 70}, {"A10", 125},
                            {"RTX 4090", 165}, {"RTX 3090", 71}};
  for (auto& p : table)
    if (name.find(p.key) != std::string::npos) return p.tflops;
  return 0;
}

std::string device_name(torch::Device d) {
#ifdef GENLENS_CUDA
  if (d.is_cuda()) return at::cuda::getDeviceProperties(d.has_index() ? d.index() : c10::cuda::current_device())->name;
#endif
  return d.str();
}

std::optional<double> cuda_peak_mb(torch::Device d) {
#ifdef GENLENS_CUDA
  if (d.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(d.has_index() ? d.index() : c10::cuda::current_device());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
  }
#endif
  (void)d;
  return std::nullopt;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

}  // namespace

Json to_json(const Spec& s, const TempModel& m, const Record& r) {
  const auto& c = m.cfg;
  const double mean = r.seconds.empty() ? 0
                                        : std::accumulate(r.seconds.begin(), r.seconds.end(), 0.0) /
                                              static_cast<double>(r.seconds.size());
  const auto dev = m.lm->device();
  Json j;
  j["bench"] = r.bench;
  j["case"] = r.kase;
  j["impl"] = "genlens";
  j["model"] = shape_name(s.shape);
  j["hidden"] = c.hidden_size;
  j["layers"] = c.num_hidden_layers;
  j["heads"] = c.num_attention_heads;
  j["kv_heads"] = c.num_key_value_heads;
  j["intermediate"] = c.intermediate_size;
  j["vocab"] = c.vocab_size;
  j["dtype"] = gen::dtype_name(m.lm->dtype());
  j["weights"] = gen::dtype_name(m.lm->matrix_dtype());
  j["device"] = dev.str();
  j["device_name"] = device_name(dev);
  j["threads"] = torch::get_num_threads();
  j["batch"] = s.batch;
  j["query_len"] = s.query_len;
  j["response_len"] = r.bench == "train" ? Json(s.response_len) : Json();
  j["new_tokens"] = r.bench == "generate" ? Json(s.new_tokens) : Json();
  j["items_per_s"] = mean > 0 ? static_cast<double>(r.items_per_rep) / mean : 0.0;
  j["tokens_per_s"] = mean > 0 ? r.tokens_per_rep / mean : 0.0;
  j["latency_ms"] = {{"p50", 1e3 * percentile(r.seconds, 0.5)}, {"p95", 1e3 * percentile(r.seconds, 0.95)}};
  j["peak_rss_mb"] = peak_rss_mb();
  auto cuda_mb = cuda_peak_mb(dev);
  j["cuda_peak_mb"] = cuda_mb ? Json(*cuda_mb) : Json();
  const double tflops = r.flops_per_rep > 0 && mean > 0 ? r.flops_per_rep / mean / 1e12 : 0.0;
  j["tflops"] = r.flops_per_rep > 0 ? Json(tflops) : Json();
  const double peak = s.peak_tflops > 0 ? s.peak_tflops : (dev.is_cuda() ? known_peak_tflops(device_name(dev)) : 0);
  j["mfu"] = peak > 0 && r.flops_per_rep > 0 ? Json(tflops / peak) : Json();
  j["torch"] = TORCH_VERSION;
  for (auto& [k, v] : r.extra.items()) j[k] = v;
  return j;
}

Json run_peer(const Spec& s, const TempModel& m, const std::string& peer_case) {
  const auto script = fs::path(GENLENS_SOURCE_DIR) / "tests/bench/peer.py";
  const auto dev = m.lm->device();
  const auto err = m.root / "peer.stderr";
  // The peer's OpenBLAS pool matches ours (torch.set_num_threads leaves OpenBLAS on every
  // core: a "1 thread" peer would otherwise multiply on 2).
  const std::string blas_env =
      std::getenv("OPENBLAS_NUM_THREADS") ? "" : fmt::format("OPENBLAS_NUM_THREADS={} ", torch::get_num_threads());
  const std::string cmd = blas_env + fmt::format(
      "{} {} --model {} --case {} --batch {} --query-len {} --response-len {} --thought {} --compression {} "
      "--steps {} --new-tokens {} --threads {} --dtype {} --device {} 2>{}",
      quote(s.python), quote(script.string()), quote(m.dir.string()), peer_case, s.batch, s.query_len, s.response_len,
      s.thought, s.compression, s.steps, s.new_tokens, torch::get_num_threads(),
      m.lm->dtype() == torch::kBFloat16 ? "bf16" : "f32", dev.is_cuda() ? "cuda" : "cpu", quote(err.string()));
  int rc = 0;
  const std::string out = run_capture(cmd, &rc);
  const auto brace = out.rfind("\n{");
  const std::string last = brace == std::string::npos ? out : out.substr(brace + 1);
  try {
    if (rc == 0) return Json::parse(last);
  } catch (const std::exception&) {
  }
  std::ifstream f(err);
  std::string tail((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (tail.size() > 600) tail = "..." + tail.substr(tail.size() - 600);
  return Json{{"error", fmt::format("{} --case {} failed (exit {}): {}", script.filename().string(), peer_case, rc, tail)}};
}

void emit(const Spec& s, const TempModel& m, const Record& r, const std::string& peer_case) {
  Json j = to_json(s, m, r);
  std::string summary = fmt::format("{:<18} genlens {:10.1f} items/s {:12.0f} tokens/s  p50 {:9.1f} ms  peak RSS {:6.0f} MB",
                                    r.bench + "/" + r.kase, j["items_per_s"].get<double>(),
                                    j["tokens_per_s"].get<double>(), j["latency_ms"]["p50"].get<double>(),
                                    j["peak_rss_mb"].get<double>());
  if (r.extra.contains("decode_step_ms")) {
    summary += fmt::format("\n{:<18} decoding {:.1f} tokens/s ({:.0f} ms a step, prompt {:.0f} ms)", "",
                           r.extra["decode_tokens_per_s"].get<double>(), r.extra["decode_step_ms"].get<double>(),
                           r.extra["prompt_ms"].get<double>());
    if (r.extra.contains("step_vs_floor"))
      summary += fmt::format("; reading {:.0f} MB of weights at {:.1f} GB/s takes {:.0f} ms: {:.2f}x that floor",
                             r.extra["weight_mb_per_step"].get<double>(), r.extra["read_gb_per_s"].get<double>(),
                             r.extra["floor_step_ms"].get<double>(), r.extra["step_vs_floor"].get<double>());
  }
  if (s.vs_python && !peer_case.empty()) {
    Json p = run_peer(s, m, peer_case);
    if (p.contains("error")) {
      j["vs_python"] = p;
      summary += fmt::format("\n{:<18} {}", "", p["error"].get<std::string>());
    } else {
      const double ours = j["latency_ms"]["p50"].get<double>(), theirs = p["latency_ms"]["p50"].get<double>();
      j["vs_python"] = {{"impl", p.value("impl", "?")},       {"torch", p.value("torch", "?")},
                        {"items_per_s", p["items_per_s"]},    {"tokens_per_s", p["tokens_per_s"]},
                        {"latency_ms", p["latency_ms"]},      {"peak_rss_mb", p["peak_rss_mb"]},
                        {"cuda_peak_mb", p["cuda_peak_mb"]},  {"speedup", ours > 0 ? theirs / ours : 0.0}};
      summary += fmt::format("\n{:<18} {:<7} {:10.1f} items/s {:12.0f} tokens/s  p50 {:9.1f} ms  peak RSS {:6.0f} MB"
                             "  -> genlens {}",
                             "", p.value("impl", "?") == "hf-transformers" ? "HF" : "python", p["items_per_s"].get<double>(),
                             p["tokens_per_s"].get<double>(), theirs, p["peak_rss_mb"].get<double>(),
                             ours <= 0 ? std::string("?")
                             : theirs >= ours ? fmt::format("{:.2f}x faster", theirs / ours)
                                              : fmt::format("{:.2f}x slower", ours / theirs));
    }
  }
  fmt::print("{}\n", j.dump());
  std::fflush(stdout);
  fmt::print(stderr, "{}\n", summary);
}

}  // namespace genlens::cli::bench
