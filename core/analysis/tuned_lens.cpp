#include "core/analysis/tuned_lens.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/analysis/layer_state.h"
#include "core/analysis/lens.h"
#include "core/gen/adapter.h"
#include "core/gen/adapter_meta.h"
#include "core/io/atomic_file.h"
#include "core/io/json_check.h"
#include "core/io/safetensors.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace F = torch::nn::functional;
namespace fs = std::filesystem;
using torch::Tensor;

Tensor TunedLens::apply(int64_t layer, const Tensor& h) const {
  if (layer < 0 || layer >= n_layers()) return h;
  const auto& W = weight[static_cast<size_t>(layer)];
  const auto& b = bias[static_cast<size_t>(layer)];
  const Tensor x = h.to(W.device(), torch::kFloat32);
  return x + torch::matmul(x, W.t()) + b;
}

TunedLens identity_lens(int64_t n_layers, int64_t hidden) {
  TunedLens lens;
  for (int64_t l = 0; l < n_layers; ++l) {
    lens.weight.push_back(torch::zeros({hidden, hidden}, torch::kFloat32));
    lens.bias.push_back(torch::zeros({hidden}, torch::kFloat32));
  }
  return lens;
}

Tensor special_position_states(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                               const std::vector<std::string>& texts, const std::string& instruction,
                               int64_t max_length, runtime::JobContext* ctx) {
  if (texts.empty()) fail("tuned lens: no texts to read states from");
  torch::NoGradGuard ng;
  const int64_t S = adapter.shape().n_special();
  LensOptions lo;
  lo.instruction = instruction;
  lo.max_length = max_length;
  if (ctx) ctx->set_stage("special-token states", static_cast<int64_t>(texts.size()), "texts");
  std::vector<Tensor> rows;  // per text [L+1, S, H]
  for (const auto& t : texts) {
    if (ctx) ctx->check_cancel();
    const auto qs = query_states(lm, &adapter, lens_query_ids(tok, t, lo));
    std::vector<Tensor> per_layer;
    for (const auto& h : qs.out.hidden_states) per_layer.push_back(h[0].narrow(0, h.size(1) - S, S));
    rows.push_back(torch::stack(per_layer).to(torch::kFloat32));
    if (ctx) ctx->advance();
  }
  return torch::cat(rows, 1);  // [L+1, texts x S, H]
}

Tensor lens_kl(const model::DecoderLM& lm, const TunedLens* lens, int64_t layer, const Tensor& states_l,
               const Tensor& states_last) {
  auto logp = [&](const Tensor& h) {
    return F::log_softmax(lm.lm_head(lm.final_norm(h.to(lm.device(), lm.dtype()))).to(torch::kFloat32),
                          F::LogSoftmaxFuncOptions(-1));
  };
  Tensor target;
  {
    torch::NoGradGuard ng;
    target = logp(states_last);
  }
  const Tensor h = lens ? lens->apply(layer, states_l) : states_l;
  // KL(p_L || p_l) = sum p_L (log p_L - log p_l), mean over rows.
  return F::kl_div(logp(h), target, F::KLDivFuncOptions().reduction(torch::kBatchMean).log_target(true));
}

namespace {

// The rows of the given texts (S consecutive rows each).
Tensor rows_of(const std::vector<int64_t>& texts, int64_t S, torch::Device dev) {
  std::vector<int64_t> idx;
  for (int64_t t : texts)
    for (int64_t s = 0; s < S; ++s) idx.push_back(t * S + s);
  return torch::tensor(idx, torch::kLong).to(dev);
}

// Mean KL over `rows` in chunks (memory: chunk x vocabulary).
double mean_kl(const model::DecoderLM& lm, const TunedLens* lens, int64_t layer, const Tensor& states,
               const Tensor& rows) {
  torch::NoGradGuard ng;
  const int64_t L = states.size(0) - 1, N = rows.size(0), chunk = 256;
  double sum = 0;
  for (int64_t a = 0; a < N; a += chunk) {
    const Tensor r = rows.narrow(0, a, std::min(chunk, N - a));
    sum += lens_kl(lm, lens, layer, states[layer].index_select(0, r), states[L].index_select(0, r)).item<double>() *
           static_cast<double>(r.size(0));
  }
  return N > 0 ? sum / static_cast<double>(N) : 0.0;
}

}  // namespace

