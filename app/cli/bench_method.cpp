// `genlens bench train` / `genlens bench encode`: samples/s of the method on a random
// model of a stated shape (CPU by default), next to a same-run baseline: the frozen
// LLM's plain forward over the same tokens (what any embedding method pays at least).
#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "app/cli/bench.h"
#include "app/cli/method_args.h"
#include "core/gen/encoder.h"
#include "core/gen/linear_ce.h"
#include "core/gen/trainer.h"
#include "core/model/checkpoint.h"
#include "core/model/config.h"
#include "core/runtime/job.h"
#include "core/teach/teacher.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;

struct Shape {
  int64_t hidden = 256, layers = 4, heads = 4, kv_heads = 2, intermediate = 768, vocab = 32000;
  int64_t batch = 8, query_len = 64, response_len = 64, thought = 10, compression = 10;
  int steps = 10;
  DeviceArgs dev;
  void add(CLI::App& s) {
    s.add_option("--hidden", hidden, "Hidden size")->capture_default_str();
    s.add_option("--layers", layers, "Decoder layers")->capture_default_str();
    s.add_option("--heads", heads, "Attention heads (kv heads = heads / 2)")->capture_default_str();
    s.add_option("--vocab", vocab, "Vocabulary size")->capture_default_str();
    s.add_option("--batch", batch, "Rows per batch")->capture_default_str();
    s.add_option("--query-len", query_len, "Query tokens per row")->capture_default_str();
    s.add_option("--response-len", response_len, "Response tokens per row (incl. EOS)")->capture_default_str();
    s.add_option("--steps", steps, "Timed steps (after 2 warm-up steps)")->capture_default_str();
    dev.add(s);
  }
  std::string describe(bool with_response = true) const {
    return fmt::format("qwen3-style H={} L={} heads={}/{} I={} V={}; batch {} x (query {} + {}+{} special{})",
                       hidden, layers, heads, kv_heads, intermediate, vocab, batch, query_len, thought, compression,
                       with_response ? fmt::format(", response {}", response_len) : std::string());
  }
};

