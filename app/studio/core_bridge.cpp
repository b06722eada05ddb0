#include "app/studio/core_bridge.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "app/studio/studio_results.h"
#include "core/analysis/ablate.h"
#include "core/analysis/attribution.h"
#include "core/analysis/decode.h"
#include "core/analysis/embedding_expr.h"
#include "core/analysis/latent_index.h"
#include "core/analysis/latent_lens.h"
#include "core/analysis/lens.h"
#include "core/analysis/map_regions.h"
#include "core/analysis/neighbors.h"
#include "core/analysis/trace.h"
#include "core/analysis/tuned_lens.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/gen/train_settings.h"
#include "core/gen/query_length.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/runtime/job.h"
#include "core/text/chat_template.h"
#include "core/text/readable_piece.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::studio {

namespace fs = std::filesystem;

namespace {
analysis::Points points_of(const torch::Tensor& t_in) {
  auto t = t_in.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  analysis::Points p;
  p.rows = t.size(0);
  p.cols = t.dim() > 1 ? t.size(1) : 1;
  p.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + p.rows * p.cols);
  return p;
}
}  // namespace

struct LoadedModel {
  std::string model_dir;
  std::shared_ptr<model::DecoderLM> lm;
  std::unique_ptr<text::Tokenizer> tok;
  std::optional<text::ChatTemplate> chat;  // absent when the model has no usable template
  std::string chat_problem;
  std::optional<gen::LoadedAdapter> adapter;
  double weights_mib = 0;  // summed once at load
  // Latent indexes opened so far (memory-mapped; cheap to keep).
  mutable std::mutex index_mu;
  mutable std::map<std::string, std::shared_ptr<analysis::LatentIndex>> indexes;
  // The checkpoint's tuned lens once read, with its curves, until its files change (a
  // query read through it does not read 28 translators again).
  struct TunedLensFile {
    std::filesystem::file_time_type written;
    std::shared_ptr<const analysis::TunedLens> lens;
    analysis::TunedLensCurves curves;
  };
  mutable std::optional<TunedLensFile> tuned;
};

CoreSession::CoreSession(bool bf16_weights) : bf16_weights_(bf16_weights) {}
CoreSession::~CoreSession() = default;

CoreSession::Weights CoreSession::weights() const {
  std::unique_lock<std::mutex> lk(mu_, std::try_to_lock);  // busy while a model loads: the UI never waits
  if (!lk.owns_lock() || !loaded_ || !loaded_->lm) return {};
  const auto& lm = *loaded_->lm;
  std::string dtype = model::dtype_name(lm.dtype());
  if (lm.matrix_dtype() != lm.dtype()) dtype = model::dtype_name(lm.matrix_dtype()) + " matrices with " + dtype + " compute";
  return {loaded_->model_dir, loaded_->weights_mib, dtype};
}

std::shared_ptr<const LoadedModel> CoreSession::get(const std::string& model_dir, const std::string& adapter,
                                                    runtime::JobContext& ctx) {
  if (model_dir.empty()) fail("no model is open: open a model directory (Workspace tab) first");
  std::lock_guard<std::mutex> lk(mu_);
  // A run directory's newest checkpoint changes while it trains: resolve before keying.
  std::string adapter_resolved = adapter.empty() ? "" : gen::resolve_adapter_dir(adapter).string();
  const std::string key = model_dir + "\n" + adapter_resolved;
  if (loaded_ && key_ == key) return loaded_;
  auto m = std::make_shared<LoadedModel>();
  m->model_dir = model_dir;
  ctx.set_stage("load model");
  if (!loaded_ || loaded_->model_dir != model_dir) {
    m->tok = text::load_tokenizer(model_dir);
    m->lm = bf16_weights_ ? model::DecoderLM::load(model_dir, torch::kCPU, torch::kFloat32, {}, torch::kBFloat16)
                          : model::DecoderLM::load(model_dir);
    double bytes = 0;
    for (const auto& [name, p] : m->lm->named_parameters()) bytes += static_cast<double>(p.nbytes());
    m->weights_mib = bytes / (1024.0 * 1024.0);
  } else {  // same base model, another adapter: reuse the weights
    m->tok = text::load_tokenizer(model_dir);
    m->lm = loaded_->lm;
    m->weights_mib = loaded_->weights_mib;
  }
  try {
    m->chat = text::load_chat_template(model_dir);
  } catch (const std::exception& e) {
    m->chat_problem = e.what();
  }
  if (!adapter_resolved.empty()) {
    ctx.set_stage("load adapter");
    m->adapter = gen::load_adapter(adapter_resolved, *m->lm, model_dir);
  }
  loaded_ = m;
  key_ = key;
  return loaded_;
}

