// The demo pipeline (see pipeline.h). Each stage records what it produced (and how long
// it took) in WORKSPACE/stages.json once its outputs are written; a rerun skips recorded
// stages, and the two long ones (responses, adapter) resume from their own files.
#include "core/demo/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "core/analysis/decode.h"
#include "core/analysis/eval.h"
#include "core/analysis/lens.h"
#include "core/analysis/points_tensor.h"
#include "core/analysis/projection.h"
#include "core/data/demo_world.h"
#include "core/data/responses.h"
#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/gen/trainer.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/model/checkpoint.h"
#include "core/model/generate.h"
#include "core/model/pretrain.h"
#include "core/teach/teacher.h"
#include "core/text/chat_template.h"
#include "core/text/spm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kFormatVersion = 1;
const std::vector<std::string> kModes = {"generative", "mean", "last"};

// Sizes of the two variants. The quick one is what CI runs (<= 90 s on 2 cores).
struct Plan {
  double world_scale;
  int64_t lm_steps, lm_batch;
  double lm_lr;
  int64_t adapter_steps, adapter_batch;
  int64_t hidden, layers, intermediate, vocab;
};
Plan plan_for(bool quick) {
  // Measured on the helpdesk world (README "The demo world"): a 1,500-piece vocabulary
  // keeps the cue and answer words whole (the lens reads words, not fragments); a wider
  // or deeper LM, or more LM steps, did not answer held-out wordings better here. The
  // quick variant (CI) trains the adapter for 300 steps instead of 500.
  if (quick) return {1.0, 300, 32, 3e-3, 300, 32, 128, 2, 352, 1500};
  return {1.0, 300, 32, 3e-3, 500, 32, 128, 2, 352, 1500};
}

struct Workspace {
  fs::path root;
  fs::path world() const { return root / "world"; }
  fs::path model() const { return root / "model"; }
  fs::path responses() const { return root / "responses.jsonl"; }
  fs::path run() const { return root / "run"; }
  fs::path tasks() const { return root / "tasks"; }
  fs::path eval() const { return root / "eval"; }
  fs::path maps() const { return root / "maps"; }
  fs::path lens() const { return root / "lens"; }
  fs::path stages() const { return root / "stages.json"; }
  fs::path report() const { return root / "report.json"; }
};

