// The official ecosystem: LLM2Vec-Gen checkpoints in (import) and out (export), PEFT
// LoRA merging and the LLM2Vec teacher, each checked against the independent plain-
// PyTorch reference tests/reference/llm2vec_gen_ref.py (Debian's python3-torch).
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <random>

#include "core/gen/checkpoint.h"
#include "core/gen/encoder.h"
#include "core/interop/official.h"
#include "core/interop/run_config.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/torch_pickle.h"
#include "core/model/lora.h"
#include "core/teach/teacher.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "tests/gen_fixtures.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

test::RunResult pyref(const std::string& args) {
  auto script = test::source_dir() / "tests/reference/llm2vec_gen_ref.py";
  return test::run_command(test::system_python() + " " + q(script) + " " + args);
}

void require_ok(const test::RunResult& r) {
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

std::vector<gen::TokenRow> id_rows(int n, uint64_t seed, int32_t vocab = 512) {
  std::mt19937_64 rng(seed);
  std::vector<gen::TokenRow> rows;
  for (int i = 0; i < n; ++i) {
    gen::TokenRow r;
    int len = 3 + static_cast<int>(rng() % 9);
    for (int j = 0; j < len; ++j) r.push_back(10 + static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab - 10)));
    rows.push_back(r);
  }
  return rows;
}

fs::path write_ids(const fs::path& p, const std::vector<gen::TokenRow>& rows) {
  test::write_file(p, nlohmann::json(rows).dump());
  return p;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

torch::Tensor encode(const model::DecoderLM& lm, const gen::Adapter& a, const std::vector<gen::TokenRow>& rows) {
  gen::EncodeOptions eo;
  eo.batch_size = 3;  // several padded batches
  return gen::encode_ids(lm, &a, rows, eo);
}

// A synthetic official checkpoint for the tiny qwen3 (vocab 512), imported by the CLI.
struct Imported {
  fs::path ckpt, adapter;
};
Imported make_and_import(const fs::path& root, int thought, int compression, const std::string& extra) {
  auto model = test::tiny_model_dir("qwen3");
  Imported r{root / "official", root / "imported"};
  require_ok(pyref("make-official --model " + q(model) + " --out " + q(r.ckpt) + " --thought " + std::to_string(thought) +
                 " --compression " + std::to_string(compression) + " " + extra));
  auto imp = test::run_genlens("import llm2vec-gen --checkpoint " + q(r.ckpt) + " --model " + q(model) + " --out " +
                               q(r.adapter));
  require_ok(imp);
  return r;
}

}  // namespace

TEST_CASE("official: import of a synthetic official checkpoint (0+10 and 10+10) encodes like the Python reference") {
  auto model = test::tiny_model_dir("qwen3");
  auto lm = model::DecoderLM::load(model);
  auto rows = id_rows(7, 3);
  struct Layout {
    int thought, compression;
    std::string extra;
  };
  for (const Layout& L : {Layout{0, 10, "--full-matrix --seed 1"}, Layout{10, 10, "--key-style token_adapter --seed 2"}}) {
    CAPTURE(L.thought);
    test::TempDir tmp("official-import");
    auto im = make_and_import(tmp.path, L.thought, L.compression, L.extra);
    auto la = gen::load_adapter(im.adapter, *lm, model);
    CHECK(la.meta.shape.n_thought == L.thought);
    CHECK(la.meta.shape.n_compression == L.compression);
    CHECK(la.meta.shape.teacher_dim == 24);
    CHECK(la.meta.teacher_kind == "official");
    require_ok(pyref("encode --model " + q(model) + " --checkpoint " + q(im.ckpt) + " --ids " +
                   q(write_ids(tmp / "ids.json", rows)) + " --out " + q(tmp / "ref.npy")));
    auto want = io::load_npy(tmp / "ref.npy");
    auto got = encode(*lm, la.adapter, rows);
    double d = max_abs_diff(got, want);
    MESSAGE("import " << L.thought << "+" << L.compression << ": max |genlens - reference| = " << d
                      << " (embedding scale " << want.abs().max().item<double>() << ")");
    CHECK(d < 1e-5);
  }
}

