// Model loading under bad and unusual input: every corrupt file, inconsistent config or
// mismatched checkpoint is a genlens::Error naming the file and the tensor/field (and a
// clean exit code from the CLI), never a crash or a half-built model. Also: sharded
// checkpoints, bf16 against fp32.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/model/checkpoint.h"
#include "core/model/config.h"
#include "core/model/decoder_lm.h"
#include "core/model/generate.h"
#include "core/model/kv_cache.h"
#include "core/util/error.h"
#include "tests/model_fixtures.h"
#include "tests/numeric_ref.h"
#include "tests/test_util.h"

using namespace genlens;
namespace fs = std::filesystem;
using nlohmann::json;
using torch::Tensor;

namespace {

// Runs f, requires a genlens::Error, returns its message.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const genlens::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a genlens::Error: " << e.what());
    return "";
  }
  FAIL("no error was thrown");
  return "";
}

bool has(const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; }

// A safetensors file from a raw header string and `data_bytes` zero bytes.
void write_raw_st(const fs::path& p, const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  std::string bytes(8, '\0');
  uint64_t n = claimed_len ? claimed_len : header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  bytes += header;
  bytes.append(data_bytes, '\0');
  test::write_file(p, bytes);
}

fs::path copy_model(const fs::path& src, const fs::path& dst) {
  fs::copy(src, dst, fs::copy_options::recursive);
  return dst;
}

json read_json(const fs::path& p) { return json::parse(test::read_file(p)); }
void write_json(const fs::path& p, const json& j) { test::write_file(p, j.dump(2)); }

Tensor logits_of(const model::DecoderLM& lm, const std::vector<int64_t>& ids) {
  torch::NoGradGuard ng;
  auto t = torch::tensor(ids, torch::kLong).view({1, static_cast<int64_t>(ids.size())});
  return lm.lm_head(lm.forward(lm.embed(t), torch::ones_like(t)).last_hidden)[0].to(torch::kFloat32);
}

const std::vector<int64_t> kIds = {3, 141, 59, 265, 358, 97, 93, 238, 462, 64, 338, 327, 95, 28, 84, 197};

}  // namespace

TEST_CASE("bad safetensors: every corruption is an error naming the file and tensor") {
  test::TempDir tmp("badst");
  auto p = tmp / "x.safetensors";
  const std::string ps = p.string();

  test::write_file(p, "abc");
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "at least an 8-byte header length"));

  write_raw_st(p, "{}", 0, /*claimed_len=*/1000);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "header length 1000 is out of range"));

  write_raw_st(p, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_off", 0);
  auto m = error_of([&] { io::SafetensorsFile::open(p); });
  CHECK(has(m, ps));
  CHECK(has(m, "not valid JSON"));

  write_raw_st(p, "[1, 2]", 0);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "must be a JSON object"));

  write_raw_st(p, R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8);
  m = error_of([&] { io::SafetensorsFile::open(p); });
  CHECK(has(m, "tensor 'w'"));
  CHECK(has(m, "out of range"));

  write_raw_st(p, R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}})", 16);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "needs 16 bytes but data_offsets span 12"));

  write_raw_st(p, R"({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}})", 16);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "non-negative integers"));

  write_raw_st(p, R"({"w": {"dtype": "F32", "shape": [4]}})", 16);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "'data_offsets' must be two"));

  write_raw_st(p, R"({"w": {"shape": [4], "data_offsets": [0, 16]}})", 16);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "missing string field 'dtype'"));

  write_raw_st(p, R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})", 16);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "overlap"));

  write_raw_st(p, R"({"__metadata__": {"format": 1}})", 0);
  CHECK(has(error_of([&] { io::SafetensorsFile::open(p); }), "__metadata__ field 'format' must be a string"));

  write_raw_st(p, R"({"q": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})", 4);
  auto f = io::SafetensorsFile::open(p);  // listed...
  m = error_of([&] { f->get("q"); });     // ...but refused by name when read
  CHECK(has(m, "tensor 'q' has dtype F8_E4M3"));
  CHECK(has(error_of([&] { f->get("nope"); }), "no tensor named 'nope'"));

  CHECK(has(error_of([&] { io::SafetensorsFile::open(tmp / "missing.safetensors"); }), "cannot open"));
  CHECK(has(error_of([&] { io::SafetensorsFile::open(tmp.path); }), "not a regular file"));

  // A real file cut short: the header survives, the last tensors' bytes do not.
  io::save_safetensors(p, {{"a", torch::randn({64})}, {"b", torch::randn({64})}});
  auto full = test::read_file(p);
  test::write_file(p, full.substr(0, full.size() - 100));
  m = error_of([&] { io::SafetensorsFile::open(p); });
  CHECK(has(m, "tensor 'b'"));
  CHECK(has(m, "out of range"));
}

