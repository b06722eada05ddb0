// `genlens tuned-lens train|show`: the tuned lens of the thought and compression tokens
// (core/analysis/tuned_lens.h). train reads the special positions' states of a set of
// texts, fits one affine translator per layer and prints the KL to the last layer, logit
// lens against tuned lens, on held-out texts; show prints a saved lens's curves.
// `genlens lens --tuned DIR` reads through the translators.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/method_args.h"
#include "app/cli/progress.h"
#include "core/analysis/tuned_lens.h"
#include "core/data/corpus.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;

struct Opts {
  std::string model, adapter, data, field = "text", out, lens_dir, instruction;
  int64_t max_length = 0, max_texts = 2000;
  analysis::TunedLensTrainOptions train;
  bool json = false, quiet = false;
  DeviceArgs dev;
};

void print_curves(const analysis::TunedLensCurves& c, bool json, const std::string& where) {
  if (json) {
    nlohmann::ordered_json j;
    j["layers"] = c.layers;
    j["kl_logit"] = c.kl_logit;
    j["kl_tuned"] = c.kl_tuned;
    j["train_texts"] = c.train_texts;
    j["held_texts"] = c.held_texts;
    j["lens"] = where;
    fmt::print("{}\n", j.dump(1));
    return;
  }
  fmt::print("KL(last layer || layer l) in nats at the thought/compression positions of {} held-out texts "
             "({} trained on); lower reads the layer closer to the model's output\n\n",
             c.held_texts, c.train_texts);
  fmt::print("{:>6}  {:>10}  {:>10}  {:>11}\n", "layer", "logit lens", "tuned lens", "tuned/logit");
  for (size_t i = 0; i < c.layers.size(); ++i) {
    const double a = c.kl_logit[i], b = c.kl_tuned[i];
    fmt::print("{:>6}  {:>10.4f}  {:>10.4f}  {:>11}\n", c.layers[i], a, b, a > 0 ? fmt::format("{:.2f}", b / a) : "-");
  }
  fmt::print("\nlens directory: {}\n", where);
}

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.require_subcommand(1);
  auto* train = sub.add_subcommand("train", "Fit the translators on texts' special-token states and print the KL curves");
  add_model_option(*train, "--model", o->model, "Base model directory (HF layout, with tokenizer)")->required();
  train->add_option("--adapter", o->adapter, "Adapter checkpoint or run directory")->required();
  train->add_option("--data", o->data, "Texts JSONL (e.g. the run's responses.jsonl, its questions)")->required();
  train->add_option("--field", o->field, "JSONL field holding the text")->capture_default_str();
  train->add_option("--max-texts", o->max_texts, "Use at most this many texts (the first ones)")
      ->check(kAtLeastOne)
      ->capture_default_str();
  train->add_option("--out", o->out, "Lens directory (default: ADAPTER/tuned-lens)");
  train->add_option("--steps", o->train.steps, "Adam steps per layer")->capture_default_str();
  train->add_option("--lr", o->train.lr, "Adam learning rate")->capture_default_str();
  train->add_option("--batch-rows", o->train.batch_rows, "Positions per step")->capture_default_str();
  train->add_option("--held-fraction", o->train.held_fraction, "Texts held out for the curves")->capture_default_str();
  train->add_option("--seed", o->train.seed, "Split and minibatch seed")->capture_default_str();
  train->add_option("--instruction", o->instruction, "Text put before each text (default: the adapter's)");
  add_max_length_option(*train, o->max_length);
  train->add_flag("--json", o->json, "Print JSON: {\"layers\", \"kl_logit\", \"kl_tuned\", \"train_texts\", \"held_texts\", \"lens\"}");
  o->dev.add(*train);
  add_quiet_flag(*train, o->quiet);

  auto* show = sub.add_subcommand("show", "Print a saved tuned lens's KL curves (checked against the model)");
  add_model_option(*show, "--model", o->model, "Base model directory the lens was trained on")->required();
  show->add_option("--lens", o->lens_dir, "Lens directory (what train wrote)")->required();
  show->add_flag("--json", o->json, "Print JSON");

  return [o, train, show]() -> int {
    if (show->parsed()) {
      auto lm = model::DecoderLM::load(o->model);
      analysis::TunedLensCurves c;
      analysis::load_tuned_lens(o->lens_dir, *lm, o->model, &c);
      print_curves(c, o->json, o->lens_dir);
      return kOk;
    }
    const bool quiet = quiet_requested(*train, o->quiet) || o->json;
    auto texts = data::read_texts(o->data, o->field);
    if (static_cast<int64_t>(texts.size()) > o->max_texts) texts.resize(static_cast<size_t>(o->max_texts));
    auto tok = text::load_tokenizer(o->model);
    auto lm = o->dev.load(o->model);
    auto adapter = load_optional_adapter(o->adapter, *lm, o->model);
    const std::string instruction = train->count("--instruction") ? o->instruction : adapter->meta.instruction;
    const int64_t max_length = query_max_length_of(*train, o->max_length, adapter);
    const fs::path out = o->out.empty() ? adapter->dir / "tuned-lens" : fs::path(o->out);
    analysis::TunedLensCurves curves;
    runtime::Job job("tuned-lens", [&](runtime::JobContext& ctx) {
      const auto states = analysis::special_position_states(*lm, adapter->adapter, *tok, texts, instruction,
                                                            max_length, &ctx);
      auto lens = analysis::train_tuned_lens(*lm, states, adapter->adapter.shape().n_special(), o->train, curves, &ctx);
      analysis::save_tuned_lens(out, lens, curves, *lm, o->model, adapter->dir);
    });
    int rc = run_job_cli(job, quiet);
    if (rc != kOk) return rc;
    print_curves(curves, o->json, out.string());
    return kOk;
  };
}

RegisterCommand reg({"tuned-lens",
                     "The tuned lens: per-layer translators for the special tokens' logit lens (train, show)", setup,
                     55});

}  // namespace
}  // namespace genlens::cli
