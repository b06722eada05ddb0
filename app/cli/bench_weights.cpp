// `genlens bench weights`: the CPU's low-memory weight format (--weights bf16: bf16
// matrices, float32 compute) against float32 on one model, in one process: how often
// greedy decoding gives the same tokens, how often the logit lens's top-1 word is the
// same, decoding speed, and the bytes of weights each keeps. The model is --model (a real
// or trained one; --texts gives it real prompts) or a random one of --shape.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>

#include "app/cli/bench.h"
#include "app/cli/bench_harness.h"
#include "app/cli/model_args.h"
#include "core/model/generate.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {

namespace {

namespace fs = std::filesystem;
using torch::Tensor;

struct Opts {
  bench::Spec spec;
  std::string model, texts;
  int64_t prompts = 100, lens_positions = 10;
};

struct Run {
  std::vector<std::vector<int64_t>> tokens;  // greedy continuation per prompt
  std::vector<int64_t> lens_top1;            // per prompt, layer, position
  double decode_s = 0, weight_mb = 0;
  int64_t generated = 0;
};

double weight_mb(const model::DecoderLM& lm) {
  double b = 0;
  for (const auto& [name, t] : lm.named_parameters()) b += static_cast<double>(t.nbytes());
  return b / 1e6;
}

// Greedy tokens of every prompt (one at a time, as the inspector decodes), and the
// logit lens's top-1 word at every layer of each prompt's last `positions` tokens.
Run run(const model::DecoderLM& lm, const std::vector<std::vector<int64_t>>& prompts, int64_t new_tokens,
        int64_t positions) {
  torch::NoGradGuard ng;
  Run r;
  r.weight_mb = weight_mb(lm);
  model::GenerateOptions g;
  g.max_new_tokens = static_cast<int>(new_tokens);
  for (const auto& p : prompts) {
    const auto t0 = std::chrono::steady_clock::now();
    auto out = model::generate_from_ids(lm, {p}, g);
    r.decode_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.generated += static_cast<int64_t>(out.at(0).size());
    r.tokens.push_back(out.at(0));

    auto ids = torch::tensor(p, torch::kLong).view({1, -1});
    model::ForwardOptions fo;
    fo.output_hidden_states = true;
    auto f = lm.forward(lm.embed(ids), torch::ones_like(ids), fo);
    const int64_t T = ids.size(1), k = std::min(positions, T);
    for (const auto& h : f.hidden_states) {
      auto top = lm.lm_head(lm.final_norm(h[0].narrow(0, T - k, k))).argmax(-1).contiguous();
      r.lens_top1.insert(r.lens_top1.end(), top.data_ptr<int64_t>(), top.data_ptr<int64_t>() + k);
    }
  }
  return r;
}

std::vector<std::vector<int64_t>> read_prompts(const Opts& o, const fs::path& dir, int64_t vocab) {
  std::vector<std::vector<int64_t>> out;
  if (o.texts.empty()) {
    auto rows = bench::token_rows(o.spec, vocab, 0, o.prompts);
    for (auto& q : rows.query) out.emplace_back(q.begin(), q.end());
    return out;
  }
  auto tok = text::load_tokenizer(dir);
  std::ifstream in(o.texts);
  if (!in) fail("--texts '{}': cannot open the file", o.texts);
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line) && static_cast<int64_t>(out.size()) < o.prompts;) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string text = line;
    if (line[0] == '{') {  // JSONL: the "text" field
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        fail("--texts '{}' line {}: a JSON line needs a \"text\" string", o.texts, line_no);
      text = j["text"].get<std::string>();
    }
    auto ids = tok->encode(text, /*add_special=*/true);
    if (ids.empty()) continue;
    out.emplace_back(ids.begin(), ids.end());
  }
  if (out.empty()) fail("--texts '{}': no non-empty lines", o.texts);
  return out;
}