TEST_CASE("official: export -> import is bit-identical, the official loader's way reproduces our embeddings") {
  auto model = test::tiny_model_dir("qwen3");
  auto lm = model::DecoderLM::load(model);
  test::TempDir tmp("official-export");
  for (int thought : {0, 10}) {
    CAPTURE(thought);
    gen::AdapterShape shape;
    shape.n_thought = thought;
    shape.n_compression = 10;
    shape.hidden = lm->config().hidden_size;
    shape.teacher_dim = 20;
    gen::Adapter a(shape, torch::kCPU);
    a.init_random(*lm, 9 + thought);
    gen::AdapterMeta meta;
    meta.base = gen::BaseModelIdentity::of(*lm, model);
    meta.shape = shape;
    meta.teacher_kind = "mean-pool";
    meta.teacher_spec = "mean-pool";
    gen::CheckpointFiles f;
    f.adapter = &a;
    f.meta = &meta;
    auto src = tmp / ("src" + std::to_string(thought)), out = tmp / ("exp" + std::to_string(thought)),
         back = tmp / ("back" + std::to_string(thought));
    gen::write_checkpoint(src, f);
    require_ok(test::run_genlens("export llm2vec-gen --model " + q(model) + " --adapter " + q(src) + " --out " + q(out)));
    for (auto* name : {"encoder/adapter_model.safetensors", "encoder/adapter_config.json", "encoder/config.json",
                       "reconstruction_mlp", "alignment_mlp", "encoder_decoder_config.json", "run_config.yml"})
      CHECK_MESSAGE(fs::exists(out / name), name);
    CHECK(io::read_json_file(out / "encoder_decoder_config.json")["encoding_mode"] == "last_10_tokens");
    // The heads hold plain dicts only: no TorchScript type tag that torch.load(weights_only=True),
    // torch >= 2.6's default, refuses (the reference below loads them that way).
    for (auto* name : {"reconstruction_mlp", "alignment_mlp"}) {
      CHECK(test::read_file(out / name).find("restore_type_tag") == std::string::npos);
      CHECK(test::read_file(out / name).find("torch.jit") == std::string::npos);
    }
    CHECK(test::read_file(out / "run_config.yml").find("special_tokens: ['<question1>', '<question2>'") != std::string::npos);
    require_ok(test::run_genlens("import llm2vec-gen --checkpoint " + q(out) + " --model " + q(model) + " --out " + q(back)));
    auto la = gen::load_adapter(back, *lm, model);
    for (auto& [n, t] : a.named_parameters())
      for (auto& [m, u] : la.adapter.named_parameters())
        if (n == m) CHECK_MESSAGE(torch::equal(t, u), n);
    // The official loader's way: torch.load of the pickles, the PEFT safetensors.
    auto rows = id_rows(5, 11);
    require_ok(pyref("encode --model " + q(model) + " --checkpoint " + q(out) + " --ids " +
                   q(write_ids(tmp / "ids.json", rows)) + " --out " + q(tmp / "ref.npy")));
    double d = max_abs_diff(encode(*lm, a, rows), io::load_npy(tmp / "ref.npy"));
    MESSAGE("export " << thought << "+10: max |genlens - Python loading the export| = " << d);
    CHECK(d < 1e-5);
  }
}

TEST_CASE("official: run_config.yml is read as the official loader reads it (yaml.safe_load)") {
  test::TempDir tmp("official-runconfig");
  auto read = [&](const std::string& text) {
    test::write_file(tmp / "run_config.yml", text);
    return interop::read_run_config(tmp / "run_config.yml");
  };
  // As save_args_to_yaml writes it: str() values, groups appended with blank lines between.
  auto rc = read("model_name_or_path: Qwen/Qwen3-0.6B\ntorch_dtype: bfloat16\nuse_peft_for_encoder: False\n"
                 "special_tokens: ['<question1>', '<question2>', '<question3>']\nlora_r: None\n\n"
                 "report_to: ['wandb']\nfsdp_config: {'min_num_params': 0, 'xla': False}\nhub_token: <HUB_TOKEN>\n\n");
  REQUIRE(rc.special_tokens);
  CHECK(*rc.special_tokens == std::vector<std::string>{"<question1>", "<question2>", "<question3>"});
  CHECK(rc.model_name_or_path == "Qwen/Qwen3-0.6B");
  CHECK(rc.torch_dtype == "bfloat16");
  {  // Debian's PyYAML, the official loader's reader, sees the same three fields.
    auto py = test::run_command(test::system_python() + " -c " +
                                q("import yaml,sys; d = yaml.safe_load(open(sys.argv[1])); "
                                  "print(len(d['special_tokens']), d['model_name_or_path'], d['torch_dtype'])") +
                                " " + q(tmp / "run_config.yml"));
    INFO(py.output);
    CHECK(py.exit_code == 0);
    CHECK(py.output.find("3 Qwen/Qwen3-0.6B bfloat16") != std::string::npos);
  }
  // None is "not said"; a key written again in a later group wins, as in PyYAML.
  rc = read("special_tokens: None\ntorch_dtype: None\n\nmodel_name_or_path: a\n\nmodel_name_or_path: b\n");
  CHECK_FALSE(rc.special_tokens);
  CHECK(rc.torch_dtype.empty());
  CHECK(rc.model_name_or_path == "b");
  // genlens' own earlier exports wrote a block list.
  rc = read("special_tokens:\n- <question1>\n- <question2>\n");
  REQUIRE(rc.special_tokens);
  CHECK(rc.special_tokens->size() == 2);
  // A str() value that breaks YAML elsewhere in the file: the three fields are still read.
  rc = read("instruction: Given a question: find the answer\nspecial_tokens: ['<a>', '<b>']\ntorch_dtype: float32\n");
  REQUIRE(rc.special_tokens);
  CHECK(rc.special_tokens->size() == 2);
  CHECK(rc.torch_dtype == "float32");
  // What the export writes is Python's spelling of the list.
  CHECK(interop::python_list_line("special_tokens", {"<q1>", "<q2>"}) == "special_tokens: ['<q1>', '<q2>']");
}