TunedLens train_tuned_lens(const model::DecoderLM& lm, const Tensor& states, int64_t S, const TunedLensTrainOptions& opt,
                           TunedLensCurves& curves, runtime::JobContext* ctx) {
  if (opt.steps < 0) fail("--steps: expected >= 0, found {}", opt.steps);
  if (!(opt.lr > 0)) fail("--lr: expected > 0, found {}", opt.lr);
  if (opt.batch_rows < 1) fail("--batch-rows: expected >= 1, found {}", opt.batch_rows);
  if (!(opt.held_fraction > 0 && opt.held_fraction < 1))
    fail("--held-fraction: expected a number between 0 and 1, found {}", opt.held_fraction);
  const int64_t L = states.size(0) - 1, H = states.size(2), n_texts = states.size(1) / S;
  const int64_t held = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n_texts) * opt.held_fraction));
  if (n_texts - held < 1) fail("tuned lens: {} text(s) are too few to train on and hold some out (give more --data)", n_texts);
  std::vector<int64_t> order(static_cast<size_t>(n_texts));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(opt.seed);
  std::shuffle(order.begin(), order.end(), rng);
  const std::vector<int64_t> held_texts(order.begin(), order.begin() + held), train_texts(order.begin() + held, order.end());
  const auto dev = states.device();
  const Tensor train_rows = rows_of(train_texts, S, dev), held_rows = rows_of(held_texts, S, dev);
  curves = {};
  curves.train_texts = static_cast<int64_t>(train_texts.size());
  curves.held_texts = held;
  curves.positions_per_text = S;

  TunedLens lens = identity_lens(L, H);
  if (ctx) ctx->set_stage("train tuned lens", L * std::max<int64_t>(1, opt.steps), "steps");
  auto gen = at::detail::createCPUGenerator(opt.seed + 1);
  const int64_t n_train = train_rows.size(0);
  for (int64_t l = 0; l < L; ++l) {
    Tensor W = lens.weight[static_cast<size_t>(l)].to(dev).requires_grad_(true);
    Tensor b = lens.bias[static_cast<size_t>(l)].to(dev).requires_grad_(true);
    lens.weight[static_cast<size_t>(l)] = W;
    lens.bias[static_cast<size_t>(l)] = b;
    torch::optim::Adam adam({W, b}, torch::optim::AdamOptions(opt.lr));
    for (int64_t step = 0; step < opt.steps; ++step) {
      if (ctx) ctx->check_cancel();
      const Tensor pick = torch::randint(n_train, {std::min(opt.batch_rows, n_train)}, gen, torch::kLong).to(dev);
      const Tensor r = train_rows.index_select(0, pick);
      adam.zero_grad();
      Tensor loss = lens_kl(lm, &lens, l, states[l].index_select(0, r), states[L].index_select(0, r));
      loss.backward();
      adam.step();
      if (ctx) ctx->advance();
    }
    lens.weight[static_cast<size_t>(l)] = W.detach().to(torch::kCPU);
    lens.bias[static_cast<size_t>(l)] = b.detach().to(torch::kCPU);
  }
  for (int64_t l = 0; l <= L; ++l) {
    curves.layers.push_back(l);
    curves.kl_logit.push_back(l == L ? 0.0 : mean_kl(lm, nullptr, l, states, held_rows));
    curves.kl_tuned.push_back(l == L ? 0.0 : mean_kl(lm, &lens, l, states, held_rows));
  }
  return lens;
}

void save_tuned_lens(const fs::path& dir, const TunedLens& lens, const TunedLensCurves& curves,
                     const model::DecoderLM& lm, const fs::path& model_dir, const fs::path& adapter_dir) {
  fs::create_directories(dir);
  io::NamedTensors t;
  for (int64_t l = 0; l < lens.n_layers(); ++l) {
    t.emplace_back(fmt::format("layers.{}.weight", l), lens.weight[static_cast<size_t>(l)].to(torch::kFloat32));
    t.emplace_back(fmt::format("layers.{}.bias", l), lens.bias[static_cast<size_t>(l)].to(torch::kFloat32));
  }
  io::save_safetensors(dir / "translators.safetensors", t);
  nlohmann::ordered_json j;
  j["format"] = "genlens tuned lens v1";
  j["base_model"] = gen::BaseModelIdentity::of(lm, model_dir).to_json();
  j["adapter"] = adapter_dir.empty() ? "" : fs::absolute(adapter_dir).string();
  j["layers"] = curves.layers;
  j["kl_logit"] = curves.kl_logit;
  j["kl_tuned"] = curves.kl_tuned;
  j["train_texts"] = curves.train_texts;
  j["held_texts"] = curves.held_texts;
  j["positions_per_text"] = curves.positions_per_text;
  io::write_file_atomic(dir / "tuned_lens.json", j.dump(2) + "\n");
}

TunedLens load_tuned_lens(const fs::path& dir, const model::DecoderLM& lm, const fs::path& model_dir,
                          TunedLensCurves* curves) {
  const fs::path meta_path = dir / "tuned_lens.json", tensors_path = dir / "translators.safetensors";
  if (!fs::exists(meta_path))
    fail("{}: no tuned lens here (expected tuned_lens.json; `genlens tuned-lens train` writes one)", dir.string());
  const auto j = io::read_json_file(meta_path);
  const io::JsonCheck check(meta_path.string());
  check.object(j, "");
  const auto* base = check.object_field(j, "base_model", "");
  if (!base) fail("{}: no base_model (which model the lens was trained on)", meta_path.string());
  gen::BaseModelIdentity::from_json(*base, meta_path.string())
      .check_matches(gen::BaseModelIdentity::of(lm, model_dir), meta_path.string());
  const auto t = io::load_safetensors(tensors_path);
  const int64_t L = lm.config().num_hidden_layers, H = lm.config().hidden_size;
  TunedLens lens;
  for (int64_t l = 0; l < L; ++l) {
    auto get = [&](const std::string& name, std::vector<int64_t> shape) {
      auto it = t.find(name);
      if (it == t.end()) fail("{}: no tensor {} (a lens for {} layers is needed)", tensors_path.string(), name, L);
      if (it->second.sizes().vec() != shape)
        fail("{}: {} is [{}], expected [{}]", tensors_path.string(), name, fmt::join(it->second.sizes(), ", "),
             fmt::join(shape, ", "));
      return it->second.to(torch::kFloat32);
    };
    lens.weight.push_back(get(fmt::format("layers.{}.weight", l), {H, H}));
    lens.bias.push_back(get(fmt::format("layers.{}.bias", l), {H}));
  }
  if (curves) {
    curves->layers = j.value("layers", std::vector<int64_t>{});
    curves->kl_logit = j.value("kl_logit", std::vector<double>{});
    curves->kl_tuned = j.value("kl_tuned", std::vector<double>{});
    curves->train_texts = j.value("train_texts", int64_t{0});
    curves->held_texts = j.value("held_texts", int64_t{0});
    curves->positions_per_text = j.value("positions_per_text", int64_t{0});
  }
  return lens;
}

}  // namespace genlens::analysis
