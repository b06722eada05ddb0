#include "core/gen/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <variant>

#include "core/dist/gradients.h"
#include "core/dist/group.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/runtime/metrics_log.h"
#include "core/util/error.h"

namespace genlens::gen {

namespace fs = std::filesystem;
using nlohmann::json;
using torch::Tensor;

// ---------------------------------------------------------------- Trainer

Recompute parse_recompute(const std::string& s) {
  if (s == "auto") return Recompute::Auto;
  if (s == "on") return Recompute::On;
  if (s == "off") return Recompute::Off;
  fail("--recompute: expected auto, on or off, found '{}'", s);
}

std::pair<double, double> step_activation_bytes(const model::ModelConfig& c, const TrainSettings& s,
                                                int64_t element_bytes) {
  // Per position and layer a layer keeps its norms' inputs and outputs, q, k, v before and
  // after RoPE, the attention output, the MLP's gate, up, activation and product, and the
  // residual; per row and layer, the attention probabilities [heads, T, T] in float32.
  const double H = double(c.hidden_size), I = double(c.intermediate_size);
  const double q = double(c.num_attention_heads * c.head_dim), kv = double(c.num_key_value_heads * c.head_dim);
  const double T_enc = double(s.query_max_length + s.n_thought + s.n_compression);
  const double T_dec = double(s.n_compression + s.response_max_length);
  const double B = double(s.batch_size), L = double(c.num_hidden_layers), e = double(element_bytes);
  const double per_position = (3 * H + 4 * q + 3 * kv + 4 * I) * e;
  const double probs = double(c.num_attention_heads) * (T_enc * T_enc + T_dec * T_dec) * 4;
  const double layer = B * ((T_enc + T_dec) * per_position + probs);
  const double without = L * layer;
  const double with = L * B * (T_enc + T_dec) * H * e + layer;  // layer inputs, and one layer at a time
  return {without, with};
}

namespace {

// Bytes this process may still take: MemAvailable, or less under a cgroup v2 limit.
double available_memory_bytes() {
  double avail = -1;
  std::ifstream mi("/proc/meminfo");
  for (std::string key; mi >> key;) {
    double kb = 0;
    mi >> kb;
    mi.ignore(64, '\n');
    if (key == "MemAvailable:") avail = kb * 1024;
  }
  std::ifstream max_f("/sys/fs/cgroup/memory.max"), cur_f("/sys/fs/cgroup/memory.current");
  std::string max_s;
  double cur = 0;
  if (max_f >> max_s && max_s != "max" && cur_f >> cur) {
    const double left = std::stod(max_s) - cur;
    if (avail < 0 || left < avail) avail = left;
  }
  return avail;
}

}  // namespace

RecomputeChoice choose_recompute(Recompute asked, const model::ModelConfig& cfg, const TrainSettings& s,
                                 const torch::Device& device, int64_t element_bytes, double available_bytes) {
  if (asked == Recompute::On) return {true, "--recompute on"};
  if (asked == Recompute::Off) return {false, "--recompute off"};
  if (device.is_cuda()) return {true, "auto: on for CUDA"};
  const auto [without, with] = step_activation_bytes(cfg, s, element_bytes);
  const double avail = available_bytes >= 0 ? available_bytes : available_memory_bytes();
  const auto gb = [](double b) { return b / (1024.0 * 1024.0 * 1024.0); };
  if (avail < 0) return {false, "auto: off (the free memory could not be read)"};
  if (without > 0.5 * avail)
    return {true, fmt::format("auto: on, a step would keep about {:.1f} GiB of activations without it ({:.1f} GiB "
                              "with it), more than half of the {:.1f} GiB free",
                              gb(without), gb(with), gb(avail))};
  return {false, fmt::format("auto: off, a step keeps about {:.1f} GiB of activations, within half of the {:.1f} "
                             "GiB free",
                             gb(without), gb(avail))};
}

Trainer::Trainer(TrainerSetup setup) : s_(std::move(setup)) {
  s_.settings.validate();
  if (!s_.lm) fail("trainer: no base model");
  {
    auto choice = choose_recompute(s_.recompute, s_.lm->config(), s_.settings, s_.lm->device(),
                                   static_cast<int64_t>(c10::elementSize(s_.lm->dtype())));
    recompute_ = choice.on;
    recompute_why_ = std::move(choice.why);
  }
  if (!s_.teacher) fail("trainer: no teacher");
  if (s_.data.size() == 0) fail("trainer: the training data has no rows");
  if (s_.data.target.size() != s_.data.query.size())
    fail("trainer: {} queries but {} targets", s_.data.query.size(), s_.data.target.size());
  if (s_.teacher->n_rows() != s_.data.size())
    fail("teacher {} has {} rows but the training data has {}", s_.teacher->spec(), s_.teacher->n_rows(),
         s_.data.size());
  // The method's premise: the backbone is frozen.
  for (auto& [name, p] : s_.lm->named_parameters())
    if (p.requires_grad()) fail("trainer: base model parameter {} requires grad; the LLM must be frozen", name);
  AdapterShape shape;
  shape.n_thought = s_.settings.n_thought;
  shape.n_compression = s_.settings.n_compression;
  shape.hidden = s_.lm->config().hidden_size;
  shape.teacher_dim = s_.teacher->dim();
  adapter_ = Adapter(shape, s_.lm->device());
  base_ = BaseModelIdentity::of(*s_.lm, s_.model_dir);
  data_fingerprint_ = s_.data.fingerprint();  // the data never changes during a run
  if (s_.group && s_.settings.batch_size < s_.group->size())
    fail("--batch-size {} is the global batch, split across the {} ranks: it must be at least {}",
         s_.settings.batch_size, s_.group->size(), s_.group->size());
}

bool Trainer::is_root() const { return !s_.group || s_.group->is_root(); }

int64_t Trainer::row_at(int64_t g) {
  const int64_t N = s_.data.size();
  const int64_t epoch = g / N;
  if (epoch != perm_epoch_) {
    // Data order is a pure function of (seed, epoch): a resumed run needs no RNG state
    // beyond the step count. Fisher-Yates with a 64-bit Mersenne Twister (portable).
    std::mt19937_64 rng(s_.settings.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
    perm_.resize(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) perm_[static_cast<size_t>(i)] = i;
    for (int64_t i = N - 1; i > 0; --i) {
      auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
      std::swap(perm_[static_cast<size_t>(i)], perm_[static_cast<size_t>(j)]);
    }
    perm_epoch_ = epoch;
  }
  return perm_[static_cast<size_t>(g % N)];
}

AdapterMeta Trainer::make_meta(int64_t step) const {
  AdapterMeta m;
  m.base = base_;
  m.shape = adapter_.shape();
  m.teacher_kind = s_.teacher->kind();
  m.teacher_spec = s_.teacher->spec();
  m.compute_dtype = dtype_name(s_.lm->dtype());
  m.query_max_length = s_.settings.query_max_length;
  m.instruction = s_.settings.instruction;
  m.step = step;
  m.training = s_.settings.to_json();
  return m;
}

json Trainer::trainer_state(int64_t step) const {
  const int64_t per_step = s_.settings.batch_size * s_.settings.grad_accum;
  const int64_t seen = step * per_step;
  return json{{"step", step},
              {"samples_seen", seen},
              {"epoch", static_cast<double>(seen) / static_cast<double>(s_.data.size())},
              {"optimizer", {{"kind", "adamw"}, {"steps_taken", opt_->steps_taken()}}},
              {"lr_schedule",
               {{"kind", "linear_with_warmup"},
                {"lr", s_.settings.lr},
                {"warmup_steps", s_.settings.warmup_steps},
                {"total_steps", s_.settings.steps},
                {"next_lr", s_.settings.lr * optim::linear_schedule(step, s_.settings.warmup_steps, s_.settings.steps)}}},
              {"rng",
               {{"data_order", "permutation(seed, epoch), Fisher-Yates over mt19937_64"},
                {"seed", s_.settings.seed},
                {"next_sample", seen},
                {"next_epoch", seen / s_.data.size()},
                {"next_position", seen % s_.data.size()}}},
              {"data", {{"n_rows", s_.data.size()}, {"fingerprint", data_fingerprint_}}},
              {"teacher", s_.teacher->spec()},
              // Informational: a run may resume with another world size (same global batch).
              {"world_size", s_.group ? s_.group->size() : 1},
              {"settings", s_.settings.to_json()}};
}

void Trainer::save(int64_t step) {
  if (s_.group) {
    // All ranks must hold the same adapter before rank 0 commits it: compare a checksum
    // (sum and sum of squares of every parameter, and the step) across ranks.
    torch::NoGradGuard ng;
    double sum = 0, sq = 0;
    for (auto& p : adapter_.parameters()) {
      auto d = p.detach().to(torch::kCPU, torch::kFloat64);
      sum += d.sum().item<double>();
      sq += d.pow(2).sum().item<double>();
    }
    auto v = torch::tensor({sum, sq, static_cast<double>(step), -sum, -sq, -static_cast<double>(step)},
                           torch::kFloat64);
    s_.group->all_reduce_max(v, fmt::format("checksum before checkpoint {}", step));
    auto a = v.accessor<double, 1>();
    if (a[0] != -a[3] || a[1] != -a[4] || a[2] != -a[5])
      fail("rank {}: the ranks disagree on the adapter at step {} (parameter sums range over [{}, {}]); the "
           "checkpoint is not written", s_.group->rank(), step, -a[3], a[0]);
  }
  last_checkpoint_ = s_.out_dir / checkpoint_dir_name(step);
  if (is_root()) save_files(step);
  // Nobody goes on (or reports success) until rank 0 has the checkpoint on disk.
  if (s_.group) s_.group->barrier(fmt::format("checkpoint {} written by rank 0", step));
}

void Trainer::save_files(int64_t step) {
  auto meta = make_meta(step);
  auto opt = opt_->state_tensors();
  auto st = trainer_state(step);
  CheckpointFiles f;
  f.adapter = &adapter_;
  f.meta = &meta;
  f.optimizer = &opt;
  f.trainer_state = &st;
  auto dir = s_.out_dir / checkpoint_dir_name(step);
  write_checkpoint(dir, f);
  last_checkpoint_ = dir;
  prune_checkpoints(s_.out_dir, s_.settings.keep);
}

bool Trainer::try_resume(runtime::JobContext& ctx) {
  auto cps = list_checkpoints(s_.out_dir);
  if (!s_.resume) {
    if (!cps.empty())
      fail("{} already holds checkpoints (newest: {}); pass --resume to continue that run or choose another --out",
           s_.out_dir.string(), cps.back().second.filename().string());
    return false;
  }
  if (cps.empty()) return false;  // a fresh run: nothing to say (only a resumed run says so)
  auto dir = cps.back().second;
  auto state_path = dir / "trainer_state.json";
  std::error_code ec;
  if (!fs::exists(state_path, ec) || !fs::exists(dir / "optimizer.safetensors", ec))
    fail("{}: cannot resume from it: trainer_state.json or optimizer.safetensors is missing (an adapter-only "
         "checkpoint)", dir.string());
  const json st = read_trainer_state(state_path);  // type-checked: errors name the file and field
  // A field of the wrong type (hand-edited or corrupt state) is named with the file, not
  // reported as an internal JSON error.
  try {
    auto loaded = load_adapter(dir, base_, s_.lm->device());
    const auto& have = loaded.meta.shape;
    const auto& want = adapter_.shape();
    if (have.n_thought != want.n_thought || have.n_compression != want.n_compression ||
        have.teacher_dim != want.teacher_dim)
      fail("{}: the run has {} thought + {} compression tokens and teacher dim {}, this command asks for {} + {} "
           "and teacher dim {}", dir.string(), have.n_thought, have.n_compression, have.teacher_dim, want.n_thought,
           want.n_compression, want.teacher_dim);
    auto prev = TrainSettings::from_json(st.value("settings", json::object()), state_path.string());
    // Everything that changes what a step computes must match (the schedule -- steps, lr,
    // warm-up -- may change on purpose, to extend a run; that is logged below).
    for (const auto& f : kTrainSettingFields) {
      if (f.on_resume != OnResume::MustMatch) continue;
      std::visit(
          [&](auto member) {
            const auto& was = prev.*member;
            const auto& is = s_.settings.*member;
            if (was == is) return;
            auto shown = [&](const auto& v) { return f.quoted ? fmt::format("\"{}\"", v) : fmt::format("{}", v); };
            fail("{}: cannot resume with a different {} (the run used {}, this command {})", state_path.string(),
                 f.name, shown(was), shown(is));
          },
          f.member);
    }
    auto data = st.value("data", json::object());
    if (data.value("n_rows", int64_t{-1}) != s_.data.size() || data.value("fingerprint", std::string()) != data_fingerprint_)
      fail("{}: cannot resume on different training data (the run had {} rows, fingerprint {}; the data given has "
           "{} rows, fingerprint {})", state_path.string(), data.value("n_rows", int64_t{-1}),
           data.value("fingerprint", std::string("?")), s_.data.size(), data_fingerprint_);
    if (prev.steps != s_.settings.steps || prev.lr != s_.settings.lr || prev.warmup_steps != s_.settings.warmup_steps)
      ctx.log(fmt::format("resume: learning-rate schedule changed (steps {} -> {}, lr {} -> {}, warm-up {} -> {})",
                          prev.steps, s_.settings.steps, prev.lr, s_.settings.lr, prev.warmup_steps,
                          s_.settings.warmup_steps));

    {
      torch::NoGradGuard ng;
      for (auto& [n, t] : loaded.adapter.named_parameters()) adapter_.assign(n, t, (dir / "adapter.safetensors").string());
    }
    int64_t step = st.value("step", int64_t{-1});
    if (step != loaded.meta.step || step < 0)
      fail("{}: step {} does not match genlens.json's step {}", state_path.string(), step, loaded.meta.step);
    int64_t opt_steps = st.value("optimizer", json::object()).value("steps_taken", step);
    opt_->load_state(io::load_safetensors(dir / "optimizer.safetensors"), opt_steps,
                     (dir / "optimizer.safetensors").string());
    step_ = start_step_ = step;
    last_checkpoint_ = dir;
    ctx.log(fmt::format("resumed from {} (step {})", dir.string(), step));
    return true;
  } catch (const json::exception& e) {
    fail("{}: a field has the wrong type or is missing ({})", state_path.string(), e.what());
  }
}

void Trainer::sync_initial_state() {
  if (!s_.group) return;
  // Every rank initialised (same seed) or resumed (same files) on its own; rank 0's state is
  // made everyone's, and a rank that resumed from another step (e.g. a run directory
  // that is not shared between nodes) is refused with a clear message.
  torch::NoGradGuard ng;
  auto steps = torch::tensor({static_cast<double>(step_), -static_cast<double>(step_)}, torch::kFloat64);
  s_.group->all_reduce_max(steps, "resume step");
  auto a = steps.accessor<double, 1>();
  if (a[0] != -a[1])
    fail("rank {}: the ranks start from different steps ({} to {}); is --out a directory every rank sees "
         "(a shared file system)?", s_.group->rank(), -a[1], a[0]);
  std::vector<Tensor> parts;
  for (auto& p : adapter_.parameters()) parts.push_back(p.detach().reshape({-1}));
  for (auto& [n, t] : opt_->state_tensors()) parts.push_back(t.reshape({-1}));
  Tensor flat = torch::cat(parts).to(torch::kFloat32);
  s_.group->broadcast(flat, 0, "initial adapter and optimizer state");
  int64_t off = 0;
  auto put = [&](const Tensor& dst) {
    const int64_t m = dst.numel();
    dst.copy_(flat.slice(0, off, off + m).view_as(dst));
    off += m;
  };
  for (auto& p : adapter_.parameters()) put(p.detach());
  for (auto& [n, t] : opt_->state_tensors()) put(t);
}

void Trainer::run(runtime::JobContext& ctx) {
  const auto& S = s_.settings;
  std::error_code ec;
  fs::create_directories(s_.out_dir, ec);
  if (ec) fail("{}: cannot create the run directory ({})", s_.out_dir.string(), ec.message());
  // A crash while a checkpoint was being written leaves its temp directory behind
  // ("checkpoint-N.tmp-PID"); the checkpoint itself never appeared, so it can go.
  for (auto& e : fs::directory_iterator(s_.out_dir, ec)) {
    if (!is_root()) break;  // rank 0 owns the run directory
    auto name = e.path().filename().string();
    if (name.rfind("checkpoint-", 0) == 0 && name.find(".tmp-") != std::string::npos) {
      std::error_code rm;
      fs::remove_all(e.path(), rm);
      ctx.log(fmt::format("removed {} (left by an interrupted checkpoint write)", e.path().string()));
    }
  }
  opt_ = std::make_unique<optim::AdamW>(adapter_.named_parameters(), S.beta1, S.beta2, S.adam_eps, S.weight_decay);
  if (!try_resume(ctx)) {
    adapter_.init_random(*s_.lm, S.seed, S.special_init_std);
    step_ = start_step_ = 0;
  }
  sync_initial_state();
  auto metrics_path = s_.out_dir / "metrics.jsonl";
  std::unique_ptr<runtime::MetricsLog> log;
  if (is_root()) {
    // Rows logged after the checkpoint we resume from are recomputed (identically).
    runtime::MetricsLog::truncate_after_step(metrics_path, step_);
    log = std::make_unique<runtime::MetricsLog>(metrics_path);
  }
  if (s_.group && step_ == 0)
    ctx.log(fmt::format("data-parallel over {} ranks ({}): global batch {} = {} to {} rows per rank", s_.group->size(),
                        s_.group->backend(), S.batch_size, S.batch_size / s_.group->size(),
                        (S.batch_size + s_.group->size() - 1) / s_.group->size()));

  if (step_ == 0)
    ctx.log(fmt::format("training {} adapter parameters ({} thought + {} compression tokens, heads {}x{} and "
                        "{}x{}) on {} rows; base model frozen; teacher {} (dim {})",
                        adapter_.num_parameters(), S.n_thought, S.n_compression, adapter_.shape().hidden,
                        adapter_.shape().hidden, adapter_.shape().teacher_dim, adapter_.shape().hidden,
                        s_.data.size(), s_.teacher->spec(), s_.teacher->dim()));
  ctx.log("activation recomputation: " + recompute_why_);
  ctx.set_stage("train", S.steps, "steps", step_);
  const int64_t print_every = std::max<int64_t>(1, S.steps / 20);
  int64_t last_saved = step_;
  const int64_t stop = s_.stop_at_step > 0 ? std::min(S.steps, s_.stop_at_step) : S.steps;
  try {
    while (step_ < stop) {
      // One process stops at once; ranks agree on stopping inside the step (train_step).
      bool stop_requested = ctx.cancelled();
      if (!s_.group) ctx.check_cancel();
      auto row = train_step(step_ + 1, s_.group ? &stop_requested : nullptr);
      ++step_;
      if (log) log->write(row);
      ctx.metrics(row.step, row.values);
      history_.push_back(row);
      if (!std::isfinite(row.value_or("loss", 0)))
        fail("training diverged at step {}: loss is {} (try a lower --lr)", step_, row.value_or("loss", 0));
      if (step_ % S.save_every == 0 || step_ == stop) {
        save(step_);
        last_saved = step_;
      }
      if (step_ % print_every == 0 || step_ == stop)
        ctx.log(fmt::format("step {}/{}  loss {:.4f}  recon {:.4f}  align {:.4g}  lr {:.3g}  cos {:.3f}/{:.3f}",
                            step_, S.steps, row.value_or("loss", 0), row.value_or("recon_loss", 0),
                            row.value_or("align_loss", 0), row.value_or("lr", 0), row.value_or("cos_matched", 0),
                            row.value_or("cos_unmatched", 0)));
      ctx.set_done(step_);
      if (stop_requested && step_ < stop) throw runtime::Cancelled();
    }
  } catch (const runtime::Cancelled&) {
    if (step_ > last_saved) {
      save(step_);
      ctx.log(fmt::format("cancelled at step {}: saved {}", step_, last_checkpoint_.string()));
    }
    throw;
  }
  ctx.log(fmt::format("{}: step {} of {}; adapter at {}", step_ == S.steps ? "done" : "stopped", step_, S.steps,
                      last_checkpoint_.string()));
}

}  // namespace genlens::gen