TEST_CASE("official: export of a model with a tokenizer adds <question1..N> after the vocabulary") {
  auto model = test::tiny_qwen3_text_model();
  auto lm = model::DecoderLM::load(model);
  test::TempDir tmp("official-tok");
  gen::AdapterShape shape;
  shape.n_thought = 0;
  shape.n_compression = 10;
  shape.hidden = lm->config().hidden_size;
  shape.teacher_dim = lm->config().hidden_size;
  gen::Adapter a(shape, torch::kCPU);
  a.init_random(*lm, 1);
  gen::AdapterMeta meta;
  meta.base = gen::BaseModelIdentity::of(*lm, model);
  meta.shape = shape;
  meta.teacher_kind = "mean-pool";
  gen::CheckpointFiles f;
  f.adapter = &a;
  f.meta = &meta;
  gen::write_checkpoint(tmp / "a", f);
  require_ok(test::run_genlens("export llm2vec-gen --model " + q(model) + " --adapter " + q(tmp / "a") + " --out " +
                               q(tmp / "o") + " --model-name Qwen/Qwen3-0.6B"));
  auto tok = text::load_tokenizer(tmp / "o");
  auto first = tok->added_token_id("<question1>"), last = tok->added_token_id("<question10>");
  REQUIRE(first.has_value());
  REQUIRE(last.has_value());
  CHECK(*first == 151669);  // len(tokenizer) of Qwen3, as HF's add_special_tokens gives
  CHECK(*last == 151678);
  auto acfg = io::read_json_file(tmp / "o/encoder/adapter_config.json");
  CHECK(acfg["token_indices"][0] == 151669);
  CHECK(acfg["peft_type"] == "TRAINABLE_TOKENS");
  CHECK(test::read_file(tmp / "o/run_config.yml").find("model_name_or_path: Qwen/Qwen3-0.6B") != std::string::npos);
  // And genlens reads it back (the tokenizer check passes).
  CHECK_NOTHROW(interop::read_official_checkpoint(tmp / "o", lm->config().hidden_size));
}