// The workspace's world/*.jsonl (written by the world stage; a hand-edited or damaged file
// is an error naming FILE:LINE and the field, not a JSON exception).
std::vector<WorldExample> read_examples(const fs::path& p) {
  std::vector<WorldExample> out;
  io::JsonlReader r(p);
  io::Json row;
  while (r.next(row)) {
    WorldExample e;
    e.id = r.get_id(row);
    e.question = r.get_string(row, "question");
    e.answer = r.get_string(row, "answer");
    e.category = r.get_string_opt(row, "category").value_or("");
    e.label = r.get_string_opt(row, "label").value_or("");
    e.answer_key = r.get_string_opt(row, "answer_key").value_or("");
    if (auto h = row.find("harmful"); h != row.end()) {
      if (!h->is_boolean()) fail("{}: field \"harmful\": expected true or false, found {}", r.where(), h->dump());
      e.harmful = h->get<bool>();
    }
    if (auto sig = row.find("signature"); sig != row.end()) {
      if (!sig->is_array()) fail("{}: field \"signature\": expected an array of strings", r.where());
      for (auto& w : *sig) {
        if (!w.is_string()) fail("{}: field \"signature\": expected an array of strings, found {}", r.where(), w.dump());
        e.signature.push_back(w.get<std::string>());
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<WorldExample> eval_examples(const std::vector<WorldExample>& rows) {
  std::vector<WorldExample> out;
  for (auto& e : rows)
    if (e.category != "restate") out.push_back(e);
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A top-k piece counts as a response word when, without SentencePiece's word marker,
// it is at least 3 letters and begins one of the signature words.
bool piece_hits(const std::string& piece, const std::vector<std::string>& signature) {
  std::string p = piece;
  const std::string marker = "\xe2\x96\x81";  // U+2581
  while (p.rfind(marker, 0) == 0) p = p.substr(marker.size());
  p = lower(p);
  if (p.size() < 3) return false;
  for (auto& w : signature)
    for (size_t at = 0; (at = w.find(p, at)) != std::string::npos; ++at)
      if (at == 0 || !std::isalnum(static_cast<unsigned char>(w[at - 1]))) return true;
  return false;
}

}  // namespace

const std::vector<std::string>& demo_stage_names() {
  static const std::vector<std::string> names = {"world",   "tokenizer", "lm",   "lm-check", "responses",
                                                 "adapter", "eval",      "maps", "lens"};
  return names;
}

const std::vector<double>& demo_stage_weights() {
  // From the measured default run (README "The demo world"): pretraining and the
  // adapter dominate.
  static const std::vector<double> w = {0.01, 0.01, 0.34, 0.01, 0.07, 0.53, 0.01, 0.01, 0.01};
  return w;
}

const std::vector<DemoPhase>& demo_stage_phases(const std::string& stage) {
  // The job's stage line while each stage runs (the ctx.set_stage of the code it calls:
  // responses.cpp, teacher.cpp, trainer.cpp, eval.cpp), in the order they come, with the
  // share of the stage done when each ends: one bar through a stage whose parts each
  // count from 0 again (the adapter's "tokenize" 100%, then "train" 0/300 steps).
  static const std::map<std::string, std::vector<DemoPhase>> phases = [] {
    std::map<std::string, std::vector<DemoPhase>> m;
    m["lm"] = {{"lm: pretraining", 1.0}};
    m["responses"] = {{"tokenize", 0.02}, {"generate", 1.0}};
    // The demo's mean-pool teacher is computed between "tokenize" and "train" (a phase of
    // its own when it reports one): the few seconds it takes are the jump to 0.06.
    m["adapter"] = {{"tokenize", 0.01}, {"teacher", 0.06}, {"train", 1.0}};
    // run_eval: per mode, in kModes's order, "encode MODE" (most of the time), then "score MODE".
    std::vector<DemoPhase> ev;
    const double per_mode = 1.0 / static_cast<double>(kModes.size());
    for (size_t i = 0; i < kModes.size(); ++i) {
      ev.push_back({"encode " + kModes[i], per_mode * (static_cast<double>(i) + 0.9)});
      ev.push_back({"score " + kModes[i], per_mode * static_cast<double>(i + 1)});
    }
    ev.back().end = 1.0;
    m["eval"] = ev;
    return m;
  }();
  static const std::vector<DemoPhase> none;
  auto it = phases.find(stage);
  return it == phases.end() ? none : it->second;
}

double overall_fraction(int stage, const std::string& phase, int64_t done, int64_t total) {
  const auto& w = demo_stage_weights();
  const auto& names = demo_stage_names();
  const int n = static_cast<int>(w.size());
  double f = 0;
  for (int i = 0; i < stage && i < n; ++i) f += w[static_cast<size_t>(i)];
  if (stage < 0 || stage >= n) return std::min(1.0, f);
  const std::string& name = names[static_cast<size_t>(stage)];
  const double part = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  // Where in the stage: a listed phase spans from the previous one's end to its own; a
  // stage without phases is one phase under its own name. Anything else -- the stage's
  // own name as it starts, the previous stage's last phase still on the job's line in
  // the moment between the two -- is the stage's beginning.
  double within = 0;
  const auto& phases = demo_stage_phases(name);
  if (phases.empty()) {
    if (phase == name) within = part;
  } else {
    double begin = 0;
    for (auto& p : phases) {
      if (phase.rfind(p.name, 0) == 0) {
        within = begin + (p.end - begin) * part;
        break;
      }
      begin = p.end;
    }
  }
  return std::min(1.0, f + w[static_cast<size_t>(stage)] * within);
}

fs::path default_demo_workspace() {
  if (const char* d = std::getenv("GENLENS_DEMO_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "genlens/demo";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache/genlens/demo";
  return fs::current_path() / "genlens-demo";
}

bool demo_report_exists(const fs::path& ws) { return fs::exists(ws / "report.json"); }

json load_demo_report(const fs::path& ws) {
  if (!demo_report_exists(ws))
    fail("{}: no report.json (build the demo workspace with `genlens demo --out {}`)", ws.string(), ws.string());
  return io::read_json_file(ws / "report.json");
}

namespace {

// One run of the pipeline: what the stages read and what they hand on, filled in as the
// run goes (the model once the lm stage has made it, the adapter once its stage has).
struct DemoRun {
  DemoRun(runtime::JobContext& job, const DemoOptions& o)
      : ctx(job),
        options(o),
        ws{o.workspace.empty() ? default_demo_workspace() : o.workspace},
        plan(plan_for(o.quick)),
        world_file(o.world_file.empty() ? default_world_file() : o.world_file) {}
  runtime::JobContext& ctx;
  const DemoOptions& options;
  Workspace ws;
  Plan plan;
  fs::path world_file;
  WorldData world;   // generated on every run: cheap, deterministic, and later stages read it
  json identity;     // demo.json: the (world, variant) the workspace belongs to
  json stages;       // stages.json: each finished stage's result and wall time
  int stages_started = 0;
  std::vector<WorldExample> train, heldout;  // the workspace's world files (held-out: no restatements)
  std::unique_ptr<text::Tokenizer> tok;
  text::ChatTemplate chat;
  std::shared_ptr<const model::DecoderLM> lm;
  std::vector<int64_t> eos;
  gen::LoadedAdapter adapter;
};

// The world is read, validated and generated before anything touches the workspace: a
// bad world file leaves it as it was, --force or not.
void generate_demo_world(DemoRun& run) {
  WorldOptions world_options;
  world_options.scale = run.plan.world_scale;
  run.world = generate_world(run.world_file, world_options);
  if (run.options.strict && !run.world.shortfalls.empty()) {
    std::string lines;
    for (auto& s : run.world.shortfalls) lines += "\n  " + s;
    fail("{}: the world cannot make what it asks for (--strict):{}", run.world_file.string(), lines);
  }
  for (auto& s : run.world.shortfalls) run.ctx.log("  world: shortfall: " + s);
}

// The workspace belongs to one (world, variant); anything else needs --force. Reads the
// finished stages.
void open_workspace(DemoRun& run) {
  const Workspace& ws = run.ws;
  const std::string world_text = io::read_file(run.world_file);
  run.identity = json{{"format", kFormatVersion},
                    {"world_file", fs::absolute(run.world_file).string()},
                    {"world_hash", gen::hex64(gen::fnv1a64(world_text.data(), world_text.size()))},
                    {"variant", run.options.quick ? "quick" : "default"}};
  if (run.options.force) {
    for (auto p : {ws.world(), ws.model(), ws.run(), ws.tasks(), ws.eval(), ws.maps(), ws.lens()}) fs::remove_all(p);
    for (auto p : {ws.responses(), ws.stages(), ws.report(), ws.root / "demo.json"}) fs::remove(p);
  }
  if (fs::exists(ws.root / "demo.json")) {
    const json have = io::read_json_file(ws.root / "demo.json");
    auto text = [&](const char* key) {
      return have.is_object() && have.contains(key) && have[key].is_string() ? have[key].get<std::string>()
                                                                              : std::string("?");
    };
    if (have != run.identity)
      fail("{}: this workspace was built for {} ({} variant); pass --force to rebuild it for {} ({} variant), "
           "or choose another --out", ws.root.string(), text("world_file"), text("variant"),
           run.identity["world_file"].get<std::string>(), run.identity["variant"].get<std::string>());
  } else {
    fs::create_directories(ws.root);
    io::write_file_atomic(ws.root / "demo.json", run.identity.dump(2) + "\n");
  }
  run.stages = fs::exists(ws.stages()) ? io::read_json_file(ws.stages()) : json::object();
  if (!run.stages.is_object())
    fail("{}: expected a JSON object of finished stages, found a JSON {}; pass --force to rebuild the workspace",
         ws.stages().string(), run.stages.type_name());
}

// Runs a stage unless stages.json records it; records its result and wall time.
void run_stage(DemoRun& run, const std::string& name, json (*build)(DemoRun&)) {
  const int n_stages = static_cast<int>(demo_stage_names().size());
  const int number = ++run.stages_started;
  if (run.options.on_stage) run.options.on_stage(number - 1, name);
  run.ctx.set_stage(name);
  if (run.stages.contains(name)) {
    run.ctx.log(fmt::format("  {}/{} {:<10} cached", number, n_stages, name));
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  json result = build(run);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result["seconds"] = sec;
  run.stages[name] = result;
  io::write_file_atomic(run.ws.stages(), run.stages.dump(2) + "\n");
  run.ctx.log(fmt::format("  {}/{} {:<10} done in {:.1f} s", number, n_stages, name, sec));
}

// 1. world: the examples, training queries and evaluation tasks as files.
json write_world(DemoRun& run) {
  const WorldData& w = run.world;
  fs::create_directories(run.ws.world());
  write_world_pairs(w.train, run.ws.world() / "train.jsonl");
  write_world_pairs(w.heldout, run.ws.world() / "heldout.jsonl");
  write_world_queries(w, run.ws.world() / "queries.jsonl");
  write_world_tasks(w, run.ws.tasks());
  return json{{"name", w.name}, {"train", w.train.size()}, {"heldout", w.heldout.size()},
              {"categories", w.categories}, {"passages", w.passages.size()},
              {"harmful_documents", w.harmful_documents.size()}, {"shortfalls", w.shortfalls}};
}

void read_world_files(DemoRun& run) {
  run.train = read_examples(run.ws.world() / "train.jsonl");
  run.heldout = eval_examples(read_examples(run.ws.world() / "heldout.jsonl"));
}

// 2. tokenizer: SentencePiece BPE on the training text (held-out words are new).
json train_tokenizer(DemoRun& run) {
  std::vector<std::string> lines;
  for (auto& e : run.train) lines.push_back(e.question), lines.push_back(e.answer);
  text::SpmTrainOptions so;
  so.hard_vocab_limit = false;
  so.user_defined_symbols = {"<|user|>", "<|assistant|>"};
  fs::create_directories(run.ws.model());
  text::train_sentencepiece(lines, static_cast<int>(run.plan.vocab), run.ws.model() / "tokenizer.model", so);
  json tc{{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"add_bos_token", true},
          {"add_eos_token", false}, {"chat_template", text::kDemoChatTemplate},
          {"tokenizer_class", "LlamaTokenizer"}, {"model_max_length", 512}};
  io::write_file_atomic(run.ws.model() / "tokenizer_config.json", tc.dump(2) + "\n");
  auto tok = text::load_sentencepiece(run.ws.model() / "tokenizer.model");
  return json{{"vocab_size", tok->vocab_size()}};
}

// 3. lm: the tiny chat LM, Llama architecture, pretrained on the chat-formatted pairs.
json pretrain_tiny_lm(DemoRun& run) {
  auto tok = text::load_sentencepiece(run.ws.model() / "tokenizer.model");
  model::ModelConfig cfg;
  cfg.model_type = "llama";
  cfg.vocab_size = tok->vocab_size();
  cfg.hidden_size = run.plan.hidden;
  cfg.intermediate_size = run.plan.intermediate;
  cfg.num_hidden_layers = run.plan.layers;
  cfg.num_attention_heads = 4;
  cfg.num_key_value_heads = 2;
  cfg.head_dim = run.plan.hidden / 4;
  cfg.rms_norm_eps = 1e-5;
  cfg.max_position_embeddings = 512;
  cfg.tie_word_embeddings = true;
  cfg.torch_dtype = "float32";
  cfg.bos_token_id = 1;
  cfg.eos_token_ids = {2};
  const fs::path init = run.ws.root / "model-init.tmp";
  model::InitOptions io_;
  io_.seed = 1;
  model::write_random_checkpoint(cfg, init, io_);
  auto lm = model::DecoderLM::load_trainable(init);
  auto chat = text::detect_chat_template(text::kDemoChatTemplate, "<s>");
  // Chat-formatted pairs exactly as `generate` will prompt the model (data::prompt_ids),
  // the answer and EOS after it. The loss covers the answer and EOS only: the model
  // must learn what to answer, not to predict the users' wording (which held-out
  // queries change anyway); the prompt-side loss only spends the small capacity.
  std::vector<model::LmSequence> seqs;
  for (auto& e : run.train) {
    model::LmSequence s;
    auto p = data::prompt_ids(*tok, chat, e.question, 256);
    auto a = tok->encode(e.answer, false);
    s.ids.assign(p.begin(), p.end());
    s.ids.insert(s.ids.end(), a.begin(), a.end());
    s.ids.push_back(2);
    s.loss_from = static_cast<int64_t>(p.size());
    seqs.push_back(std::move(s));
  }
  model::PretrainSettings ps;
  ps.steps = run.plan.lm_steps;
  ps.batch_size = run.plan.lm_batch;
  ps.lr = run.plan.lm_lr;
  ps.warmup_steps = std::max<int64_t>(10, run.plan.lm_steps / 20);
  ps.weight_decay = 0.01;
  ps.seed = 1;
  run.ctx.set_stage(fmt::format("lm: pretraining {:.2f}M parameters", cfg.num_parameters() / 1e6), ps.steps, "steps");
  auto res = model::pretrain_lm(run.ctx, *lm, seqs, ps);
  // The finished model directory: the tokenizer files are already in it.
  io::write_file_atomic(run.ws.model() / "config.json", cfg.to_json_string());
  io::write_file_atomic(run.ws.model() / "generation_config.json", cfg.generation_config_json());
  model::save_weights(*lm, run.ws.model() / "model.safetensors");
  fs::remove_all(init);
  return json{{"parameters", cfg.num_parameters()}, {"hidden_size", cfg.hidden_size},
              {"layers", cfg.num_hidden_layers}, {"vocab_size", cfg.vocab_size}, {"steps", res.steps},
              {"first_loss", res.first_loss}, {"final_loss", res.final_loss}, {"tokens", res.tokens}};
}

// Everything after the lm stage uses the model as any model is used: through the loader.
void load_model(DemoRun& run) {
  run.tok = text::load_tokenizer(run.ws.model());
  run.chat = text::load_chat_template(run.ws.model());
  run.lm = model::DecoderLM::load(run.ws.model());
  run.eos = {data::target_eos_id(*run.tok, *run.lm)};
}

std::string decode_text(const text::Tokenizer& tok, const std::vector<int64_t>& ids) {
  std::vector<text::TokenId> t(ids.begin(), ids.end());
  return tok.decode(t, true);
}

// 4. lm-check: how well the tiny LM answers held-out queries (right kind of response).
json check_lm_answers(DemoRun& run) {
  run.ctx.set_total(static_cast<int64_t>(run.heldout.size()));
  std::map<std::string, std::pair<int, int>> per_cat;
  int right = 0;
  std::vector<nlohmann::ordered_json> rows;
  model::GenerateOptions go;
  go.max_new_tokens = 40;
  go.eos_ids = run.eos;
  for (size_t i = 0; i < run.heldout.size(); i += 32) {
    run.ctx.check_cancel();
    std::vector<std::vector<int64_t>> prompts;
    const size_t end = std::min(run.heldout.size(), i + 32);
    for (size_t k = i; k < end; ++k) {
      auto p = data::prompt_ids(*run.tok, run.chat, run.heldout[k].question, 256);
      prompts.emplace_back(p.begin(), p.end());
    }
    auto outs = model::generate_from_ids(*run.lm, prompts, go);
    for (size_t k = i; k < end; ++k) {
      auto answer = decode_text(*run.tok, outs[k - i]);
      bool ok = right_kind(run.heldout[k], answer);
      right += ok;
      per_cat[run.heldout[k].category].first += ok;
      per_cat[run.heldout[k].category].second += 1;
      rows.push_back({{"id", run.heldout[k].id}, {"question", run.heldout[k].question}, {"answer", answer},
                      {"right_kind", ok}});
    }
    run.ctx.advance(static_cast<int64_t>(end - i));
  }
  io::write_file_atomic_with(run.ws.model() / "heldout_answers.jsonl", [&](const fs::path& tmp) {
    io::JsonlWriter w(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& r : rows) w.write(r);
  });
  json pc = json::object();
  for (auto& [c, v] : per_cat) pc[c] = double(v.first) / v.second;
  return json{{"heldout_accuracy", double(right) / std::max<size_t>(1, run.heldout.size())},
              {"n", run.heldout.size()}, {"per_category", pc}};
}

// 5. responses: the model's own answers to the training queries (the generate job).
json generate_own_responses(DemoRun& run) {
  data::GenerateSettings gs;
  gs.max_new_tokens = 48;
  gs.batch_size = 32;
  auto rep = data::generate_responses(run.ctx, *run.lm, *run.tok, run.chat, run.ws.world() / "queries.jsonl",
                                      run.ws.responses(), gs);
  return json{{"rows", rep.total}};
}

// 6. adapter: the LLM2Vec-Gen adapter, 10 thought + 10 compression tokens, recon + align,
//    mean-pool teacher, through the same Trainer as `genlens train`.
json train_adapter(DemoRun& run) {
  gen::TrainSettings ts;
  ts.steps = run.plan.adapter_steps;
  ts.batch_size = run.plan.adapter_batch;
  ts.lr = 3e-3;
  ts.warmup_steps = 20;
  ts.query_max_length = 128;
  ts.response_max_length = 64;
  ts.save_every = ts.steps;
  ts.keep = 1;
  ts.teacher_batch = 64;
  ts.teacher = "mean-pool";
  auto rows = data::read_responses(run.ws.responses());
  auto tokd = data::tokenize_train_data(rows, *run.tok, run.eos[0], ts, &run.ctx);
  gen::TrainerSetup setup;
  setup.lm = run.lm;
  setup.model_dir = run.ws.model();
  setup.data = std::move(tokd.data);
  setup.teacher = teach::make_teacher(ts.teacher, run.lm, std::move(tokd.teacher_texts), ts.teacher_batch);
  setup.settings = ts;
  setup.out_dir = run.ws.run();
  setup.resume = true;
  gen::Trainer trainer(std::move(setup));
  trainer.run(run.ctx);
  json last = json::object();
  if (!trainer.history().empty())
    for (auto& [k, v] : trainer.history().back().values) last[k] = v;
  return json{{"steps", trainer.step()}, {"checkpoint", trainer.last_checkpoint().string()}, {"last", last}};
}

// 7. eval: the held-out tasks in every mode, exactly `genlens eval --model model
//    --adapter run --tasks tasks --out eval`.
json evaluate_tasks(DemoRun& run) {
  const Workspace& ws = run.ws;
  analysis::EvalOptions eo;
  eo.model_dir = ws.model().string();
  eo.adapter = run.adapter.dir.string();
  eo.tasks_dir = ws.tasks();
  eo.modes = kModes;
  eo.out_dir = ws.eval();  // batch size and query length: the command's defaults, so the numbers are its numbers
  auto res = analysis::run_eval(eo, &run.ctx);
  json gains = json::object();
  for (auto& t : res.tasks)
    if (auto g = analysis::generative_gain(t)) gains[t.name] = *g;
  return json{{"results", (ws.eval() / "results.json").string()}, {"gain", gains}};
}

// Encodes texts in one mode -> Points [N, D] (the maps use the held-out queries).
analysis::Points encode(DemoRun& run, const std::vector<std::string>& texts, const std::string& instruction,
                        const std::string& mode) {
  gen::EncodeOptions eo;
  eo.mode = gen::parse_encode_mode(mode);
  eo.batch_size = 64;
  eo.check_cancel = [&] { run.ctx.check_cancel(); };
  const gen::Adapter* adapter = eo.mode == gen::EncodeMode::Generative ? &run.adapter.adapter : nullptr;
  return analysis::to_points(gen::encode_texts(*run.lm, adapter, *run.tok, texts, instruction, eo));
}

// 8. maps: the held-out queries embedded in each mode (with the clustering task's
//    instruction), UMAP and PCA to 2-D, one self-describing JSON per mode for the studio
//    plus the .npy arrays `genlens encode` / `genlens project` write.
json build_maps(DemoRun& run) {
  fs::create_directories(run.ws.maps());
  std::vector<std::string> texts, labels, categories, ids;
  for (auto& e : run.heldout) {
    texts.push_back(e.question);
    labels.push_back(e.label);
    categories.push_back(e.category);
    ids.push_back(e.id);
  }
  const std::string instruction = run.world.instructions.clustering;
  run.ctx.set_stage("maps", static_cast<int64_t>(kModes.size()), "modes");
  for (auto& mode : kModes) {
    auto x = encode(run, texts, instruction, mode);
    auto pc = analysis::pca(x, {});
    analysis::UmapOptions uo;
    uo.n_neighbors = std::min<int>(15, static_cast<int>(x.rows) - 1);
    uo.seed = 0;
    auto um = analysis::umap_fit(x, uo);
    auto t2 = [](const analysis::Points& p) {
      return torch::from_blob(const_cast<float*>(p.data.data()), {p.rows, p.cols}, torch::kFloat32).clone();
    };
    // emb-MODE.npy is what the studio's map reads instead of encoding the corpus again.
    io::save_npy(run.ws.maps() / ("emb-" + mode + ".npy"), t2(x));
    io::save_npy(run.ws.maps() / ("umap-" + mode + ".npy"), t2(um.embedding));
    io::save_npy(run.ws.maps() / ("pca-" + mode + ".npy"), t2(pc.coords));
    auto xy = [](const analysis::Points& p) {
      json a = json::array();
      for (int64_t r = 0; r < p.rows; ++r) a.push_back({p.at(r, 0), p.at(r, 1)});
      return a;
    };
    nlohmann::ordered_json m{{"mode", mode},
                             {"instruction", instruction},
                             {"n", x.rows},
                             {"dim", x.cols},
                             {"embeddings", "emb-" + mode + ".npy"},
                             {"umap", xy(um.embedding)},
                             {"pca", xy(pc.coords)},
                             {"pca_explained_variance_ratio", pc.explained_variance_ratio},
                             {"ids", ids},
                             {"labels", labels},
                             {"categories", categories},
                             {"texts", texts}};
    io::write_file_atomic(run.ws.maps() / (mode + ".json"), m.dump() + "\n");
    run.ctx.advance();
  }
  io::write_file_atomic_with(run.ws.maps() / "points.jsonl", [&](const fs::path& tmp) {
    io::JsonlWriter w(tmp, io::JsonlWriter::Mode::Truncate);
    for (size_t i = 0; i < texts.size(); ++i)
      w.write(nlohmann::ordered_json{{"id", ids[i]}, {"text", texts[i]}, {"label", labels[i]}, {"category", categories[i]}});
  });
  return json{{"points", texts.size()}, {"modes", kModes}, {"methods", {"umap", "pca"}}};
}

// 9. lens: the logit lens on held-out queries, the compression tokens at the last layer
//    (top-10 per position, as the reference reads them), and greedy decoding from the
//    soft prompts alone (analysis/lens.h, analysis/decode.h).
json read_lens(DemoRun& run) {
  fs::create_directories(run.ws.lens());
  run.ctx.set_stage("lens", static_cast<int64_t>(run.heldout.size()), "queries");
  int lens_hits = 0, decode_right = 0;
  std::map<std::string, std::pair<int, int>> lens_cat, dec_cat;
  std::vector<nlohmann::ordered_json> rows;
  analysis::LensOptions lo;
  lo.top_k = 10;
  lo.layers = "-1";
  lo.input_lens_top_k = 0;
  analysis::DecodeOptions dopt;
  dopt.max_new_tokens = 40;
  dopt.model_answer = false;  // the model's own answers are model/heldout_answers.jsonl
  std::vector<analysis::LensResult> lens_results;
  for (size_t i = 0; i < run.heldout.size(); i += 32) {
    run.ctx.check_cancel();
    const size_t end = std::min(run.heldout.size(), i + 32);
    std::vector<std::string> qs;
    for (size_t k = i; k < end; ++k) qs.push_back(run.heldout[k].question);
    auto dec = analysis::decode_queries(*run.lm, run.adapter.adapter, *run.tok, qs, dopt);
    for (size_t k = i; k < end; ++k) {
      const auto& e = run.heldout[k];
      auto lr = analysis::logit_lens(*run.lm, &run.adapter.adapter, *run.tok, e.question, lo);
      std::vector<std::string> words;
      bool hit = false;
      for (size_t p = 0; p < lr.positions.size(); ++p) {
        if (lr.positions[p].kind != analysis::PositionKind::Compression) continue;
        for (auto& sc : lr.cell(0, p).top) {
          if (std::find(words.begin(), words.end(), sc.text) == words.end()) words.push_back(sc.text);
          hit = hit || piece_hits(sc.piece, e.signature);
        }
      }
      const auto& d = dec[k - i];
      const bool right = right_kind(e, d.from_embedding.text);
      lens_hits += hit, decode_right += right;
      lens_cat[e.category].first += hit, lens_cat[e.category].second++;
      dec_cat[e.category].first += right, dec_cat[e.category].second++;
      rows.push_back({{"id", e.id},
                       {"question", e.question},
                       {"category", e.category},
                       {"signature", e.signature},
                       {"lens_top10", words},
                       {"lens_hit", hit},
                       {"decoded", d.from_embedding.text},
                       {"decode_right_kind", right}});
      lens_results.push_back(std::move(lr));
      run.ctx.advance();
    }
  }
  io::write_file_atomic_with(run.ws.lens() / "samples.jsonl", [&](const fs::path& tmp) {
    io::JsonlWriter w(tmp, io::JsonlWriter::Mode::Truncate);
    for (auto& r : rows) w.write(r);
  });
  // The paper's view: words that dominate the compression tokens over all held-out
  // queries, and per category.
  auto summary = [&](const std::vector<analysis::LensResult>& rs) {
    json a = json::array();
    for (auto& w : analysis::summarize_lens(rs, *run.tok, lo)) a.push_back(w.text);
    return a;
  };
  json by_cat = json::object();
  for (auto& c : run.world.categories) {
    std::vector<analysis::LensResult> rs;
    for (size_t k = 0; k < run.heldout.size(); ++k)
      if (run.heldout[k].category == c) rs.push_back(lens_results[k]);
    if (!rs.empty()) by_cat[c] = summary(rs);
  }
  auto rates = [](auto& m) {
    json j = json::object();
    for (auto& [c, v] : m) j[c] = double(v.first) / v.second;
    return j;
  };
  // A few examples for the printed report: the first held-out query of the first
  // category, of a middle one, and of the first harmful one.
  json examples = json::array();
  std::set<std::string> shown;
  auto show = [&](auto pred) {
    for (size_t k = 0; k < run.heldout.size(); ++k)
      if (pred(run.heldout[k]) && shown.insert(run.heldout[k].category).second) {
        examples.push_back(json::parse(rows[k].dump()));
        return;
      }
  };
  if (!run.world.categories.empty()) {
    show([&](const WorldExample& e) { return e.category == run.world.categories.front(); });
    show([&](const WorldExample& e) { return e.category == run.world.categories[run.world.categories.size() / 2]; });
  }
  show([&](const WorldExample& e) { return e.harmful; });
  const double n = std::max<size_t>(1, run.heldout.size());
  return json{{"n", run.heldout.size()},
              {"examples", examples},
              {"lens_hit_rate", lens_hits / n},
              {"decode_right_kind_rate", decode_right / n},
              {"lens_per_category", rates(lens_cat)},
              {"decode_per_category", rates(dec_cat)},
              {"dominant_words", by_cat}};
}

// The report: everything a person (or CI) needs, in one file.
json write_report(DemoRun& run) {
  const Workspace& ws = run.ws;
  json& stages = run.stages;
  json world_report = stages["world"].is_object() ? stages["world"] : json::object();
  world_report["shortfalls"] = run.world.shortfalls;  // the world as it is now (a cached stage may predate the list)
  json report{{"workspace", fs::absolute(ws.root).string()},
              {"world", world_report},
              {"variant", run.identity["variant"]},
              {"world_file", run.identity["world_file"]},
              {"tokenizer", stages["tokenizer"]},
              {"lm", stages["lm"]},
              {"lm_check", stages["lm-check"]},
              {"responses", stages["responses"]},
              {"adapter", stages["adapter"]},
              {"eval", io::read_json_file(ws.eval() / "results.json")},
              {"lens", stages["lens"]}};
  // Seconds per stage in pipeline order (a stage cached from an earlier run keeps the
  // time it took then), and where the time went.
  nlohmann::ordered_json timings;
  double total = 0;
  for (auto& name : demo_stage_names()) {
    const double sec = stages.contains(name) ? stages[name].value("seconds", 0.0) : 0.0;
    timings[name] = sec;
    total += sec;
  }
  timings["total"] = total;
  report["timings"] = timings;
  report["maps"] = stages["maps"];
  report["files"] = {{"model", ws.model().string()},       {"responses", ws.responses().string()},
                     {"adapter", run.adapter.dir.string()},    {"tasks", ws.tasks().string()},
                     {"eval", (ws.eval() / "results.json").string()}, {"maps", ws.maps().string()},
                     {"lens", (ws.lens() / "samples.jsonl").string()}, {"report", ws.report().string()}};
  io::write_file_atomic(ws.report(), report.dump(2) + "\n");
  return report;
}

}  // namespace

json run_demo(runtime::JobContext& ctx, const DemoOptions& o) {
  DemoRun run(ctx, o);
  generate_demo_world(run);
  open_workspace(run);
  run_stage(run, "world", write_world);
  read_world_files(run);
  run_stage(run, "tokenizer", train_tokenizer);
  run_stage(run, "lm", pretrain_tiny_lm);
  load_model(run);
  run_stage(run, "lm-check", check_lm_answers);
  run_stage(run, "responses", generate_own_responses);
  run_stage(run, "adapter", train_adapter);
  run.adapter = gen::load_adapter(gen::resolve_adapter_dir(run.ws.run()), *run.lm, run.ws.model());
  run_stage(run, "eval", evaluate_tasks);
  run_stage(run, "maps", build_maps);
  run_stage(run, "lens", read_lens);
  return write_report(run);
}

}  // namespace genlens::demo