int bench_weights(const Opts& o) {
  std::unique_ptr<bench::TempModel> temp;
  fs::path dir = o.model;
  bench::Spec spec = o.spec;
  if (dir.empty()) {
    spec.dev.weights = "same";  // a float32 checkpoint; each format loads it below
    temp = std::make_unique<bench::TempModel>(spec);
    dir = temp->dir;
    temp->lm.reset();
  }
  const auto cfg = model::ModelConfig::from_dir(dir);
  const auto prompts = read_prompts(o, dir, cfg.vocab_size);
  Run f32, low;
  {
    auto lm = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32);
    f32 = run(*lm, prompts, spec.new_tokens, o.lens_positions);
  }
  {
    auto lm = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32, {}, torch::kBFloat16);
    low = run(*lm, prompts, spec.new_tokens, o.lens_positions);
  }
  int64_t same_prompts = 0, same_tokens = 0, total_tokens = 0, same_cells = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    same_prompts += f32.tokens[i] == low.tokens[i];
    // Tokens up to the first difference (after it the two continue from different text).
    const size_t n = std::min(f32.tokens[i].size(), low.tokens[i].size());
    size_t k = 0;
    while (k < n && f32.tokens[i][k] == low.tokens[i][k]) ++k;
    same_tokens += static_cast<int64_t>(k);
    total_tokens += static_cast<int64_t>(f32.tokens[i].size());
  }
  for (size_t c = 0; c < f32.lens_top1.size(); ++c) same_cells += f32.lens_top1[c] == low.lens_top1[c];
  const auto n = static_cast<int64_t>(prompts.size());
  const auto cells = static_cast<int64_t>(f32.lens_top1.size());
  const std::string what = o.model.empty() ? bench::shape_name(spec.shape) + " (random weights)" : o.model;
  fmt::print(stderr,
             "weights: {} prompts of {}, {} greedy tokens each, lens top-1 at every layer of the last {} positions\n"
             "                      float32      bf16 matrices\n"
             "weights kept      {:>9.0f} MB   {:>9.0f} MB ({:.2f}x)\n"
             "decoding          {:>9.2f} tok/s {:>9.2f} tok/s ({:.2f}x)\n"
             "greedy identical  {}/{} prompts ({:.1f}%); tokens before the first difference {:.1f}%\n"
             "lens top-1 same   {}/{} cells ({:.1f}%)\n",
             n, what, spec.new_tokens, o.lens_positions, f32.weight_mb, low.weight_mb, low.weight_mb / f32.weight_mb,
             f32.generated / f32.decode_s, low.generated / low.decode_s,
             (low.generated / low.decode_s) / (f32.generated / f32.decode_s), same_prompts, n, 100.0 * same_prompts / n,
             100.0 * same_tokens / std::max<int64_t>(1, total_tokens), same_cells, cells,
             100.0 * same_cells / std::max<int64_t>(1, cells));
  nlohmann::json j;
  j["bench"] = "weights";
  j["case"] = "bf16-vs-f32";
  j["model"] = o.model.empty() ? bench::shape_name(spec.shape) : o.model;
  j["random_weights"] = o.model.empty();
  j["prompts"] = n;
  j["new_tokens"] = spec.new_tokens;
  j["weights_mb"] = {{"f32", f32.weight_mb}, {"bf16", low.weight_mb}};
  j["decode_tokens_per_s"] = {{"f32", f32.generated / f32.decode_s}, {"bf16", low.generated / low.decode_s}};
  j["greedy_identical_prompts"] = same_prompts;
  j["greedy_tokens_before_first_difference"] = same_tokens;
  j["greedy_tokens"] = total_tokens;
  j["lens_cells"] = cells;
  j["lens_top1_identical"] = same_cells;
  fmt::print("{}\n", j.dump());
  return 0;
}

RegisterBench reg_weights(
    {"weights",
     "The low-memory weight format (--weights bf16) vs float32: greedy and lens agreement, speed, bytes (JSON)",
     [](CLI::App& sub) -> std::function<int()> {
       auto o = std::make_shared<Opts>();
       o->spec.batch = 1;
       o->spec.query_len = 16;
       o->spec.add(sub);
       add_model_option(sub, "--model", o->model, "A model directory to compare on (default: a random --shape model)");
       sub.add_option("--prompts", o->prompts, "Prompts compared")->capture_default_str()->check(CLI::PositiveNumber);
       sub.add_option("--texts", o->texts, "Prompts as text, one per line (or JSONL with \"text\"), with --model's "
                                           "tokenizer (default: --query-len random tokens)");
       sub.add_option("--lens-positions", o->lens_positions, "Last positions of each prompt read by the lens")
           ->capture_default_str()
           ->check(CLI::PositiveNumber);
       return [o] { return bench_weights(*o); };
     }});

}  // namespace

}  // namespace genlens::cli