TEST_CASE("official: each malformed official file is a clear error naming it") {
  test::TempDir tmp("official-bad");
  auto im = make_and_import(tmp.path, 0, 10, "--seed 4");
  auto model = test::tiny_model_dir("qwen3");
  const int64_t H = model::ModelConfig::from_dir(model).hidden_size;
  int n = 0;
  auto broken = [&](const std::function<void(const fs::path&)>& breakit) {
    auto d = tmp / ("bad" + std::to_string(n++));
    fs::copy(im.ckpt, d, fs::copy_options::recursive);
    breakit(d);
    return d;
  };
  auto expect = [&](const fs::path& d, const std::vector<std::string>& parts) {
    try {
      interop::read_official_checkpoint(d, H);
      FAIL("no error for " << d.string());
    } catch (const Error& e) {
      std::string msg = e.what();
      INFO(msg);
      for (auto& p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, p);
      MESSAGE(msg);
    }
  };
  // Missing pickle.
  expect(broken([](const fs::path& d) { fs::remove(d / "alignment_mlp"); }), {"alignment_mlp", "missing"});
  // Wrong tensor shape (special rows for another hidden size).
  expect(broken([&](const fs::path& d) {
           io::save_safetensors(d / "encoder/adapter_model.safetensors",
                                {{"base_model.model.embed_tokens.trainable_tokens_delta", torch::zeros({10, H + 1})}});
         }),
         {"adapter_model.safetensors", "expected shape [10, " + std::to_string(H) + "]", "found [10, " + std::to_string(H + 1) + "]"});
  // Wrong head shape inside a pickle.
  expect(broken([&](const fs::path& d) {
           auto v = io::load_torch_pickle(d / "reconstruction_mlp").toGenericDict();
           c10::impl::GenericDict sd(c10::StringType::get(), c10::TensorType::get());
           sd.insert("projection.weight", torch::zeros({H, H - 1}));
           sd.insert("projection.bias", torch::zeros({H}));
           v.insert_or_assign("state_dict", sd);
           io::save_torch_pickle(d / "reconstruction_mlp", v);
         }),
         {"reconstruction_mlp", "projection.weight", "expected shape"});
  // Unexpected pickle content: a list, an extra key, a non-linear pooling, size > 1.
  expect(broken([](const fs::path& d) {
           io::save_torch_pickle(d / "alignment_mlp", c10::IValue(c10::List<int64_t>({1, 2, 3})));
         }),
         {"alignment_mlp", "expected a dict"});
  expect(broken([](const fs::path& d) {
           auto v = io::load_torch_pickle(d / "alignment_mlp").toGenericDict();
           v.insert("optimizer", c10::IValue(std::string("sgd")));
           io::save_torch_pickle(d / "alignment_mlp", v);
         }),
         {"alignment_mlp", "unexpected key \"optimizer\""});
  auto set_config = [&](const std::string& key, const c10::IValue& value) {
    return broken([&](const fs::path& d) {
      auto v = io::load_torch_pickle(d / "alignment_mlp").toGenericDict();
      auto cfg = v.at("config").toGenericDict();
      cfg.insert_or_assign(key, value);
      io::save_torch_pickle(d / "alignment_mlp", v);
    });
  };
  expect(set_config("pooling_mode", c10::IValue(std::string("mean_linear"))), {"alignment_mlp", "pooling_mode", "\"linear\""});
  expect(set_config("size", c10::IValue(int64_t{10})), {"alignment_mlp", "size", "size 1"});
  // Not a zip pickle at all.
  expect(broken([](const fs::path& d) { test::write_file(d / "reconstruction_mlp", "\x80\x02}q\x00."); }),
         {"reconstruction_mlp", "zip"});
  // Token count mismatch: encoder/config.json, run_config.yml, encoding mode.
  expect(broken([](const fs::path& d) {
           auto j = io::read_json_file(d / "encoder/config.json");
           j["num_special_tokens"] = 7;
           io::write_file_atomic(d / "encoder/config.json", j.dump());
         }),
         {"encoder/config.json", "num_special_tokens", "7", "10 token_indices"});
  expect(broken([](const fs::path& d) {
           test::write_file(d / "run_config.yml", "model_name_or_path: x\nspecial_tokens:\n- <question1>\n- <question2>\n");
         }),
         {"run_config.yml", "lists 2 tokens", "10 token_indices"});
  // The official writer's flow list with the wrong count, a non-list, and text that is not YAML.
  expect(broken([](const fs::path& d) {
           test::write_file(d / "run_config.yml", "model_name_or_path: x\nspecial_tokens: ['<question1>', '<question2>']\n");
         }),
         {"run_config.yml", "lists 2 tokens", "10 token_indices"});
  expect(broken([](const fs::path& d) { test::write_file(d / "run_config.yml", "special_tokens: <question1>\n"); }),
         {"run_config.yml", "\"special_tokens\": expected a list of token strings", "<question1>"});
  expect(broken([](const fs::path& d) {
           test::write_file(d / "run_config.yml", "model_name_or_path: x\nspecial_tokens: ['<question1>', \n");
         }),
         {"run_config.yml:2:", "not valid YAML"});
  expect(broken([](const fs::path& d) {
           test::write_file(d / "encoder_decoder_config.json", R"({"encoding_mode": "last_12_tokens"})");
         }),
         {"encoder_decoder_config.json", "last_12_tokens", "10 special tokens"});
  // A LoRA encoder is refused, not silently dropped.
  expect(broken([](const fs::path& d) {
           auto j = io::read_json_file(d / "encoder/adapter_config.json");
           j["peft_type"] = "LORA";
           io::write_file_atomic(d / "encoder/adapter_config.json", j.dump());
         }),
         {"adapter_config.json", "LoRA"});
  // The CLI says the same and writes nothing.
  auto r = test::run_genlens("import llm2vec-gen --checkpoint " + q(tmp / "bad0") + " --model " + q(model) + " --out " +
                             q(tmp / "never"));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("alignment_mlp") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "never"));
}