TEST_CASE("bad npy: magic, dtype and truncation are errors naming the file") {
  test::TempDir tmp("badnpy");
  test::write_file(tmp / "a.npy", "hello world, not numpy");
  CHECK(has(error_of([&] { io::load_npy(tmp / "a.npy"); }), "missing \\x93NUMPY magic"));
  io::save_npy(tmp / "b.npy", torch::randn({3, 4}));
  auto bytes = test::read_file(tmp / "b.npy");
  test::write_file(tmp / "c.npy", bytes.substr(0, bytes.size() - 4));
  auto m = error_of([&] { io::load_npy(tmp / "c.npy"); });
  CHECK(has(m, "c.npy"));
  CHECK(has(m, "need 48"));
  auto i2 = bytes;
  i2.replace(i2.find("<f4"), 3, "<i2");
  test::write_file(tmp / "d.npy", i2);
  CHECK(has(error_of([&] { io::load_npy(tmp / "d.npy"); }), "dtype '<i2' is not supported"));
  CHECK(has(error_of([&] { io::load_npy(tmp / "none.npy"); }), "no such .npy file"));
}

TEST_CASE("bad config.json: each problem names the file and the field") {
  auto base = read_json(test::source_dir() / "assets/configs/tiny-qwen3.json");
  auto err = [&](const std::function<void(json&)>& edit) {
    json j = base;
    edit(j);
    return error_of([&] { model::ModelConfig::from_json_string(j.dump(), "'cfg.json'"); });
  };
  CHECK(has(err([](json& j) { j["model_type"] = "gpt2"; }), "model_type 'gpt2' is not supported"));
  CHECK(has(err([](json& j) { j.erase("model_type"); }), "missing required field 'model_type'"));
  CHECK(has(err([](json& j) { j.erase("hidden_size"); }), "missing required field 'hidden_size'"));
  CHECK(has(err([](json& j) { j["hidden_size"] = "64"; }), "field 'hidden_size' must be an integer"));
  CHECK(has(err([](json& j) { j["num_key_value_heads"] = 3; }), "not a multiple of num_key_value_heads 3"));
  CHECK(has(err([](json& j) { j.erase("head_dim"); }), "missing required field 'head_dim'"));
  CHECK(has(err([](json& j) { j["hidden_act"] = "gelu"; }), "hidden_act 'gelu' is not supported"));
  CHECK(has(err([](json& j) { j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}}; }),
            "rope_type 'yarn' is not supported"));
  CHECK(has(err([](json& j) { j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}}; }),
            "needs field 'rope_scaling.low_freq_factor'"));
  CHECK(has(err([](json& j) { j["use_sliding_window"] = true; }), "use_sliding_window=true is not supported"));
  CHECK(has(err([](json& j) { j["tie_word_embeddings"] = 1; }), "'tie_word_embeddings' must be true or false"));
  CHECK(has(err([](json& j) { j["eos_token_id"] = "eos"; }), "'eos_token_id' must be an integer or a list"));
  CHECK(has(err([](json& j) { j["eos_token_id"] = 999999; }), "eos_token_id 999999 is outside the vocabulary"));
  CHECK(has(err([](json& j) { j["num_hidden_layers"] = 0; }), "'num_hidden_layers' must be a positive integer"));
  CHECK(has(err([](json& j) { j["head_dim"] = 15; }), "head_dim must be even"));
  auto m = error_of([] { model::ModelConfig::from_json_string("{\"model_type\": ", "'cfg.json'"); });
  CHECK(has(m, "'cfg.json'"));
  CHECK(has(m, "not valid JSON"));
  // Real-config variants that must be accepted.
  json j = base;
  j["rope_scaling"] = nullptr;
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 5e5}};
  CHECK(model::ModelConfig::from_json_string(j.dump()).rope_theta == 5e5);
  j = base;
  j.erase("num_key_value_heads");
  CHECK(model::ModelConfig::from_json_string(j.dump()).num_key_value_heads == 4);
}