struct TempModel {
  fs::path root, dir;
  std::shared_ptr<model::DecoderLM> lm;
  explicit TempModel(Shape& sh) {
    root = fs::temp_directory_path() / ("genlens-bench-" + std::to_string(::getpid()));
    dir = root / "model";
    model::ModelConfig c;
    c.model_type = "qwen3";
    c.vocab_size = sh.vocab;
    c.hidden_size = sh.hidden;
    c.intermediate_size = sh.hidden * 3;
    sh.intermediate = c.intermediate_size;
    c.num_hidden_layers = sh.layers;
    c.num_attention_heads = sh.heads;
    sh.kv_heads = std::max<int64_t>(1, sh.heads / 2);
    c.num_key_value_heads = sh.kv_heads;
    c.head_dim = sh.hidden / sh.heads;
    c.qk_norm = true;
    c.tie_word_embeddings = true;
    c.rope_theta = 1e6;
    c.max_position_embeddings = 4096;
    c.eos_token_ids = {2};
    c.torch_dtype = "float32";
    model::InitOptions io;
    io.seed = 1;
    model::write_random_checkpoint(c, dir, io);
    auto d = sh.dev.resolve_device();
    lm = model::DecoderLM::load(dir, d, sh.dev.resolve_dtype(d));
  }
  ~TempModel() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

gen::TrainData bench_data(const Shape& sh, int64_t n) {
  gen::TrainData d;
  for (int64_t i = 0; i < n; ++i) {
    gen::TokenRow q, t;
    for (int64_t j = 0; j < sh.query_len; ++j) q.push_back(static_cast<int32_t>(10 + (i * 131 + j * 17) % (sh.vocab - 10)));
    for (int64_t j = 0; j + 1 < sh.response_len; ++j)
      t.push_back(static_cast<int32_t>(10 + (i * 71 + j * 29) % (sh.vocab - 10)));
    t.push_back(2);
    d.ids.push_back(std::to_string(i));
    d.query.push_back(std::move(q));
    d.target.push_back(std::move(t));
  }
  return d;
}

// The process's peak resident set so far (MB). Only grows: read it after each phase.
double peak_rss_mb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double time_it(const std::function<void()>& f, int reps) {
  f();  // warm-up
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

std::function<int()> setup_train(CLI::App& sub) {
  auto sh = std::make_shared<Shape>();
  sh->add(sub);
  return [sh] {
    TempModel m(*sh);
    // Baseline first, so the process's peak RSS after it is the forward's own: the frozen
    // LLM's forward (no grad) over the same positions as a training row.
    const int64_t T = sh->query_len + sh->thought + sh->compression + sh->compression + sh->response_len;
    auto ids = torch::randint(10, sh->vocab, {sh->batch, T}, torch::kLong).to(m.lm->device());
    auto mask = torch::ones({sh->batch, T}, torch::kLong).to(m.lm->device());
    double fwd = time_it([&] {
      torch::NoGradGuard ng;
      auto h2 = m.lm->forward(m.lm->embed(ids), mask).last_hidden;
      (void)h2.sum().item<float>();
    }, 3);
    const double rss_fwd = peak_rss_mb();
    auto data = bench_data(*sh, sh->batch * (sh->steps + 2));
    std::vector<gen::TokenRow> tt;
    for (auto& t : data.target) tt.emplace_back(t.begin(), t.end() - 1);
    gen::TrainerSetup ts;
    ts.lm = m.lm;
    ts.model_dir = m.dir;
    ts.data = data;
    // Teacher precomputed outside the timing (a file teacher), like a cached mean-pool.
    auto teacher = std::make_shared<teach::MeanPoolTeacher>(m.lm, tt, sh->batch);
    std::vector<int64_t> all(static_cast<size_t>(data.size()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    teacher->get(all);
    ts.teacher = teacher;
    ts.settings.steps = sh->steps + 2;
    ts.settings.batch_size = sh->batch;
    ts.settings.warmup_steps = 1;
    ts.settings.save_every = 1 << 30;
    ts.settings.n_thought = sh->thought;
    ts.settings.n_compression = sh->compression;
    ts.out_dir = m.root / "run";
    ts.stop_at_step = sh->steps + 1;  // no checkpoint write inside the timed steps but the last
    gen::Trainer trainer(std::move(ts));
    runtime::Job job("bench", [&](runtime::JobContext& ctx) { trainer.run(ctx); });
    job.run_here();
    job.rethrow_if_failed();
    double sec = 0, tok = 0;
    const auto& h = trainer.history();
    for (size_t i = 1; i < h.size(); ++i) {  // skip the first (warm-up) step
      sec += h[i].value_or("step_s", 0);
      tok += h[i].value_or("tokens_per_s", 0) * h[i].value_or("step_s", 0);
    }
    const double steps = static_cast<double>(h.size() - 1);
    const double rss_train = peak_rss_mb();
    // The reconstruction loss's head + cross-entropy alone, forward + backward over the
    // batch's target tokens: chunked (what training uses) vs the plain [N, V] logits.
    const int64_t N = sh->batch * sh->response_len;
    auto hid = torch::randn({N, sh->hidden}, torch::TensorOptions().dtype(m.lm->dtype()).device(m.lm->device()));
    auto lab = torch::randint(0, sh->vocab, {N}, torch::TensorOptions().dtype(torch::kLong).device(m.lm->device()));
    const auto& W = m.lm->lm_head_weight();
    auto run_head = [&](bool chunked) {
      auto x = hid.detach().requires_grad_(true);
      auto loss = chunked ? gen::linear_cross_entropy(x, W, lab)
                          : torch::nn::functional::cross_entropy(torch::nn::functional::linear(x, W).to(torch::kFloat32), lab);
      loss.backward();
      (void)x.grad().sum().item<float>();
    };
    const double head_chunked = time_it([&] { run_head(true); }, 2);
    const double rss_chunked = peak_rss_mb();
    const double head_plain = time_it([&] { run_head(false); }, 2);
    const double rss_plain = peak_rss_mb();
    fmt::print("bench train  [{}]  device {}  dtype {}\n", sh->describe(), m.lm->device().str(),
               gen::dtype_name(m.lm->dtype()));
    fmt::print("  train step (encode + recon decode + backward + AdamW): {:.1f} ms  {:.1f} samples/s  {:.0f} tokens/s\n",
               1e3 * sec / steps, sh->batch * steps / sec, tok / sec);
    fmt::print("  baseline: frozen forward over the same {} positions/row, no grad: {:.1f} ms  {:.1f} samples/s\n", T,
               1e3 * fwd, sh->batch / fwd);
    fmt::print("  step / forward: {:.1f}x   peak RSS: forward {:.0f} MB, training {:.0f} MB ({:.2f}x)\n", sec / steps / fwd,
               rss_fwd, rss_train, rss_train / rss_fwd);
    fmt::print("  LM head + CE over {} targets, fwd+bwd: chunked {:.1f} ms (peak RSS {:.0f} MB), plain [N, V] logits "
               "{:.1f} ms (peak RSS {:.0f} MB)\n", N, 1e3 * head_chunked, rss_chunked, 1e3 * head_plain,
               std::max(rss_plain, rss_chunked));
    return 0;
  };
}

std::function<int()> setup_encode(CLI::App& sub) {
  auto sh = std::make_shared<Shape>();
  sh->batch = 32;
  sh->add(sub);
  return [sh] {
    TempModel m(*sh);
    auto data = bench_data(*sh, sh->batch);
    gen::Adapter a(gen::AdapterShape{sh->thought, sh->compression, sh->hidden, sh->hidden}, m.lm->device());
    a.init_random(*m.lm, 1);
    gen::EncodeOptions o;
    o.batch_size = sh->batch;
    o.mode = gen::EncodeMode::Generative;
    double g = time_it([&] { gen::encode_ids(*m.lm, &a, data.query, o); }, sh->steps);
    o.mode = gen::EncodeMode::Mean;
    double b = time_it([&] { gen::encode_ids(*m.lm, nullptr, data.query, o); }, sh->steps);
    fmt::print("bench encode  [{}]  device {}  dtype {}\n", sh->describe(false), m.lm->device().str(),
               gen::dtype_name(m.lm->dtype()));
    fmt::print("  generative (query + {} special tokens): {:.1f} ms/batch  {:.1f} samples/s\n",
               sh->thought + sh->compression, 1e3 * g, sh->batch / g);
    fmt::print("  baseline mean pooling (query only):     {:.1f} ms/batch  {:.1f} samples/s\n", 1e3 * b,
               sh->batch / b);
    return 0;
  };
}

RegisterBench reg_train({"train", "Adapter training samples/s at a stated shape (vs frozen forward)", setup_train});
RegisterBench reg_encode({"encode", "Generative encoding samples/s at a stated shape (vs mean pooling)", setup_encode});

}  // namespace
}  // namespace genlens::cli