TEST_CASE("lora: genlens' merge equals the Python merge (plain and rslora, both key spellings)") {
  auto model = test::tiny_model_dir("qwen3");
  test::TempDir tmp("lora");
  require_ok(pyref("make-lora --model " + q(model) + " --out " + q(tmp / "a") + " --r 4 --alpha 8 --seed 1"));
  require_ok(pyref("make-lora --model " + q(model) + " --out " + q(tmp / "b") +
                 " --r 2 --alpha 3 --rslora --prefix '' --targets q_proj,v_proj --seed 2"));
  require_ok(pyref("merge-lora --model " + q(model) + " --lora " + q(tmp / "a") + " --lora " + q(tmp / "b") + " --out " +
                 q(tmp / "ref")));
  auto lm = model::load_with_lora(model, {tmp / "a", tmp / "b"});
  double worst = 0;
  int changed = 0;
  auto plain = model::DecoderLM::load(model);
  std::map<std::string, torch::Tensor> base;
  for (auto& [n, t] : plain->named_parameters()) base[n] = t;
  for (auto& [n, t] : lm->named_parameters()) {
    auto want = io::load_npy(tmp / "ref" / (n + ".npy"));
    worst = std::max(worst, max_abs_diff(t, want));
    if (!torch::equal(t, base.at(n))) ++changed;
  }
  MESSAGE("LoRA merge: max |genlens - Python| over all weights = " << worst << ", " << changed << " weights changed");
  CHECK(worst < 1e-6);
  CHECK(changed == 7 * 2);  // every projection of both layers (a: all 7 targets; b: q, v again)
  // The CLI: inspect lists the modules unmerged; merge writes a model equal to the above.
  auto ins = test::run_genlens("lora inspect --model " + q(model) + " --lora " + q(tmp / "b"));
  require_ok(ins);
  CHECK(ins.output.find("r=2") != std::string::npos);
  CHECK(ins.output.find("model.layers.1.self_attn.v_proj.weight") != std::string::npos);
  require_ok(test::run_genlens("lora merge --model " + q(model) + " --lora " + q(tmp / "a") + " --lora " + q(tmp / "b") +
                               " --out " + q(tmp / "merged")));
  auto merged = model::DecoderLM::load(tmp / "merged");
  for (size_t i = 0; i < merged->named_parameters().size(); ++i)
    CHECK(torch::equal(merged->named_parameters()[i].second, lm->named_parameters()[i].second));
}

TEST_CASE("lora: unsupported PEFT types, targets and shapes are clear errors") {
  auto model = test::tiny_model_dir("qwen3");
  auto cfg = model::ModelConfig::from_dir(model);
  test::TempDir tmp("lora-bad");
  require_ok(pyref("make-lora --model " + q(model) + " --out " + q(tmp / "a") + " --r 4 --alpha 8 --targets q_proj"));
  auto edit = [&](const std::string& key, const nlohmann::json& value) {
    auto d = tmp / ("bad-" + key);
    fs::remove_all(d);
    fs::copy(tmp / "a", d, fs::copy_options::recursive);
    auto j = io::read_json_file(d / "adapter_config.json");
    j[key] = value;
    io::write_file_atomic(d / "adapter_config.json", j.dump());
    return d;
  };
  CHECK_THROWS_WITH_AS(model::load_lora(edit("peft_type", "IA3"), cfg), doctest::Contains("\"peft_type\""), Error);
  CHECK_THROWS_WITH_AS(model::load_lora(edit("target_modules", nlohmann::json::array({"embed_tokens"})), cfg),
                       doctest::Contains("\"embed_tokens\" is not a linear layer"), Error);
  CHECK_THROWS_WITH_AS(model::load_lora(edit("use_dora", true), cfg), doctest::Contains("use_dora"), Error);
  CHECK_THROWS_WITH_AS(model::load_lora(edit("r", 3), cfg), doctest::Contains("expected shape [3,"), Error);
  CHECK_THROWS_WITH_AS(model::load_lora(tmp / "nothing", cfg), doctest::Contains("adapter_config.json"), Error);
}

