// The demo pipeline's stages (demo_run.h) up to the adapter: the workspace, the world,
// the tokenizer, the tiny LM and its check, its own responses, the adapter. Each builds its
// outputs in the workspace and returns what stages.json records of it.
#include "core/demo/demo_run.h"

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
#include "core/text/unicode.h"
#include "core/text/prompt.h"
#include "core/util/hash.h"
#include "core/util/error.h"

namespace genlens::demo::stages {

namespace {

constexpr int kFormatVersion = 1;

std::vector<WorldExample> eval_examples(const std::vector<WorldExample>& rows) {
  std::vector<WorldExample> out;
  for (auto& e : rows)
    if (e.category != "restate") out.push_back(e);
  return out;
}

}  // namespace

Plan plan_for(bool quick) {
  // Measured on the helpdesk world (README "The demo world"): a 1,500-piece vocabulary
  // keeps the cue and answer words whole (the lens reads words, not fragments); a wider
  // or deeper LM, or more LM steps, did not answer held-out wordings better here. The
  // quick variant (CI) trains the adapter for 300 steps instead of 500.
  if (quick) return {1.0, 300, 32, 3e-3, 300, 32, 128, 2, 352, 1500};
  return {1.0, 300, 32, 3e-3, 500, 32, 128, 2, 352, 1500};
}

gen::TrainSettings adapter_settings(const Plan& plan) {
  // The rest are `genlens train`'s defaults: 10 thought + 10 compression tokens,
  // recon + align at weight 1, seed 42. Queries and responses of the demo world are short.
  gen::TrainSettings ts;
  ts.steps = plan.adapter_steps;
  ts.batch_size = plan.adapter_batch;
  ts.lr = 3e-3;
  ts.warmup_steps = 20;
  ts.query_max_length = 128;
  ts.response_max_length = 64;
  ts.save_every = ts.steps;
  ts.keep = 1;
  ts.teacher_batch = 64;
  ts.teacher = "mean-pool";
  return ts;
}

DemoRun::DemoRun(runtime::JobContext& job, const DemoOptions& o)
    : ctx(job),
      options(o),
      ws{o.workspace.empty() ? default_demo_workspace() : o.workspace},
      plan(plan_for(o.quick)),
      world_file(o.world_file.empty() ? default_world_file() : o.world_file) {}


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
                    {"world_hash", util::hex64(util::fnv1a64(world_text.data(), world_text.size()))},
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
  run.train = read_world_examples(run.ws.world() / "train.jsonl");
  run.heldout = eval_examples(read_world_examples(run.ws.world() / "heldout.jsonl"));
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
  // Chat-formatted pairs exactly as `generate` will prompt the model (text::prompt_ids),
  // the answer and EOS after it. The loss covers the answer and EOS only: the model
  // must learn what to answer, not to predict the users' wording (which held-out
  // queries change anyway); the prompt-side loss only spends the small capacity.
  std::vector<model::LmSequence> seqs;
  for (auto& e : run.train) {
    model::LmSequence s;
    auto p = text::prompt_ids(*tok, chat, e.question, 256);
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
      auto p = text::prompt_ids(*run.tok, run.chat, run.heldout[k].question, 256);
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
  const gen::TrainSettings ts = adapter_settings(run.plan);
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


}  // namespace genlens::demo::stages