TEST_CASE("bad model directories: missing, mismatched or misnamed weights are errors naming the tensor") {
  auto src = test::tiny_model_dir("qwen2");
  test::TempDir tmp("badmodel");
  auto load = [](const fs::path& d) { return error_of([&] { model::DecoderLM::load(d); }); };

  CHECK(has(load(tmp / "nowhere"), "no such directory"));
  fs::create_directories(tmp / "empty");
  CHECK(has(load(tmp / "empty"), "config.json"));

  auto d = copy_model(src, tmp / "noweights");
  fs::remove(d / "model.safetensors");
  CHECK(has(load(d), "no model.safetensors or model.safetensors.index.json"));

  // Config says wider than the weights: shape mismatch names tensor, file, both shapes.
  d = copy_model(src, tmp / "shape");
  auto cfg = read_json(d / "config.json");
  cfg["intermediate_size"] = 256;
  write_json(d / "config.json", cfg);
  auto m = load(d);
  CHECK(has(m, "model.layers.0.mlp.gate_proj.weight"));
  CHECK(has(m, "has shape [128, 64], but config.json implies [256, 64]"));

  // Config says more layers than the file has.
  d = copy_model(src, tmp / "layers");
  cfg = read_json(d / "config.json");
  cfg["num_hidden_layers"] = 3;
  write_json(d / "config.json", cfg);
  CHECK(has(load(d), "field 'num_hidden_layers' is 3, but the weights hold 2 layers"));

  // Fewer layers than the file has: the layer count is checked before anything is built.
  d = copy_model(src, tmp / "extra");
  cfg = read_json(d / "config.json");
  cfg["num_hidden_layers"] = 1;
  write_json(d / "config.json", cfg);
  CHECK(has(load(d), "field 'num_hidden_layers' is 1, but the weights hold 2 layers"));

  // Untied config over tied weights: the LM head is missing.
  d = copy_model(src, tmp / "untied");
  cfg = read_json(d / "config.json");
  cfg["tie_word_embeddings"] = false;
  write_json(d / "config.json", cfg);
  CHECK(has(load(d), "tensor 'lm_head.weight' is missing"));

  // Wrong dtype for a weight.
  d = tmp / "dtype";
  fs::create_directories(d);
  fs::copy(src / "config.json", d / "config.json");
  {
    auto w = io::load_safetensors(src / "model.safetensors");
    io::NamedTensors nt;
    for (auto& [k, v] : w) nt.emplace_back(k, k == "model.norm.weight" ? v.to(torch::kLong) : v);
    io::save_safetensors(d / "model.safetensors", nt);
  }
  m = load(d);
  CHECK(has(m, "tensor 'model.norm.weight' has dtype I64, expected F32, BF16 or F16"));
  CHECK(has(m, (d / "model.safetensors").string()));

  // Truncated weights file.
  d = copy_model(src, tmp / "trunc");
  auto bytes = test::read_file(d / "model.safetensors");
  test::write_file(d / "model.safetensors", bytes.substr(0, bytes.size() / 2));
  m = load(d);
  CHECK(has(m, "model.safetensors"));
  CHECK(has(m, "out of range"));

  // Malformed generation_config.json.
  d = copy_model(src, tmp / "gencfg");
  test::write_file(d / "generation_config.json", R"({"eos_token_id": [1, "x"]})");
  m = load(d);
  CHECK(has(m, "generation_config.json"));
  CHECK(has(m, "eos_token_id"));

  // The CLI reports the same errors with exit code 1, no crash.
  auto r = test::run_genlens("forward --model " + test::shell_quote((tmp / "trunc").string()) + " --ids 1,2");
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "error:"));
  CHECK(has(r.output, "out of range"));
}

