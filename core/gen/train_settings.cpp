#include "core/gen/train_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <variant>

#include "core/util/error.h"
#include "core/util/hash.h"

namespace genlens::gen {

using nlohmann::json;

json TrainSettings::to_json() const {
  json j = json::object();
  for (const auto& f : kTrainSettingFields)
    std::visit(
        [&](auto member) {
          if (f.slot < 0)
            j[f.key] = this->*member;
          else
            j[f.key][static_cast<size_t>(f.slot)] = this->*member;
        },
        f.member);
  j["lr_schedule"] = "linear";  // for readers of the file; the only schedule genlens has
  return j;
}

TrainSettings TrainSettings::from_json(const json& j, const std::string& source) {
  TrainSettings s;
  for (const auto& f : kTrainSettingFields)
    std::visit(
        [&](auto member) {
          using Value = std::decay_t<decltype(s.*member)>;
          if (f.slot >= 0) {
            // An array of another length is skipped like a missing key (the default stays).
            auto it = j.find(f.key);
            if (it != j.end() && it->is_array() && it->size() == static_cast<size_t>(f.slots))
              s.*member = (*it)[static_cast<size_t>(f.slot)].template get<Value>();
            return;
          }
          if (!j.contains(f.key)) return;
          try {
            s.*member = j.at(f.key).template get<Value>();
          } catch (const json::exception&) {
            fail("{}: training setting \"{}\": unexpected value {}", source, f.key, j.at(f.key).dump());
          }
        },
        f.member);
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
    // The schedule (optim/adamw.h linear_schedule) rises as k / warmup: at the last step it is at
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
    h = util::fnv1a64(&nq, sizeof nq, h);
    h = util::fnv1a64(query[i].data(), query[i].size() * sizeof(int32_t), h);
    h = util::fnv1a64(&nt, sizeof nt, h);
    h = util::fnv1a64(target[i].data(), target[i].size() * sizeof(int32_t), h);
  }
  return util::hex64(h);
}

}  // namespace genlens::gen
