// One optimizer step of the adapter (Trainer::train_step, trainer.h): each micro-batch's
// losses and backward, the similarity statistics, the gradient sum over ranks, clipping,
// and the one read of the step's statistics that becomes the metric row.
#include "core/gen/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <random>
#include <variant>

#include "core/dist/gradients.h"
#include "core/dist/group.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/runtime/metrics_log.h"
#include "core/util/error.h"

namespace genlens::gen {

using torch::Tensor;

namespace {

// One step's statistics, each rank's partial sums. Slots summed on the device:
enum StepStat : int64_t {
  kReconLoss,       // recon loss of every micro-batch (on this rank, weighed by its token share)
  kAlignLoss,       // align loss of every micro-batch (weighed by this rank's row share)
  kCosMatched,      // cosine of student row i with teacher row i, summed over rows
  kCosUnmatched,    // cosine of student row i with teacher row j != i, summed over pairs
  kUnmatchedPairs,  // how many pairs kCosUnmatched holds
  kStudentNorm,     // L2 norm of each student embedding, summed over rows
  kTeacherNorm,     // L2 norm of each teacher target, summed over rows
  kRows,            // rows this rank trained on
  kTokens,          // positions through the LLM (both passes)
  kGradNorm,        // adapter gradient norm before clipping (the same on every rank)
  kStopVotes,       // ranks asked to stop (Ctrl-C) at this step
  kNumStepStats
};

}  // namespace

// Kept on the device (float64) so the step never waits for them: read once, after the
// optimizer step, and summed across ranks there. The counts of the host-side slots are
// known from the batches themselves and added at that read.
struct Trainer::StepStats {
  torch::Tensor sums;
  double rows = 0, tokens = 0, unmatched_pairs = 0;
  explicit StepStats(torch::Device device)
      : sums(torch::zeros({kNumStepStats}, torch::TensorOptions().dtype(torch::kFloat64).device(device))) {}
  void add(StepStat i, const Tensor& v) { sums[i] += v.detach().to(torch::kFloat64).sum(); }
};

// This rank's rows of one global micro-batch.
struct Trainer::MicroBatch {
  std::vector<int64_t> rows;
  std::vector<TokenRow> queries, targets;
  // The global batch's target-token count: the recon loss is a mean over all its target
  // tokens (as one process computes it), so each rank weighs its own token mean by its
  // share of the tokens. Every rank has the data, so no collective is needed for this.
  int64_t global_target_tokens = 0;
};

runtime::MetricRow Trainer::train_step(int64_t step, bool* stop_requested) {
  const auto& S = s_.settings;
  const int rank = s_.group ? s_.group->rank() : 0, world = s_.group ? s_.group->size() : 1;
  auto t0 = std::chrono::steady_clock::now();
  for (auto& p : adapter_.parameters()) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  StepStats stats(s_.lm->device());
  // This rank's slice of every global micro-batch: rows [g0 + begin, g0 + end).
  const dist::Slice mine = dist::slice_of(S.batch_size, rank, world);
  for (int64_t micro = 0; micro < S.grad_accum; ++micro) {
    const int64_t g0 = ((step - 1) * S.grad_accum + micro) * S.batch_size;
    micro_batch_backward(take_micro_batch(g0, mine), mine.size(), stats);
  }
  if (s_.group)
    dist::sum_gradients(*s_.group, adapter_.parameters(), fmt::format("adapter gradients of step {}", step));
  clip_gradients(stats);
  const double lr = S.lr * optim::linear_schedule(step - 1, S.warmup_steps, S.steps);
  opt_->step(lr);
  const Tensor totals = step_totals(stats, step, stop_requested);
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return metric_row(step, lr, totals, dt);
}

Trainer::MicroBatch Trainer::take_micro_batch(int64_t g0, const dist::Slice& mine) {
  MicroBatch mb;
  for (int64_t j = 0; j < s_.settings.batch_size; ++j) {
    int64_t r = row_at(g0 + j);
    mb.global_target_tokens += static_cast<int64_t>(s_.data.target[static_cast<size_t>(r)].size());
    if (j < mine.begin || j >= mine.end) continue;
    mb.rows.push_back(r);
    mb.queries.push_back(s_.data.query[static_cast<size_t>(r)]);
    mb.targets.push_back(s_.data.target[static_cast<size_t>(r)]);
  }
  return mb;
}

// Student-teacher cosine similarities and norms of one micro-batch (this rank's rows:
// across ranks, the unmatched pairs are pairs within a slice only).
void Trainer::record_similarity(const Tensor& embedding, const Tensor& teacher, StepStats& stats) {
  namespace F = torch::nn::functional;
  torch::NoGradGuard ng;
  auto e = embedding.detach();
  auto en = F::normalize(e, F::NormalizeFuncOptions().dim(1));
  auto tn = F::normalize(teacher, F::NormalizeFuncOptions().dim(1));
  auto cos = en.matmul(tn.t());  // [B, B]
  const int64_t B = cos.size(0);
  auto diag_sum = cos.diagonal().sum();
  stats.add(kCosMatched, diag_sum);
  if (B > 1) {
    stats.add(kCosUnmatched, cos.sum() - diag_sum);
    stats.unmatched_pairs += static_cast<double>(B * (B - 1));
  }
  stats.add(kStudentNorm, e.norm(2, 1).sum());
  stats.add(kTeacherNorm, teacher.norm(2, 1).sum());
  stats.rows += static_cast<double>(B);
}

void Trainer::micro_batch_backward(const MicroBatch& mb, int64_t slice_rows, StepStats& stats) {
  const auto& S = s_.settings;
  const auto& lm = *s_.lm;
  const int world = s_.group ? s_.group->size() : 1;
  auto qb = left_pad(mb.queries, S.query_max_length, lm.device());
  auto enc = encode_queries(lm, adapter_, qb, recompute_);
  Tensor teacher = s_.teacher->get(mb.rows).to(lm.device(), /*non_blocking=*/true);
  Tensor loss = torch::zeros({}, enc.embedding.options());
  int64_t n_target = 0;
  if (S.recon_weight > 0) {
    Tensor rl = recon_loss(lm, enc.soft_prompts, mb.targets, &n_target, recompute_);
    // This rank's share of the global batch's target tokens (world 1: nothing changes).
    if (world > 1)
      rl = rl * (static_cast<double>(n_target) / static_cast<double>(std::max<int64_t>(1, mb.global_target_tokens)));
    loss = loss + S.recon_weight * rl;
    stats.add(kReconLoss, rl);
  }
  // The align loss is a mean over rows x dims: weigh by this rank's share of the rows.
  Tensor al = align_loss(enc.embedding, teacher);
  if (world > 1) al = al * (static_cast<double>(slice_rows) / static_cast<double>(S.batch_size));
  if (S.align_weight > 0) loss = loss + S.align_weight * al;
  stats.add(kAlignLoss, al);
  (loss / static_cast<double>(S.grad_accum)).backward();
  record_similarity(enc.embedding, teacher, stats);
  // Positions through the LLM: query text + special tokens (encoder pass), soft
  // prompts + targets (decoder pass).
  const auto B = static_cast<int64_t>(mb.rows.size());
  stats.tokens += static_cast<double>(qb.n_tokens + B * (S.n_thought + S.n_compression));
  if (S.recon_weight > 0) stats.tokens += static_cast<double>(B * S.n_compression + n_target);
}

void Trainer::clip_gradients(StepStats& stats) {
  // Gradient norm over the adapter (before clipping), clipping as torch's clip_grad_norm_
  // (coefficient max_norm / (norm + 1e-6), applied when below 1), on the device.
  torch::NoGradGuard ng;
  Tensor sq = torch::zeros({}, stats.sums.options());
  for (auto& p : adapter_.parameters())
    if (p.grad().defined()) sq = sq + p.grad().to(torch::kFloat64).pow(2).sum();
  Tensor norm = sq.sqrt();
  stats.sums[kGradNorm] += norm;
  if (s_.settings.max_grad_norm > 0) {
    Tensor coef = (s_.settings.max_grad_norm / (norm + 1e-6)).clamp_max(1.0);
    for (auto& p : adapter_.parameters())
      if (p.grad().defined()) p.mutable_grad().mul_(coef);
  }
}

Tensor Trainer::step_totals(StepStats& stats, int64_t step, bool* stop_requested) {
  // The one read of the step: its statistics (this also waits for the device).
  if (stop_requested && *stop_requested) stats.sums[kStopVotes] += 1.0;
  Tensor host = stats.sums.to(torch::kCPU);
  host[kRows] += stats.rows;
  host[kTokens] += stats.tokens;
  host[kUnmatchedPairs] += stats.unmatched_pairs;
  if (s_.group) {
    // The step's statistics, and whether any rank was asked to stop (Ctrl-C): every rank
    // then stops after this same step, so rank 0's checkpoint is one all ranks finished.
    // The gradient norm is the same on every rank (summed gradients): not summed.
    const double gn = host[kGradNorm].item<double>();
    s_.group->all_reduce_sum(host, fmt::format("statistics of step {}", step));
    host[kGradNorm].fill_(gn);
  }
  if (stop_requested) *stop_requested = host.accessor<double, 1>()[kStopVotes] > 0;
  return host;
}

runtime::MetricRow Trainer::metric_row(int64_t step, double lr, const Tensor& totals, double dt) const {
  const auto& S = s_.settings;
  auto st = totals.accessor<double, 1>();
  const double A = static_cast<double>(S.grad_accum);
  const double n_rows = st[kRows], n_tokens = st[kTokens];
  runtime::MetricRow row;
  row.step = step;
  double recon = S.recon_weight > 0 ? st[kReconLoss] / A : std::nan(""), align = st[kAlignLoss] / A;
  double total = (S.recon_weight > 0 ? S.recon_weight * recon : 0.0) + S.align_weight * align;
  row.values = {{"loss", total},
                {"recon_loss", recon},
                {"align_loss", align},
                {"lr", lr},
                {"grad_norm", st[kGradNorm]},
                {"samples_per_s", n_rows / dt},
                {"tokens_per_s", n_tokens / dt},
                {"cos_matched", st[kCosMatched] / n_rows},
                {"cos_unmatched", st[kUnmatchedPairs] > 0 ? st[kCosUnmatched] / st[kUnmatchedPairs] : std::nan("")},
                {"student_norm", st[kStudentNorm] / n_rows},
                {"teacher_norm", st[kTeacherNorm] / n_rows},
                {"epoch", static_cast<double>(step * S.batch_size * S.grad_accum) / static_cast<double>(s_.data.size())},
                {"step_s", dt}};
  return row;
}

}  // namespace genlens::gen