bool has_adapter(const LoadedModel& m) { return m.adapter.has_value(); }
std::string adapter_dir(const LoadedModel& m) { return m.adapter ? m.adapter->dir.string() : ""; }
int64_t n_layers(const LoadedModel& m) { return m.lm->config().num_hidden_layers; }

std::vector<views::TokenChip> token_chips(const LoadedModel& m, const std::string& text) {
  auto enc = m.tok->encode_with_offsets(text, /*add_special=*/true);
  std::vector<views::TokenChip> out;
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    views::TokenChip c;
    c.id = enc.ids[i];
    c.begin = int64_t(enc.offsets[i].begin);
    c.end = int64_t(enc.offsets[i].end);
    c.special = m.tok->is_special(enc.ids[i]);
    // The input bytes the token covers (what a person typed); added tokens show their
    // piece; part of a character split across tokens shows its bytes ("<E8 9C>").
    c.piece = c.end > c.begin ? text.substr(size_t(c.begin), size_t(c.end - c.begin)) : m.tok->id_to_piece(enc.ids[i]);
    if (!text::unicode::is_valid_utf8(c.piece)) {
      std::string hex = "<";
      for (unsigned char b : c.piece) hex += fmt::format("{}{:02X}", hex.size() > 1 ? " " : "", b);
      c.piece = hex + ">";
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The query length every core call uses, as the CLI's (core/gen/query_length.h): the
// adapter's training query length, else 512.
static int64_t query_length(const LoadedModel& m) { return gen::query_max_length(m.adapter ? &m.adapter->meta : nullptr); }

analysis::LensResult run_lens(const LoadedModel& m, const std::string& query, const std::string& instruction,
                              const std::vector<std::string>& track, const analysis::TunedLens* tuned) {
  analysis::LensOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.track = track;
  o.top_k = 8;
  o.tuned = tuned;
  return analysis::logit_lens(*m.lm, m.adapter ? &m.adapter->adapter : nullptr, *m.tok, query, o);
}

std::vector<RegionLabel> run_region_labels(runtime::JobContext& ctx, const LoadedModel& m, const analysis::Points& layout,
                                           const std::vector<std::string>& texts, const std::string& instruction,
                                           int max_regions, int words_per_region, analysis::RegionLabelRule rule) {
  if (!m.adapter) fail("cluster labels need an adapter: open a checkpoint or a run (Workspace tab)");
  analysis::RegionLabelOptions o;
  o.max_regions = max_regions;
  o.words = words_per_region;
  o.instruction = instruction;
  o.rule = rule;
  return analysis::label_map_regions(*m.lm, m.adapter->adapter, *m.tok, layout, texts, o, &ctx);
}

ProbeResult run_probe(const LoadedModel& m, const std::string& query, const std::string& instruction, int words,
                      int max_new_tokens) {
  if (!m.adapter) fail("the probe needs an adapter checkpoint");
  analysis::LensOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.layers = "-1";
  o.top_k = 10;
  o.input_lens_top_k = 0;
  o.summary_size = 60;
  ProbeResult r;
  auto lens = analysis::logit_lens(*m.lm, &m.adapter->adapter, *m.tok, query, o);
  for (auto& w : analysis::summarize_lens({lens}, *m.tok, o)) {
    auto t = analysis::region_label_word(w.text);
    if (!t.empty() && static_cast<int>(r.words.size()) < words &&
        std::find(r.words.begin(), r.words.end(), t) == r.words.end())
      r.words.push_back(t);
  }
  analysis::DecodeOptions d;
  d.instruction = instruction;
  d.max_length = query_length(m);
  d.max_new_tokens = max_new_tokens;
  d.model_answer = false;
  auto dec = analysis::decode_queries(*m.lm, m.adapter->adapter, *m.tok, {query}, d);
  if (!dec.empty()) r.decoded = dec[0].from_embedding.text;
  return r;
}

analysis::DecodeResult run_decode(const LoadedModel& m, const std::string& query, const std::string& instruction,
                                  int max_new_tokens, const std::function<void(const analysis::DecodeResult&)>& so_far) {
  if (!m.adapter) fail("decoding needs an adapter: open a checkpoint or a run (Workspace tab)");
  analysis::DecodeOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.max_new_tokens = max_new_tokens;
  o.model_answer = m.chat.has_value();
  o.chat = m.chat ? &*m.chat : nullptr;
  if (so_far) {
    // One query: the text from the embedding grows first, then the model's answer.
    auto partial = std::make_shared<analysis::DecodeResult>();
    partial->query = query;
    o.on_token = [partial, so_far, max_new_tokens](size_t, analysis::DecodeOptions::Stream which,
                                                   const analysis::DecodedText& text) {
      if (which == analysis::DecodeOptions::Stream::FromEmbedding) {
        partial->from_embedding = text;
      } else {
        auto& done = partial->from_embedding;  // finished before the answer starts
        done.stopped_at_eos = static_cast<int64_t>(done.ids.size()) < max_new_tokens;
        partial->has_model_answer = true;
        partial->model_answer = text;
      }
      so_far(*partial);
    };
  }
  return analysis::decode_queries(*m.lm, m.adapter->adapter, *m.tok, {query}, o).front();
}

analysis::InterpolationResult run_walk(const LoadedModel& m, const std::string& a, const std::string& b,
                                       const std::string& instruction, int steps, int max_new_tokens) {
  if (!m.adapter) fail("the interpolation walk needs an adapter: open a checkpoint or a run (Workspace tab)");
  analysis::DecodeOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.max_new_tokens = max_new_tokens;
  o.model_answer = false;
  return analysis::interpolate(*m.lm, m.adapter->adapter, *m.tok, a, b, steps, o);
}

analysis::NeighborsResult run_neighbors(runtime::JobContext& ctx, const LoadedModel& m,
                                        const std::vector<std::string>& corpus, const std::string& corpus_path,
                                        const std::string& query, const std::string& instruction,
                                        const std::vector<std::string>& modes, int64_t top_k) {
  analysis::NeighborsOptions o;
  o.modes = modes;
  o.max_length = query_length(m);
  o.top_k = top_k;
  o.instruction = instruction;
  o.corpus_instruction = instruction;
  return analysis::find_neighbors(ctx, *m.lm, m.adapter ? &m.adapter->adapter : nullptr, *m.tok, m.model_dir,
                                  m.adapter ? m.adapter->dir : fs::path(), corpus, corpus_path, query, o);
}

// The 5 corpus texts nearest a generative embedding (the corpus encoded with the
// queries' instruction and length, cached beside it as `neighbors` caches it).
static std::vector<analysis::Neighbor> nearest_in_corpus(runtime::JobContext& ctx, const LoadedModel& m,
                                                         const std::vector<std::string>& corpus,
                                                         const std::string& corpus_path, const std::string& instruction,
                                                         const std::vector<float>& embedding) {
  analysis::NeighborsOptions no;
  no.top_k = 5;
  no.max_length = query_length(m);
  no.instruction = no.corpus_instruction = instruction;
  return analysis::neighbors_of_embedding(ctx, *m.lm, &m.adapter->adapter, *m.tok, m.model_dir, m.adapter->dir,
                                          corpus, corpus_path, embedding, "generative", no)
      .hits;
}

AblationResults run_ablation(runtime::JobContext& ctx, const LoadedModel& m, const std::vector<std::string>& corpus,
                             const std::string& corpus_path, const std::string& query, const std::string& instruction,
                             int64_t layer, const std::string& position, const std::string& kind,
                             const std::string& contrast) {
  if (!m.adapter) fail("ablation needs an adapter: open a checkpoint or a run (Workspace tab)");
  const auto& ad = m.adapter->adapter;
  analysis::AblateOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.kind = analysis::parse_ablation_kind(kind == "patch" ? "resample" : kind);
  o.layers = std::to_string(layer);
  o.decode_tokens = 48;
  torch::Tensor rep;
  std::string note;
  if (o.kind == analysis::AblationKind::Mean) {
    if (corpus.empty()) fail("mean ablation averages over the open corpus: open one (Workspace tab)");
    ctx.set_stage("mean states of the corpus");
    rep = analysis::cached_mean_special_states(*m.lm, ad, *m.tok, m.model_dir, m.adapter->dir, corpus, corpus_path,
                                               instruction, o.max_length, /*use_cache=*/true, &note, &ctx);
  }
  if (kind == "patch") {  // B's special states stand in: activation patching of one cell
    if (contrast.empty()) fail("a patch needs the walk's second query (B)");
    rep = analysis::special_states(*m.lm, ad, *m.tok, contrast, instruction, o.max_length);
    note = "patched from B: " + contrast;
  }
  ctx.set_stage("ablate");
  o.positions = position;
  o.importance = false;
  const auto cell = analysis::ablate(*m.lm, ad, *m.tok, query, o, rep, note, &ctx);
  o.positions = "special";
  o.importance = true;
  o.decode_tokens = 1;  // only the bars are read from this one
  const auto all = analysis::ablate(*m.lm, ad, *m.tok, query, o, rep, note, &ctx);
  AblationResults r;
  r.layer = layer;
  r.position = position;
  r.kind = kind == "patch" ? "patch" : cell.kind;
  r.replacement = cell.replacement;
  r.cosine = cell.cosine;
  r.decoded = cell.decoded_ablated;
  for (const auto& p : all.positions) r.labels.push_back(p.label);
  r.importance = all.importance;
  if (!corpus.empty()) {
    ctx.set_stage("neighbours of the ablated embedding");
    r.neighbours = nearest_in_corpus(ctx, m, corpus, corpus_path, instruction, cell.embedding_ablated);
  }
  return r;
}

TraceResults run_trace(runtime::JobContext& ctx, const LoadedModel& m, const std::string& query,
                       const std::string& instruction, const std::string& contrast) {
  if (!m.adapter) fail("tracing needs an adapter: open a checkpoint or a run (Workspace tab)");
  analysis::TraceOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.contrast = contrast;
  o.decode_tokens = 32;
  const auto t0 = std::chrono::steady_clock::now();
  const auto t = analysis::causal_trace(*m.lm, m.adapter->adapter, *m.tok, query, o, &ctx);
  TraceResults r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.mode = t.mode;
  r.layers = t.layers;
  r.positions = t.positions;
  r.effect = t.effect;
  r.cos_base_source = t.cos_base_source;
  r.notes = t.notes;
  if (t.strongest.layer >= 0) {
    r.strongest_layer = t.strongest.layer;
    r.strongest_position = t.positions[t.strongest.position].label;
    r.strongest_effect = t.strongest.effect;
  }
  r.decoded_base = t.decoded_base;
  r.decoded_source = t.decoded_source;
  r.decoded_strongest = t.decoded_strongest;
  r.first_thought = t.first_layer_reaching(analysis::PositionKind::Thought, 0.5);
  r.first_compression = t.first_layer_reaching(analysis::PositionKind::Compression, 0.5);
  r.forwards = t.forwards;
  return r;
}

AttributionResults run_attribution(runtime::JobContext& ctx, const LoadedModel& m, const std::string& query,
                                   const std::string& instruction) {
  analysis::LensOptions lo;
  lo.instruction = instruction;
  lo.max_length = query_length(m);
  const auto ids = analysis::lens_query_ids(*m.tok, query, lo);
  analysis::AttributionOptions ao;
  ao.baseline_id = analysis::neutral_token_id(*m.tok);
  ao.check_cancel = [&] { ctx.check_cancel(); };
  AttributionResults r;
  r.baseline_id = ao.baseline_id;
  r.baseline_piece = text::readable_piece(*m.tok, ao.baseline_id);
  r.steps = ao.steps;
  std::vector<gen::EncodeMode> modes;
  if (m.adapter) modes.push_back(gen::EncodeMode::Generative);
  modes.push_back(gen::EncodeMode::Mean);
  for (auto mode : modes) {
    const gen::Adapter* ad = mode == gen::EncodeMode::Generative ? &m.adapter->adapter : nullptr;
    ctx.set_stage(fmt::format("attribute ({})", gen::to_string(mode)), ao.steps, "steps");
    ao.on_progress = [&](int64_t d) { ctx.set_done(d); };
    gen::EncodeOptions eo;  // the target: the query's own embedding, as encode makes it
    eo.mode = mode;
    eo.max_length = lo.max_length;
    const auto target = gen::encode_ids(*m.lm, ad, {gen::TokenRow(ids.begin(), ids.end())}, eo)[0];
    const auto a = analysis::integrated_gradients(*m.lm, ad, mode, ids, target, ao);
    AttributionResults::Space sp;
    sp.mode = gen::to_string(mode);
    sp.ids = a.ids;
    for (auto id : a.ids) sp.pieces.push_back(text::readable_piece(*m.tok, id));
    sp.scores = a.scores;
    sp.f_input = a.f_input;
    sp.f_baseline = a.f_baseline;
    sp.completeness_rel = a.completeness_rel();
    r.spaces.push_back(std::move(sp));
  }
  return r;
}

ArithmeticResults run_arithmetic(runtime::JobContext& ctx, const LoadedModel& m, const std::vector<std::string>& corpus,
                                 const std::string& corpus_path, const std::string& expression,
                                 const std::string& instruction) {
  if (!m.adapter) fail("embedding arithmetic needs an adapter: open a checkpoint or a run (Workspace tab)");
  const auto& ad = m.adapter->adapter;
  std::vector<analysis::ExprTerm> terms;
  try {
    terms = analysis::parse_embedding_expr(expression);
  } catch (const std::exception& e) {  // the parser speaks of the CLI's flag
    std::string msg = e.what();
    if (msg.rfind("--expr", 0) == 0) msg = "the expression" + msg.substr(6);
    fail("{}", msg);
  }
  for (const auto& t : terms)
    if (t.is_row && corpus.empty()) fail("row:{} needs an open corpus (Workspace tab)", t.row);
  analysis::DecodeOptions d;
  d.instruction = instruction;
  d.max_length = query_length(m);
  d.max_new_tokens = 48;
  ctx.set_stage("soft prompts of the terms", int64_t(terms.size()), "terms");
  const auto S = analysis::expr_soft_prompts(*m.lm, ad, *m.tok, terms, corpus, corpus_path, d);
  ctx.set_stage("decode");
  ArithmeticResults r;
  r.expression = expression;
  {
    torch::NoGradGuard ng;
    r.decoded = analysis::decode_soft_prompts(*m.lm, m.tok.get(), S, d)[0].text;
  }
  if (!corpus.empty()) {
    ctx.set_stage("neighbours of the point");
    auto E = analysis::embedding_of_soft_prompts(ad, S).contiguous();
    std::vector<float> e(E[0].data_ptr<float>(), E[0].data_ptr<float>() + E.size(1));
    r.neighbours = nearest_in_corpus(ctx, m, corpus, corpus_path, instruction, e);
  }
  return r;
}

TunedLensResults run_tuned_lens(runtime::JobContext& ctx, const LoadedModel& m, const std::string& query,
                                const std::string& instruction, const std::vector<std::string>& train_texts) {
  if (!m.adapter) fail("the tuned lens reads the special tokens: open a checkpoint or a run (Workspace tab)");
  TunedLensResults r;
  r.dir = (m.adapter->dir / "tuned-lens").string();
  analysis::TunedLensCurves curves;
  std::shared_ptr<const analysis::TunedLens> lens;
  const auto meta = m.adapter->dir / "tuned-lens" / "tuned_lens.json";
  if (!std::filesystem::exists(meta)) {
    if (train_texts.empty())
      fail("no tuned lens for this checkpoint yet ({}): press Train, or run genlens tuned-lens train", r.dir);
    const auto states = analysis::special_position_states(*m.lm, m.adapter->adapter, *m.tok, train_texts,
                                                          m.adapter->meta.instruction, query_length(m), &ctx);
    lens = std::make_shared<const analysis::TunedLens>(
        analysis::train_tuned_lens(*m.lm, states, m.adapter->adapter.shape().n_special(), {}, curves, &ctx));
    analysis::save_tuned_lens(r.dir, *lens, curves, *m.lm, m.model_dir, m.adapter->dir);
    r.trained_now = true;
    m.tuned = LoadedModel::TunedLensFile{std::filesystem::last_write_time(meta), lens, curves};
  } else if (const auto written = std::filesystem::last_write_time(meta); m.tuned && m.tuned->written == written) {
    lens = m.tuned->lens;  // (jobs run one at a time under CoreSession::compute)
    curves = m.tuned->curves;
  } else {
    lens = std::make_shared<const analysis::TunedLens>(analysis::load_tuned_lens(r.dir, *m.lm, m.model_dir, &curves));
    m.tuned = LoadedModel::TunedLensFile{written, lens, curves};
  }
  ctx.set_stage("tuned lens");
  r.lens = run_lens(m, query, instruction, {}, lens.get());
  r.layers = curves.layers;
  r.kl_logit = curves.kl_logit;
  r.kl_tuned = curves.kl_tuned;
  r.train_texts = curves.train_texts;
  r.held_texts = curves.held_texts;
  return r;
}

analysis::LatentLensResult run_latent(const LoadedModel& m, const std::string& index_dir, const std::string& query,
                                      const std::string& instruction, int64_t encoder_layer, int64_t top_k) {
  std::shared_ptr<analysis::LatentIndex> idx;
  {
    std::lock_guard<std::mutex> lk(m.index_mu);
    auto& slot = m.indexes[index_dir];
    if (!slot) slot = std::shared_ptr<analysis::LatentIndex>(analysis::LatentIndex::open(index_dir));
    idx = slot;
  }
  analysis::LatentLensOptions o;
  o.instruction = instruction;
  o.max_length = query_length(m);
  o.encoder_layer = encoder_layer;
  o.top_k = top_k;
  return analysis::latent_lens(*m.lm, m.adapter ? &m.adapter->adapter : nullptr, *m.tok, *idx, query, o);
}

analysis::Points encode(runtime::JobContext* ctx, const LoadedModel& m, const std::vector<std::string>& texts,
                        const std::string& mode, const std::string& instruction) {
  gen::EncodeOptions o;
  o.mode = gen::parse_encode_mode(mode);
  o.max_length = query_length(m);
  if (o.mode == gen::EncodeMode::Generative && !m.adapter)
    fail("generative embeddings need an adapter: open a checkpoint or a run (Workspace tab)");
  if (ctx) {
    o.on_progress = [ctx](int64_t done) { ctx->set_done(done); };
    o.check_cancel = [ctx] { ctx->check_cancel(); };
  }
  auto t = gen::encode_texts(*m.lm, m.adapter ? &m.adapter->adapter : nullptr, *m.tok, texts, instruction, o);
  return points_of(t);
}

std::vector<std::string> train_warnings(int steps, int warmup, double lr) {
  gen::TrainSettings t;
  t.steps = steps;
  t.warmup_steps = warmup;
  t.lr = lr;
  return t.warnings();
}

analysis::Points load_points(const fs::path& path) {
  auto t = io::load_npy(path);
  if (t.dim() != 2 || !t.is_floating_point())
    fail("{}: expected a float matrix [N, D], found rank {} ({})", path.string(), t.dim(),
         t.is_floating_point() ? "float" : "integer");
  return points_of(t);
}

}  // namespace genlens::studio