TEST_CASE("bad sharded checkpoints: index problems name the index, shard and tensor") {
  auto src = test::tiny_model_dir("qwen3", "--shards 3");
  test::TempDir tmp("badshard");
  auto load = [](const fs::path& d) { return error_of([&] { model::DecoderLM::load(d); }); };
  auto d = copy_model(src, tmp / "missing");
  auto index = read_json(d / "model.safetensors.index.json");
  std::string shard2 = "model-00002-of-00003.safetensors";
  fs::remove(d / shard2);
  auto m = load(d);
  CHECK(has(m, "model.safetensors.index.json"));
  CHECK(has(m, shard2));
  CHECK(has(m, "does not exist"));

  d = copy_model(src, tmp / "wrong");
  index["weight_map"]["model.norm.weight"] = "model-00001-of-00003.safetensors";
  write_json(d / "model.safetensors.index.json", index);
  CHECK(has(load(d), "says 'model.norm.weight' is in 'model-00001-of-00003.safetensors'"));

  d = copy_model(src, tmp / "escape");
  index = read_json(src / "model.safetensors.index.json");
  index["weight_map"]["model.norm.weight"] = "../model-00003-of-00003.safetensors";
  write_json(d / "model.safetensors.index.json", index);
  CHECK(has(load(d), "is not a plain file name"));

  d = copy_model(src, tmp / "json");
  test::write_file(d / "model.safetensors.index.json", "{\"weight_map\": ");
  CHECK(has(load(d), "not valid JSON"));
}

TEST_CASE("init-model: a config lacking fields is a clear error and writes nothing") {
  test::TempDir tmp("initbad");
  test::write_file(tmp / "cfg.json", R"({"model_type": "llama", "hidden_size": 64})");
  auto r = test::run_genlens("init-model --config " + test::shell_quote((tmp / "cfg.json").string()) + " --out " +
                             test::shell_quote((tmp / "out").string()));
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "cfg.json"));
  CHECK(has(r.output, "missing required field 'vocab_size'"));
  CHECK_FALSE(fs::exists(tmp / "out"));
  r = test::run_genlens(test::init_model_args("llama3", tmp / "out2", "--dtype f64"));
  CHECK(r.exit_code == 1);
  CHECK(has(r.output, "dtype 'f64' is not supported"));
  CHECK_FALSE(fs::exists(tmp / "out2"));
}

TEST_CASE("sharded load equals unsharded load") {
  auto one = test::tiny_model("llama3-untied");
  auto dir3 = test::tiny_model_dir("llama3-untied", "--shards 3");
  CHECK(fs::exists(dir3 / "model.safetensors.index.json"));
  CHECK(fs::exists(dir3 / "model-00003-of-00003.safetensors"));
  CHECK_FALSE(fs::exists(dir3 / "model.safetensors"));
  auto three = model::DecoderLM::load(dir3);
  auto& a = one->named_parameters();
  auto& b = three->named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(torch::equal(a[i].second, b[i].second));
  }
  CHECK(torch::equal(logits_of(*one, kIds), logits_of(*three, kIds)));
}

