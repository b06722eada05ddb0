// `genlens bench attribute`: the time of one integrated-gradients attribution
// (core/analysis/attribution.h) for each --batch-sizes value (path points per forward),
// next to the same-run baseline of one point per forward, and the completeness of the
// neutral-token and the zeros baselines at the same step count.
#include <fmt/format.h>

#include <chrono>

#include "app/cli/bench.h"
#include "app/cli/method_args.h"
#include "app/cli/model_args.h"
#include "core/analysis/attribution.h"
#include "core/analysis/lens.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Opts {
  std::string model, adapter, query = "Why is the sky blue on a clear day, and red at sunset?";
  std::string batch_sizes = "1,4,16,64";
  int64_t steps = 64, repeats = 3;
  DeviceArgs dev;
};

std::function<int()> setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  sub.add_option("--adapter", o->adapter, "Adapter checkpoint (generative mode); without it the mean mode is timed");
  sub.add_option("--query", o->query, "Query text")->capture_default_str();
  sub.add_option("--steps", o->steps, "Points on the path")->capture_default_str();
  sub.add_option("--batch-sizes", o->batch_sizes, "Path points per forward, comma-separated")->capture_default_str();
  sub.add_option("--repeats", o->repeats, "Timed runs per batch size (the best is shown)")->capture_default_str();
  o->dev.add(sub);
  return [o]() -> int {
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    std::optional<gen::LoadedAdapter> adapter;
    if (!o->adapter.empty()) adapter = gen::load_adapter(gen::resolve_adapter_dir(o->adapter), *lm, o->model);
    const auto mode = adapter ? gen::EncodeMode::Generative : gen::EncodeMode::Mean;
    const gen::Adapter* ad = adapter ? &adapter->adapter : nullptr;
    analysis::LensOptions lo;
    if (adapter) lo.instruction = adapter->meta.instruction;
    lo.max_length = gen::query_max_length(adapter ? &adapter->meta : nullptr, 0);
    const auto ids = analysis::lens_query_ids(*tok, o->query, lo);
    gen::EncodeOptions eo;
    eo.mode = mode;
    auto target = gen::encode_ids(*lm, ad, {gen::TokenRow(ids.begin(), ids.end())}, eo)[0];
    analysis::AttributionOptions ao;
    ao.steps = o->steps;
    ao.baseline_id = analysis::neutral_token_id(*tok);
    fmt::print("attribute: {} mode, {} query tokens, hidden {}, {} layers, {} steps, target = the query itself\n",
               gen::to_string(mode), ids.size(), lm->config().hidden_size, lm->config().num_hidden_layers, o->steps);
    double base_s = 0;
    for (const auto& part : parse_ids(o->batch_sizes)) {
      ao.batch_size = part;
      double best = 1e300;
      for (int64_t k = 0; k < std::max<int64_t>(1, o->repeats); ++k) {
        auto t0 = Clock::now();
        analysis::integrated_gradients(*lm, ad, mode, ids, target, ao);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
      }
      if (base_s == 0) base_s = best;
      fmt::print("  batch {:>4}: {:8.1f} ms per attribution  ({:.2f}x the first)\n", part, best * 1e3, base_s / best);
    }
    for (auto kind : {analysis::BaselineKind::Token, analysis::BaselineKind::Zeros}) {
      ao.baseline = kind;
      ao.batch_size = 16;
      auto r = analysis::integrated_gradients(*lm, ad, mode, ids, target, ao);
      fmt::print("  baseline {:<5}: f(input) {:.6f}  f(baseline) {:.6f}  sum {:.6f}  completeness {:.2e} abs, "
                 "{:.2e} rel\n",
                 analysis::to_string(kind), r.f_input, r.f_baseline, r.score_sum(), r.completeness_abs(),
                 r.completeness_rel());
    }
    return 0;
  };
}

RegisterBench reg({"attribute", "Integrated-gradients attribution: time per batch size, completeness per baseline",
                   setup});

}  // namespace
}  // namespace genlens::cli
