#include "core/interop/official.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "core/interop/run_config.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"
#include "core/io/torch_pickle.h"
#include "core/util/error.h"

namespace genlens::interop {

namespace fs = std::filesystem;
using nlohmann::json;
using torch::Tensor;

namespace {

json read_json_required(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("{}: missing ({})", path.string(), what);
  return io::read_json_file(path);
}

std::string describe(const c10::IValue& v) {
  if (v.isString()) return "\"" + v.toStringRef() + "\"";
  if (v.isTensor()) return fmt::format("a tensor [{}]", fmt::join(v.toTensor().sizes(), ", "));
  return v.tagKind();
}

// A pickled dict as key -> value; refuses keys that are not strings, missing keys and
// (with `exact`) keys that are not expected.
std::map<std::string, c10::IValue> pickled_dict(const c10::IValue& v, const std::string& where,
                                                const std::vector<std::string>& required, bool exact) {
  if (!v.isGenericDict()) fail("{}: expected a dict, found {}", where, describe(v));
  std::map<std::string, c10::IValue> out;
  for (const auto& e : v.toGenericDict()) {
    if (!e.key().isString()) fail("{}: expected string keys, found {}", where, describe(e.key()));
    out.emplace(e.key().toStringRef(), e.value());
  }
  for (auto& k : required)
    if (!out.count(k)) fail("{}: key \"{}\" is missing (found keys: {})", where, k, [&] {
        std::vector<std::string> ks;
        for (auto& [kk, vv] : out) ks.push_back(kk);
        return fmt::format("{}", fmt::join(ks, ", "));
      }());
  if (exact)
    for (auto& [k, val] : out)
      if (std::find(required.begin(), required.end(), k) == required.end())
        fail("{}: unexpected key \"{}\" (expected only {})", where, k, fmt::join(required, ", "));
  return out;
}

int64_t pickled_int(const std::map<std::string, c10::IValue>& d, const std::string& key, const std::string& where) {
  const auto& v = d.at(key);
  if (!v.isInt()) fail("{}: \"{}\": expected an integer, found {}", where, key, describe(v));
  return v.toInt();
}

std::string pickled_str(const std::map<std::string, c10::IValue>& d, const std::string& key, const std::string& where) {
  const auto& v = d.at(key);
  if (!v.isString()) fail("{}: \"{}\": expected a string, found {}", where, key, describe(v));
  return v.toStringRef();
}

struct Head {
  Tensor weight, bias;
};

// One ProjectionModel pickle: a single nn.Linear(in_dim -> out_dim) with bias.
Head read_head(const fs::path& path, int64_t in_dim, int64_t out_dim_expected) {
  const std::string src = path.string();
  auto top = pickled_dict(io::load_torch_pickle(path), src, {"state_dict", "config"}, true);
  auto cfg = pickled_dict(top.at("config"), src + " [\"config\"]", {"input_dim", "output_dim"}, false);
  const std::string csrc = src + " [\"config\"]";
  int64_t size = cfg.count("size") ? pickled_int(cfg, "size", csrc) : 1;
  std::string pooling = cfg.count("pooling_mode") ? pickled_str(cfg, "pooling_mode", csrc) : "linear";
  if (size != 1)
    fail("{}: \"size\": genlens supports one linear head shared by all positions (size 1), found {}", csrc, size);
  if (pooling != "linear")
    fail("{}: \"pooling_mode\": genlens supports \"linear\" (position-wise), found \"{}\"", csrc, pooling);
  int64_t in = pickled_int(cfg, "input_dim", csrc), out = pickled_int(cfg, "output_dim", csrc);
  if (in != in_dim)
    fail("{}: \"input_dim\": expected the base model's hidden size {}, found {}", csrc, in_dim, in);
  if (out_dim_expected > 0 && out != out_dim_expected)
    fail("{}: \"output_dim\": expected {}, found {}", csrc, out_dim_expected, out);
  auto sd = pickled_dict(top.at("state_dict"), src + " [\"state_dict\"]", {"projection.weight", "projection.bias"},
                         true);
  Head h;
  auto tensor = [&](const char* key, std::vector<int64_t> shape) {
    const auto& v = sd.at(key);
    if (!v.isTensor()) fail("{} [\"state_dict\"]: \"{}\": expected a tensor, found {}", src, key, describe(v));
    Tensor t = v.toTensor();
    if (t.sizes() != c10::IntArrayRef(shape))
      fail("{} [\"state_dict\"]: \"{}\": expected shape [{}], found [{}]", src, key, fmt::join(shape, ", "),
           fmt::join(t.sizes(), ", "));
    if (!t.is_floating_point())
      fail("{} [\"state_dict\"]: \"{}\": expected floating point, found {}", src, key, c10::toString(t.scalar_type()));
    return t.to(torch::kCPU, torch::kFloat32).contiguous();
  };
  h.weight = tensor("projection.weight", {out, in});
  h.bias = tensor("projection.bias", {out});
  return h;
}

std::vector<int64_t> int_list(const json& j, const std::string& where) {
  if (!j.is_array()) fail("{}: expected a list of token ids, found {}", where, j.dump());
  std::vector<int64_t> out;
  for (auto& x : j) {
    if (!x.is_number_integer()) fail("{}: expected integer token ids, found {}", where, x.dump());
    out.push_back(x.get<int64_t>());
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

OfficialCheckpoint read_official_checkpoint(const fs::path& dir, int64_t hidden) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail("{}: expected an official LLM2Vec-Gen checkpoint directory (encoder/, reconstruction_mlp, "
         "alignment_mlp, encoder_decoder_config.json), found {}", dir.string(), fs::exists(dir, ec) ? "a file" : "nothing");
  OfficialCheckpoint ck;
  const fs::path enc = dir / "encoder";

  // PEFT config: TrainableTokens on the input embeddings, nothing else.
  const auto acfg_path = enc / "adapter_config.json";
  const json acfg = read_json_required(acfg_path, "the PEFT config of the encoder's special tokens");
  const std::string peft_type = acfg.value("peft_type", std::string());
  if (peft_type == "LORA")
    fail("{}: \"peft_type\": the encoder carries LoRA weights (trained with use_peft_for_encoder); genlens "
         "imports the TrainableTokens encoder only and will not drop the LoRA weights silently", acfg_path.string());
  if (peft_type != "TRAINABLE_TOKENS")
    fail("{}: \"peft_type\": expected \"TRAINABLE_TOKENS\", found \"{}\"", acfg_path.string(), peft_type);
  if (acfg.contains("target_modules") && !acfg["target_modules"].is_null()) {
    const auto& tm = acfg["target_modules"];
    bool ok = (tm.is_string() && tm.get<std::string>() == "embed_tokens") ||
              (tm.is_array() && tm.size() == 1 && tm[0] == "embed_tokens");
    if (!ok)
      fail("{}: \"target_modules\": expected [\"embed_tokens\"] (the input embeddings), found {}",
           acfg_path.string(), tm.dump());
  }
  if (!acfg.contains("token_indices")) fail("{}: \"token_indices\": missing", acfg_path.string());
  const auto token_indices = int_list(acfg["token_indices"], acfg_path.string() + ": \"token_indices\"");
  const int64_t N = static_cast<int64_t>(token_indices.size());
  if (N < 1) fail("{}: \"token_indices\": expected at least one special token, found none", acfg_path.string());

  // The special tokens' order on the query side.
  const auto ecfg_path = enc / "config.json";
  const json ecfg = read_json_required(ecfg_path, "the encoder's config with num_special_tokens");
  ck.special_ids = token_indices;
  if (ecfg.contains("special_tokens_ids") && !ecfg["special_tokens_ids"].is_null()) {
    ck.special_ids = int_list(ecfg["special_tokens_ids"], ecfg_path.string() + ": \"special_tokens_ids\"");
    auto a = ck.special_ids, b = token_indices;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b)
      fail("{}: \"special_tokens_ids\" [{}] are not the PEFT token_indices [{}] of {} (token count or ids differ)",
           ecfg_path.string(), fmt::join(ck.special_ids, ", "), fmt::join(token_indices, ", "), acfg_path.string());
  }
  if (ecfg.contains("num_special_tokens") && ecfg["num_special_tokens"].is_number_integer() &&
      ecfg["num_special_tokens"].get<int64_t>() != N)
    fail("{}: \"num_special_tokens\" is {}, but {} lists {} token_indices", ecfg_path.string(),
         ecfg["num_special_tokens"].get<int64_t>(), acfg_path.string(), N);
  if (ecfg.contains("hidden_size") && ecfg["hidden_size"].is_number_integer() &&
      ecfg["hidden_size"].get<int64_t>() != hidden)
    fail("{}: \"hidden_size\" is {}, but the base model given has hidden size {}", ecfg_path.string(),
         ecfg["hidden_size"].get<int64_t>(), hidden);

  // encoding mode -> compression tokens.
  const auto edc_path = dir / "encoder_decoder_config.json";
  const json edc = read_json_required(edc_path, "the encoding mode");
  ck.encoding_mode = edc.value("encoding_mode", std::string());
  std::smatch m;
  static const std::regex last_n(R"(last_(\d+)_tokens)");
  if (!std::regex_match(ck.encoding_mode, m, last_n))
    fail("{}: \"encoding_mode\": expected \"last_K_tokens\", found \"{}\"", edc_path.string(), ck.encoding_mode);
  const int64_t K = std::stoll(m[1].str());
  if (K < 1 || K > N)
    fail("{}: \"encoding_mode\" {} reads {} tokens, but the checkpoint has {} special tokens", edc_path.string(),
         ck.encoding_mode, K, N);
  if (edc.value("save_decoder", false))
    fail("{}: \"save_decoder\" is true: the checkpoint has a separately trained decoder, which genlens does not "
         "support (it decodes with the frozen base model)", edc_path.string());

  // run_config.yml: the special-token list must agree (when the file says).
  const auto rc_path = dir / "run_config.yml";
  if (fs::exists(rc_path, ec)) {
    const auto rc = read_run_config(rc_path);
    if (rc.special_tokens && static_cast<int64_t>(rc.special_tokens->size()) != N)
      fail("{}: \"special_tokens\" lists {} tokens, but {} has {} token_indices", rc_path.string(),
           rc.special_tokens->size(), acfg_path.string(), N);
    ck.base_model_name = rc.model_name_or_path;
    ck.torch_dtype = rc.torch_dtype;
  }

  // Tokenizer files, when present, must hold the added tokens at those ids.
  const auto tj_path = dir / "tokenizer.json";
  if (fs::exists(tj_path, ec)) {
    const json tj = io::read_json_file(tj_path);
    std::set<int64_t> added;
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
      for (auto& t : tj["added_tokens"])
        if (t.contains("id") && t["id"].is_number_integer()) added.insert(t["id"].get<int64_t>());
    for (auto id : ck.special_ids)
      if (!added.count(id))
        fail("{}: the special token id {} (from {}) is not an added token of this tokenizer (token count mismatch)",
             tj_path.string(), id, acfg_path.string());
  }

  // The trained rows.
  const auto st_path = enc / "adapter_model.safetensors";
  if (!fs::exists(st_path, ec)) fail("{}: missing (the trained special-token rows)", st_path.string());
  auto st = io::SafetensorsFile::open(st_path);
  std::string delta_key, full_key;
  for (auto& t : st->tensors()) {
    const auto& n = t.name;
    if (n.find("lora_") != std::string::npos)
      fail("{}: tensor \"{}\": the encoder carries LoRA weights; genlens imports the TrainableTokens encoder only",
           st_path.string(), n);
    if (ends_with(n, "embed_tokens.trainable_tokens_delta") ||
        ends_with(n, "embed_tokens.token_adapter.trainable_tokens_delta")) {
      if (!delta_key.empty())
        fail("{}: two special-token tensors (\"{}\" and \"{}\")", st_path.string(), delta_key, n);
      delta_key = n;
    } else if (ends_with(n, "embed_tokens.base_layer.weight") || ends_with(n, "embed_tokens.token_adapter.base_layer.weight") ||
               ends_with(n, "embed_tokens.weight")) {
      full_key = n;
    } else {
      fail("{}: unexpected tensor \"{}\" (expected ...embed_tokens.trainable_tokens_delta and optionally the "
           "resized embedding matrix)", st_path.string(), n);
    }
  }
  Tensor rows;  // [N, H] in token_indices order
  if (!delta_key.empty()) {
    // PEFT copies these rows in as they are: they are the trained embeddings, not deltas.
    // A saved full matrix holds the untrained initial rows there, so it is not used.
    rows = st->get(delta_key);
    if (rows.dim() != 2 || rows.size(0) != N || rows.size(1) != hidden)
      fail("{}: tensor \"{}\": expected shape [{}, {}] ({} token_indices x hidden size), found [{}]",
           st_path.string(), delta_key, N, hidden, N, fmt::join(rows.sizes(), ", "));
    ck.special_rows_from = delta_key;
  } else if (!full_key.empty()) {
    Tensor full = st->get(full_key);
    if (full.dim() != 2 || full.size(1) != hidden)
      fail("{}: tensor \"{}\": expected shape [vocab, {}], found [{}]", st_path.string(), full_key, hidden,
           fmt::join(full.sizes(), ", "));
    for (auto id : token_indices)
      if (id < 0 || id >= full.size(0))
        fail("{}: tensor \"{}\" has {} rows; token index {} is outside it", st_path.string(), full_key, full.size(0), id);
    rows = full.index_select(0, torch::tensor(token_indices, torch::kLong));
    ck.special_rows_from = full_key;
  } else {
    fail("{}: no special-token rows (expected a tensor named ...embed_tokens.trainable_tokens_delta)",
         st_path.string());
  }
  if (!rows.is_floating_point())
    fail("{}: tensor \"{}\": expected floating point, found {}", st_path.string(), ck.special_rows_from,
         c10::toString(rows.scalar_type()));
  // Re-order to the query-side order.
  std::vector<int64_t> perm;
  for (auto id : ck.special_ids)
    perm.push_back(std::find(token_indices.begin(), token_indices.end(), id) - token_indices.begin());
  rows = rows.to(torch::kFloat32).index_select(0, torch::tensor(perm, torch::kLong)).contiguous();

  const Head recon = read_head(dir / "reconstruction_mlp", hidden, hidden);
  const Head align = read_head(dir / "alignment_mlp", hidden, 0);

  gen::AdapterShape shape;
  shape.n_thought = N - K;
  shape.n_compression = K;
  shape.hidden = hidden;
  shape.teacher_dim = align.weight.size(0);
  ck.adapter = gen::Adapter(shape, torch::kCPU);
  const std::string src = dir.string();
  ck.adapter.assign("special_tokens.weight", rows, st_path.string());
  ck.adapter.assign("recon_head.weight", recon.weight, (dir / "reconstruction_mlp").string());
  ck.adapter.assign("recon_head.bias", recon.bias, (dir / "reconstruction_mlp").string());
  ck.adapter.assign("align_head.weight", align.weight, (dir / "alignment_mlp").string());
  ck.adapter.assign("align_head.bias", align.bias, (dir / "alignment_mlp").string());
  return ck;
}

gen::AdapterMeta import_official(const fs::path& checkpoint_dir, const model::DecoderLM& lm, const fs::path& model_dir,
                                 const fs::path& out_dir) {
  auto ck = read_official_checkpoint(checkpoint_dir, lm.config().hidden_size);
  for (auto id : ck.special_ids)
    if (id < 0)
      fail("{}: special token id {} is negative", (checkpoint_dir / "encoder/adapter_config.json").string(), id);
  gen::AdapterMeta meta;
  meta.base = gen::BaseModelIdentity::of(lm, model_dir);
  meta.shape = ck.adapter.shape();
  meta.teacher_kind = "official";
  std::error_code ec;
  auto abs = fs::weakly_canonical(checkpoint_dir, ec);
  meta.teacher_spec = "llm2vec-gen:" + (ec ? checkpoint_dir : abs).string();
  meta.compute_dtype = ck.torch_dtype;
  meta.training = json{{"imported_from", meta.teacher_spec.substr(12)},
                       {"format", "llm2vec-gen"},
                       {"encoding_mode", ck.encoding_mode},
                       {"special_tokens_ids", ck.special_ids},
                       {"special_rows_from", ck.special_rows_from},
                       {"model_name_or_path", ck.base_model_name},
                       {"torch_dtype", ck.torch_dtype}};
  gen::CheckpointFiles f;
  f.adapter = &ck.adapter;
  f.meta = &meta;
  gen::write_checkpoint(out_dir, f);
  return meta;
}

// ---------------------------------------------------------------- export

namespace {

// One head as the official ProjectionModel.save writes it.
c10::IValue head_pickle(const Tensor& w, const Tensor& b) {
  c10::impl::GenericDict sd(c10::StringType::get(), c10::TensorType::get());
  sd.insert("projection.weight", w.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  sd.insert("projection.bias", b.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  c10::impl::GenericDict cfg(c10::StringType::get(), c10::AnyType::get());
  cfg.insert("input_dim", c10::IValue(w.size(1)));
  cfg.insert("output_dim", c10::IValue(w.size(0)));
  cfg.insert("dtype", c10::IValue(std::string("torch.float32")));
  cfg.insert("size", c10::IValue(int64_t{1}));
  cfg.insert("pooling_mode", c10::IValue(std::string("linear")));
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("state_dict", c10::IValue(sd));
  top.insert("config", c10::IValue(cfg));
  return c10::IValue(top);
}

// The id the first added special token gets: len(tokenizer), as HF's add_special_tokens.
int64_t next_token_id(const fs::path& model_dir, const json& config) {
  std::error_code ec;
  const auto tj_path = model_dir / "tokenizer.json";
  if (fs::exists(tj_path, ec)) {
    const json tj = io::read_json_file(tj_path);
    int64_t top = -1;
    if (tj.contains("model") && tj["model"].contains("vocab")) {
      const auto& v = tj["model"]["vocab"];
      if (v.is_object())
        for (auto& [k, id] : v.items())
          if (id.is_number_integer()) top = std::max(top, id.get<int64_t>());
      if (v.is_array()) top = std::max(top, static_cast<int64_t>(v.size()) - 1);
    }
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array())
      for (auto& t : tj["added_tokens"])
        if (t.contains("id") && t["id"].is_number_integer()) top = std::max(top, t["id"].get<int64_t>());
    if (top >= 0) return top + 1;
  }
  return config.value("vocab_size", int64_t{0});
}

}  // namespace

void export_official(const gen::LoadedAdapter& la, const fs::path& model_dir, const fs::path& out_dir,
                     const ExportOptions& opt) {
  const auto& a = la.adapter;
  const auto& s = a.shape();
  const int64_t N = s.n_special();
  json base_cfg = read_json_required(model_dir / "config.json", "the base model's config");
  const int64_t first = next_token_id(model_dir, base_cfg);
  std::vector<int64_t> ids;
  std::vector<std::string> names;
  for (int64_t i = 0; i < N; ++i) {
    ids.push_back(first + i);
    names.push_back(fmt::format("{}{}>", opt.token_prefix, i + 1));
  }
  std::error_code ec;
  std::string base_name = opt.model_name_or_path;
  if (base_name.empty()) {
    auto abs = fs::weakly_canonical(model_dir, ec);
    base_name = (ec ? model_dir : abs).string();
  }
  const std::string mode = s.encoding_mode();

  io::write_dir_atomic(out_dir, [&](const fs::path& tmp) {
    fs::create_directories(tmp / "encoder");
    // PEFT TrainableTokens: the key PEFT's loader expects (it ignores unknown keys with
    // only a warning, so the spelling matters).
    io::save_safetensors(tmp / "encoder/adapter_model.safetensors",
                         {{"base_model.model.embed_tokens.trainable_tokens_delta",
                           a.special_tokens.detach().to(torch::kCPU, torch::kFloat32).contiguous()}},
                         {{"format", "pt"}});
    json acfg = {{"peft_type", "TRAINABLE_TOKENS"},
                 {"task_type", nullptr},
                 {"auto_mapping", nullptr},
                 {"base_model_name_or_path", base_name},
                 {"revision", nullptr},
                 {"inference_mode", true},
                 {"token_indices", ids},
                 {"target_modules", json::array({"embed_tokens"})},
                 {"init_weights", true}};
    io::write_file_atomic(tmp / "encoder/adapter_config.json", acfg.dump(2) + "\n");
    json ecfg = base_cfg;
    ecfg["num_special_tokens"] = N;
    ecfg["special_tokens_ids"] = ids;
    ecfg["special_tokens"] = ids;
    ecfg["tokenizer_original_num_tokens"] = first;
    ecfg["num_tokens"] = first + N;
    io::write_file_atomic(tmp / "encoder/config.json", ecfg.dump(2) + "\n");

    io::save_torch_pickle(tmp / "reconstruction_mlp", head_pickle(a.recon_w, a.recon_b));
    io::save_torch_pickle(tmp / "alignment_mlp", head_pickle(a.align_w, a.align_b));
    io::write_file_atomic(tmp / "encoder_decoder_config.json",
                          json{{"encoding_mode", mode}, {"save_decoder", false}}.dump(2) + "\n");

    // As the official save_args_to_yaml writes it: `key: str(value)` lines.
    std::string yml = "model_name_or_path: " + base_name + "\n";
    yml += "torch_dtype: float32\n";
    yml += "encoding_mode: " + mode + "\n";
    yml += python_list_line("special_tokens", names) + "\n\n";
    io::write_file_atomic(tmp / "run_config.yml", yml);

    // Tokenizer files with the added tokens (when the base model has them).
    if (fs::exists(model_dir / "tokenizer.json", ec)) {
      json tj = io::read_json_file(model_dir / "tokenizer.json");
      if (!tj.contains("added_tokens") || !tj["added_tokens"].is_array()) tj["added_tokens"] = json::array();
      for (int64_t i = 0; i < N; ++i)
        tj["added_tokens"].push_back({{"id", ids[i]},
                                      {"content", names[i]},
                                      {"single_word", false},
                                      {"lstrip", false},
                                      {"rstrip", false},
                                      {"normalized", false},
                                      {"special", true}});
      io::write_file_atomic(tmp / "tokenizer.json", tj.dump(2) + "\n");
    }
    if (fs::exists(model_dir / "tokenizer_config.json", ec)) {
      json tc = io::read_json_file(model_dir / "tokenizer_config.json");
      if (!tc.contains("added_tokens_decoder") || !tc["added_tokens_decoder"].is_object())
        tc["added_tokens_decoder"] = json::object();
      json extra = json::array();
      for (int64_t i = 0; i < N; ++i) {
        tc["added_tokens_decoder"][std::to_string(ids[i])] = {{"content", names[i]},  {"lstrip", false},
                                                              {"normalized", false},  {"rstrip", false},
                                                              {"single_word", false}, {"special", true}};
        extra.push_back(names[i]);
      }
      tc["additional_special_tokens"] = extra;
      io::write_file_atomic(tmp / "tokenizer_config.json", tc.dump(2) + "\n");
    }
    for (const char* f : {"special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt"})
      if (fs::exists(model_dir / f, ec)) fs::copy_file(model_dir / f, tmp / f);
  });
}

}  // namespace genlens::interop
