#include "core/gen/train_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/gen/checkpoint.h"
#include "core/util/error.h"

namespace genlens::gen {

using nlohmann::json;

json TrainSettings::to_json() const {
  return json{{"steps", steps},
              {"batch_size", batch_size},
              {"grad_accum", grad_accum},
              {"lr", lr},
              {"betas", {beta1, beta2}},
              {"adam_eps", adam_eps},
              {"weight_decay", weight_decay},
              {"warmup_steps", warmup_steps},
              {"lr_schedule", "linear"},
              {"max_grad_norm", max_grad_norm},
              {"recon_weight", recon_weight},
              {"align_weight", align_weight},
              {"n_thought", n_thought},
              {"n_compression", n_compression},
              {"query_max_length", query_max_length},
              {"response_max_length", response_max_length},
              {"seed", seed},
              {"save_every", save_every},
              {"keep", keep},
              {"special_init_std", special_init_std},
              {"teacher_batch", teacher_batch},
              {"teacher", teacher},
              {"instruction", instruction}};
}

TrainSettings TrainSettings::from_json(const json& j, const std::string& source) {
  TrainSettings s;
  auto get = [&](const char* key, auto& dst) {
    if (!j.contains(key)) return;
    try {
      dst = j.at(key).get<std::decay_t<decltype(dst)>>();
    } catch (const json::exception&) {
      fail("{}: training setting \"{}\": unexpected value {}", source, key, j.at(key).dump());
    }
  };
  get("steps", s.steps);
  get("batch_size", s.batch_size);
  get("grad_accum", s.grad_accum);
  get("lr", s.lr);
  if (j.contains("betas") && j.at("betas").is_array() && j.at("betas").size() == 2) {
    s.beta1 = j.at("betas")[0].get<double>();
    s.beta2 = j.at("betas")[1].get<double>();
  }
  get("adam_eps", s.adam_eps);
  get("weight_decay", s.weight_decay);
  get("warmup_steps", s.warmup_steps);
  get("max_grad_norm", s.max_grad_norm);
  get("recon_weight", s.recon_weight);
  get("align_weight", s.align_weight);
  get("n_thought", s.n_thought);
  get("n_compression", s.n_compression);
  get("query_max_length", s.query_max_length);
  get("response_max_length", s.response_max_length);
  get("seed", s.seed);
  get("save_every", s.save_every);
  get("keep", s.keep);
  get("special_init_std", s.special_init_std);
  get("teacher_batch", s.teacher_batch);
  get("teacher", s.teacher);
  get("instruction", s.instruction);
  return s;
}

void TrainSettings::validate() const {
  auto need = [](bool ok, const char* what, auto found) {
    if (!ok) fail("training setting {}, found {}", what, found);
  };
  need(steps >= 1, "--steps: expected >= 1", steps);
  need(batch_size >= 1, "--batch-size: expected >= 1", batch_size);
  need(grad_accum >= 1, "--grad-accum: expected >= 1", grad_accum);
  need(lr > 0 && std::isfinite(lr), "--lr: expected a positive number", lr);
  need(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "betas: expected in [0, 1)", fmt::format("{}, {}", beta1, beta2));
  need(weight_decay >= 0, "--weight-decay: expected >= 0", weight_decay);
  need(warmup_steps >= 0, "--warmup: expected >= 0", warmup_steps);
  need(recon_weight >= 0 && align_weight >= 0, "loss weights: expected >= 0",
       fmt::format("{}, {}", recon_weight, align_weight));
  need(recon_weight > 0 || align_weight > 0, "loss weights: expected at least one > 0", "both 0");
  // The same bounds genlens.json is read with (adapter_meta.cpp).
  need(n_thought >= 0 && n_thought <= 4096, "--thought: expected 0 to 4096", n_thought);
  need(n_compression >= 1 && n_compression <= 4096, "--compression: expected 1 to 4096", n_compression);
  need(query_max_length >= 1, "--query-max-length: expected >= 1", query_max_length);
  need(response_max_length >= 1, "--response-max-length: expected >= 1", response_max_length);
  need(save_every >= 1, "--save-every: expected >= 1", save_every);
}

std::vector<std::string> TrainSettings::warnings() const {
  std::vector<std::string> out;
  if (warmup_steps > 0 && warmup_steps >= steps) {
    // The schedule (adamw.h linear_schedule) rises as k / warmup: at the last step it is at
    // (steps - 1) / warmup of --lr and never decays.
    const double peak = static_cast<double>(steps - 1) / static_cast<double>(warmup_steps);
    out.push_back(fmt::format("--warmup {} is not shorter than --steps {}: the learning rate only rises, to {:.0f}% of "
                              "--lr {:.3g} at the last step, and never decays (try --warmup {})",
                              warmup_steps, steps, 100.0 * peak, lr, std::max<int64_t>(0, steps / 10)));
  }
  return out;
}

std::string TrainData::fingerprint() const {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < query.size(); ++i) {
    int64_t nq = static_cast<int64_t>(query[i].size()), nt = static_cast<int64_t>(target[i].size());
    h = fnv1a64(&nq, sizeof nq, h);
    h = fnv1a64(query[i].data(), query[i].size() * sizeof(int32_t), h);
    h = fnv1a64(&nt, sizeof nt, h);
    h = fnv1a64(target[i].data(), target[i].size() * sizeof(int32_t), h);
  }
  return hex64(h);
}

}  // namespace genlens::gen