// bf16 is judged against float64 from the same rounded weights, not against
// fp32 within a fixed 0.1: our bf16 forward may be at most kNoWorseFactor times as far from
// it as an independent plain-torch bf16 forward of the same weights on this machine's
// kernels (tests/reference/decoder_lm_ref.py --dtype bf16), plus one bf16 rounding
// (tests/numeric_ref.h). On an AVX2-only CPU LibTorch 1.13 accumulates most bf16 matmuls in
// bf16 (probabilities @ V among them), on AVX-512 in float: both paths move together.
namespace {

struct Bf16Reference {
  Tensor plain;  // the Python bf16 forward's logits [T, V]
  Tensor f64;    // float64 logits from the same (bf16-rounded) weights
};

Bf16Reference python_bf16_reference(const fs::path& model_dir, const std::vector<int64_t>& ids, bool round_weights) {
  test::TempDir tmp("bf16-ref");
  std::string joined;
  for (auto id : ids) joined += (joined.empty() ? "" : ",") + std::to_string(id);
  auto script = test::source_dir() / "tests/reference/decoder_lm_ref.py";
  auto r = test::run_command(test::system_python() + " " + test::shell_quote(script.string()) + " --model " +
                             test::shell_quote(model_dir.string()) + " --ids " + joined + " --dtype bf16" +
                             (round_weights ? " --weights-dtype bf16" : "") + " --out " +
                             test::shell_quote((tmp / "bf16.npy").string()) + " --out-f64 " +
                             test::shell_quote((tmp / "f64.npy").string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return {io::load_npy(tmp / "bf16.npy"), io::load_npy(tmp / "f64.npy")};
}

// Top-1 agreement of a [T, V] logits tensor with the reference's.
double top1_agreement(const Tensor& a, const Tensor& ref) {
  return (a.argmax(-1) == ref.argmax(-1)).to(torch::kFloat32).mean().item<double>();
}

}  // namespace

TEST_CASE("bf16: as accurate as a plain bf16 forward, judged against float64, for every family") {
  MESSAGE("bf16 matmul path here: " << test::bf16_matmul_path());
  const double u = test::unit_roundoff(torch::kBFloat16);
  for (std::string fam : test::kFamilies) {
    CAPTURE(fam);
    auto f32 = test::tiny_model(fam);
    auto bf = test::tiny_model(fam, torch::kBFloat16);  // converted on load
    CHECK((bf->dtype() == torch::kBFloat16));
    CHECK((bf->named_parameters()[0].second.scalar_type() == torch::kBFloat16));
    auto ref = python_bf16_reference(test::tiny_model_dir(fam), kIds, /*round_weights=*/true);
    auto a = logits_of(*f32, kIds), b = logits_of(*bf, kIds);
    REQUIRE(b.sizes() == ref.f64.sizes());
    const double plain_err = test::rel_err(ref.plain, ref.f64), ours = test::rel_err(b, ref.f64);
    const double agree = top1_agreement(b, ref.f64), plain_agree = top1_agreement(ref.plain, ref.f64);
    MESSAGE(fam << ": bf16 logits vs float64 (rounded weights): ours " << ours << ", plain " << plain_err
                << "; top-1 agreement ours " << agree << ", plain " << plain_agree << "; vs fp32 (unrounded "
                << "weights) max abs diff " << test::max_abs_err(b, a) << " (max |logit| "
                << a.abs().max().item<double>() << ")");
    CHECK(ours <= test::no_worse_tol(plain_err, u));
    // Top-1 flips only where the float64 logits nearly tie: wherever ours picks another
    // token than float64, float64's margin between the two is one that the plain bf16
    // forward's own error on that row could bridge (2x its largest error there). Counting
    // flips against plain's count instead failed on LibTorch 2.6, where both are within
    // rounding of each other at random near-ties.
    {
      const Tensor f64 = ref.f64.to(torch::kFloat64), ours_t = b.to(torch::kFloat64);
      const Tensor plain_err_row = (ref.plain.to(torch::kFloat64) - f64).abs().amax(-1);
      const Tensor want = f64.argmax(-1), got = ours_t.argmax(-1);
      for (int64_t t = 0; t < f64.size(0); ++t) {
        if (want[t].item<int64_t>() == got[t].item<int64_t>()) continue;
        const double margin = (f64[t][want[t]] - f64[t][got[t]]).item<double>();
        CAPTURE(t);
        CHECK(margin <= 2 * plain_err_row[t].item<double>());
      }
    }
    // bf16 KV-cache decoding is as accurate as the bf16 full forward.
    torch::NoGradGuard ng;
    auto t = torch::tensor(kIds, torch::kLong).view({1, -1});
    auto m = torch::ones_like(t);
    model::KVCache cache;
    model::ForwardOptions o;
    o.cache = &cache;
    auto pre = bf->lm_head(bf->forward(bf->embed(t.narrow(1, 0, 10)), m.narrow(1, 0, 10), o).last_hidden);
    auto rest = bf->lm_head(bf->forward(bf->embed(t.narrow(1, 10, 6)), m, o).last_hidden);
    const double kv = test::rel_err(torch::cat({pre, rest}, 1)[0], ref.f64);
    MESSAGE(fam << ": bf16 KV-cache logits vs float64 " << kv);
    CHECK(kv <= test::no_worse_tol(ours, u));
  }
  // A bf16 checkpoint loaded as bf16 uses the file's bytes directly (zero-copy).
  auto dir = test::tiny_model_dir("qwen3", "--dtype bf16");
  auto f = io::SafetensorsFile::open(dir / "model.safetensors");
  CHECK(f->info("model.embed_tokens.weight").dtype == "BF16");
  auto lm = model::DecoderLM::load(dir, torch::kCPU, torch::kBFloat16);
  auto lm32 = model::DecoderLM::load(dir, torch::kCPU, torch::kFloat32);
  CHECK(torch::equal(lm->named_parameters()[0].second.to(torch::kFloat32), lm32->named_parameters()[0].second));
  auto ref = python_bf16_reference(dir, kIds, /*round_weights=*/false);
  const double plain_err = test::rel_err(ref.plain, ref.f64);
  const double ours = test::rel_err(logits_of(*lm, kIds), ref.f64);
  const double ours32 = test::rel_err(logits_of(*lm32, kIds), ref.f64);
  MESSAGE("bf16 file vs float64: bf16 compute " << ours << " (plain " << plain_err << "), fp32 compute " << ours32);
  CHECK(ours <= test::no_worse_tol(plain_err, u));  // (fp32 compute vs float64: test_model_decode.cpp)
}

TEST_CASE("forward: wrong shapes and ids are errors, not crashes") {
  auto lm = test::tiny_model("qwen2");
  torch::NoGradGuard ng;
  CHECK(has(error_of([&] { lm->embed(torch::tensor({{1, 600}}, torch::kLong)); }),
            "token id 600 is outside the vocabulary [0, 512)"));
  auto x = lm->embed(torch::tensor({{1, 2, 3}}, torch::kLong));
  CHECK(has(error_of([&] { lm->forward(x, torch::ones({1, 4}, torch::kLong)); }), "attention_mask must be [1, 3]"));
  CHECK(has(error_of([&] { lm->forward(torch::zeros({1, 3, 32}), torch::ones({1, 3}, torch::kLong)); }),
            "inputs_embeds must be [B, T, 64]"));
  model::KVCache cache;
  model::ForwardOptions o;
  o.cache = &cache;
  lm->forward(x, torch::ones({1, 3}, torch::kLong), o);
  CHECK(has(error_of([&] { lm->forward(x.narrow(1, 0, 1), torch::ones({1, 3}, torch::kLong), o); }),
            "attention_mask must be [1, 4]"));
  CHECK(cache.length() == 3);  // a failed step leaves the cache as it was
}

TEST_CASE("bench load: peak memory is about one copy of the weights") {
  // ~100M parameters (the 190M benchmark config with a 32000 vocabulary), bf16 on disk.
  test::TempDir tmp("benchload");
  auto cfg = test::source_dir() / "tests/bench/configs/qwen3-190m.json";
  auto r = test::run_genlens("init-model --config " + test::shell_quote(cfg.string()) + " --out " +
                             test::shell_quote((tmp / "m").string()) + " --vocab-size 32000 --dtype bf16");
  REQUIRE(r.exit_code == 0);
  for (std::string dtype : {"bf16", "f32"}) {
    CAPTURE(dtype);
    r = test::run_genlens("bench load --model " + test::shell_quote((tmp / "m").string()) + " --dtype " + dtype);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("peak growth") != std::string::npos);  // the readable lines (stderr)
    // The JSON line (stdout): the figures beside the baseline read() of the files.
    json j;
    std::istringstream out(r.output);
    for (std::string line; std::getline(out, line);)
      if (!line.empty() && line.front() == '{') j = json::parse(line);
    REQUIRE(j.is_object());
    CHECK(j.at("bench") == "load");
    CHECK(j.at("dtype") == dtype);
    CHECK(j.at("read_files_s").get<double>() > 0);
    CHECK(j.at("weights_mib").get<double>() > 0);
    const double ratio = j.at("peak_growth_vs_weights").get<double>();
    MESSAGE("bf16 file loaded as " << dtype << ": peak RSS growth " << ratio << " x the in-memory weights");
    CHECK(ratio < 1.25);
  }
}