TEST_CASE("teach: the LLM2Vec teacher (bidirectional, MNTP merged, SimCSE applied, mean) equals the reference") {
  auto model = test::tiny_model_dir("qwen3");
  test::TempDir tmp("llm2vec");
  require_ok(pyref("make-lora --model " + q(model) + " --out " + q(tmp / "mntp") + " --r 4 --alpha 16 --seed 3"));
  require_ok(pyref("make-lora --model " + q(model) + " --out " + q(tmp / "simcse") + " --r 4 --alpha 8 --seed 4"));
  auto rows = id_rows(6, 5);
  require_ok(pyref("llm2vec --model " + q(model) + " --lora " + q(tmp / "mntp") + " --lora " + q(tmp / "simcse") +
                 " --ids " + q(write_ids(tmp / "ids.json", rows)) + " --out " + q(tmp / "ref.npy")));
  auto lm = model::load_with_lora(model, {tmp / "mntp", tmp / "simcse"});
  auto got = teach::mean_pool(*lm, rows, 4, /*causal=*/false);
  double d = max_abs_diff(got, io::load_npy(tmp / "ref.npy"));
  MESSAGE("LLM2Vec teacher: max |genlens - reference| = " << d);
  CHECK(d < 1e-5);
  // Causal attention would give something else (the check can fail).
  CHECK(max_abs_diff(teach::mean_pool(*lm, rows, 4, true), io::load_npy(tmp / "ref.npy")) > 1e-3);
}

TEST_CASE("cli train --teacher llm2vec: computed once as its own stage, cached in RUN_DIR/teacher.npy, reused") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("llm2vec-cli");
  require_ok(pyref("make-lora --model " + q(model) + " --out " + q(tmp / "mntp") + " --r 2 --alpha 4 --seed 3"));
  std::string data;
  std::vector<std::string> answers = {"Bees make honey.", "  Copper conducts heat well.\n", "Rain falls from clouds.",
                                      "Trains run on rails."};
  for (size_t i = 0; i < answers.size(); ++i)
    data += io::Json{{"id", std::to_string(i)}, {"question", "Q" + std::to_string(i) + "?"}, {"answer", answers[i]}}.dump() + "\n";
  test::write_file(tmp / "r.jsonl", data);
  const std::string teacher = "llm2vec:" + model.string() + "+" + (tmp / "mntp").string();
  auto args = "train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(tmp / "run") +
              " --teacher " + q(teacher) + " --batch-size 2 --thought 2 --compression 2 --save-every 1";
  auto r1 = test::run_genlens(args + " --steps 2");
  require_ok(r1);
  REQUIRE(fs::exists(tmp / "run/teacher.npy"));
  auto meta = io::read_json_file(tmp / "run/teacher.json");
  CHECK(meta["kind"] == "llm2vec");
  // The targets equal the reference on the ids the base tokenizer gives (stripped answer,
  // the tokenizer's default special tokens).
  auto tok = text::load_tokenizer(model);
  std::vector<gen::TokenRow> rows;
  for (auto& a : answers) {
    auto b = a.find_first_not_of(" \n"), e = a.find_last_not_of(" \n");
    auto ids = tok->encode(a.substr(b, e - b + 1), true);
    rows.emplace_back(ids.begin(), ids.end());
  }
  require_ok(pyref("llm2vec --model " + q(model) + " --lora " + q(tmp / "mntp") + " --ids " +
                 q(write_ids(tmp / "ids.json", rows)) + " --out " + q(tmp / "ref.npy")));
  double d = max_abs_diff(io::load_npy(tmp / "run/teacher.npy"), io::load_npy(tmp / "ref.npy"));
  MESSAGE("llm2vec teacher via the CLI: max |teacher.npy - reference| = " << d);
  CHECK(d < 1e-5);
  // Resume reuses the cache (no second teacher stage).
  auto r2 = test::run_genlens(args + " --resume --steps 3");
  require_ok(r2);
  CHECK(r2.output.find("reusing") != std::string::npos);
  // A different teacher in the same run directory is refused by resume, the cache untouched.
  auto before = test::read_file(tmp / "run/teacher.npy");
  auto r3 = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "r.jsonl") + " --out " + q(tmp / "run") +
                              " --teacher mean-pool --steps 2");
  CHECK(r3.exit_code == 1);
  CHECK(test::read_file(tmp / "run/teacher.npy") == before);
}
