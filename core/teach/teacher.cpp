#include "core/teach/teacher.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/io/atomic_file.h"
#include "core/io/npy.h"
#include "core/model/lora.h"
#include "core/model/padding.h"
#include "core/runtime/job.h"
#include "core/text/tokenizer.h"
#include "core/text/unicode.h"
#include "core/util/error.h"

namespace genlens::teach {

namespace fs = std::filesystem;
using nlohmann::json;
using torch::Tensor;

Teacher::Teacher(std::string kind, std::string spec, Tensor embeddings)
    : kind_(std::move(kind)), spec_(std::move(spec)), data_(std::move(embeddings)) {}

Tensor Teacher::get(const std::vector<int64_t>& rows) const {
  for (int64_t r : rows)
    if (r < 0 || r >= n_rows()) fail("teacher {}: row {} out of range [0, {})", spec_, r, n_rows());
  return data_.index_select(0, torch::tensor(rows, torch::kLong));
}

// ---------------------------------------------------------------- mean pooling

Tensor mean_pool(const model::DecoderLM& lm, const std::vector<TokenRow>& texts, int64_t batch_size, bool causal,
                 const PoolProgress& progress) {
  const int64_t N = static_cast<int64_t>(texts.size()), bs = std::max<int64_t>(1, batch_size);
  Tensor out = torch::zeros({N, lm.config().hidden_size}, torch::kFloat32);
  torch::NoGradGuard ng;
  model::ForwardOptions fo;
  fo.causal = causal;
  for (int64_t begin = 0; begin < N; begin += bs) {
    if (progress.check_cancel) progress.check_cancel();
    const int64_t end = std::min(N, begin + bs);
    std::vector<TokenRow> rows(texts.begin() + begin, texts.begin() + end);
    auto batch = model::left_pad(rows, 0, lm.device());
    auto h = lm.forward(lm.embed(batch.ids), batch.mask, fo).last_hidden.to(torch::kFloat32);
    auto m = batch.mask.to(h.device()).to(torch::kFloat32).unsqueeze(-1);  // [B, T, 1]
    auto pooled = (h * m).sum(1) / m.sum(1).clamp_min(1.0);                // empty rows -> zeros
    out.narrow(0, begin, end - begin).copy_(pooled.cpu());
    if (progress.on_progress) progress.on_progress(end);
  }
  return out;
}

MeanPoolTeacher::MeanPoolTeacher(std::shared_ptr<const model::DecoderLM> lm, const std::vector<TokenRow>& texts,
                                 int64_t batch_size, const PoolProgress& progress) {
  kind_ = spec_ = "mean-pool";
  data_ = mean_pool(*lm, texts, batch_size, /*causal=*/true, progress);
}

NpyTeacher::NpyTeacher(const fs::path& path, int64_t expected_rows, int64_t expected_dim) {
  kind_ = "npy";
  spec_ = "npy:" + path.string();
  auto t = io::load_npy(path);
  if (t.dim() != 2)
    fail("{}: teacher embeddings must be a 2-D array [rows, dim], found {} dimension(s) [{}]", path.string(),
         t.dim(), fmt::join(t.sizes(), ", "));
  if (!t.is_floating_point())
    fail("{}: teacher embeddings must be floating point (float32/float16/float64), found {}", path.string(),
         c10::toString(t.scalar_type()));
  if (t.size(0) != expected_rows)
    fail("{}: teacher embeddings have {} rows but the training data has {} rows (row i must be the "
         "embedding of training row i)", path.string(), t.size(0), expected_rows);
  if (expected_dim > 0 && t.size(1) != expected_dim)
    fail("{}: teacher embeddings have dimension {}, expected {}", path.string(), t.size(1), expected_dim);
  if (t.size(1) < 1) fail("{}: teacher embeddings have dimension 0", path.string());
  data_ = t.to(torch::kFloat32).contiguous();
  if (!torch::isfinite(data_).all().item<bool>())
    fail("{}: teacher embeddings contain NaN or infinite values", path.string());
}

// ---------------------------------------------------------------- llm2vec

Llm2VecSpec Llm2VecSpec::parse(const std::string& spec) {
  const std::string prefix = "llm2vec:";
  if (spec.rfind(prefix, 0) != 0) fail("--teacher: expected \"llm2vec:BASE+MNTP_LORA[+SIMCSE_LORA]\", found \"{}\"", spec);
  std::vector<std::string> parts;
  std::string rest = spec.substr(prefix.size()), cur;
  for (char c : rest) {
    if (c == '+') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(cur);
  if (parts.size() < 2 || parts.size() > 3 ||
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
    fail("--teacher {}: expected llm2vec:BASE_DIR+MNTP_LORA_DIR[+SIMCSE_LORA_DIR] (the base model, its MNTP LoRA, "
         "optionally the SimCSE LoRA), found {} part(s)", spec, parts.size());
  Llm2VecSpec s;
  s.base = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) s.loras.emplace_back(parts[i]);
  return s;
}

Llm2VecTeacher::Llm2VecTeacher(const std::string& spec, const std::vector<std::string>& answers, int64_t batch_size,
                               int64_t max_length, torch::Device device, torch::ScalarType dtype,
                               const PoolProgress& progress) {
  kind_ = "llm2vec";
  spec_ = spec;
  auto s = Llm2VecSpec::parse(spec);
  auto tok = text::load_tokenizer(s.base);
  std::vector<TokenRow> rows;
  rows.reserve(answers.size());
  for (auto& a : answers) {
    // The official collator embeds `answer.strip()` (Python's Unicode whitespace).
    auto ids = tok->encode(std::string(text::unicode::py_strip(a)), /*add_special=*/true);
    if (max_length > 0 && static_cast<int64_t>(ids.size()) > max_length) ids.resize(static_cast<size_t>(max_length));
    rows.emplace_back(ids.begin(), ids.end());
  }
  auto lm = model::load_with_lora(s.base, s.loras, device, dtype);
  data_ = mean_pool(*lm, rows, batch_size, /*causal=*/false, progress);
}

// ---------------------------------------------------------------- choosing and caching

namespace {

uint64_t fnv(const void* p, size_t n, uint64_t h = 14695981039346656037ull) {
  auto c = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= c[i];
    h *= 1099511628211ull;
  }
  return h;
}
uint64_t fnv_str(const std::string& s, uint64_t h) { return fnv(s.data(), s.size(), h); }

// Identity of a model or adapter directory: its JSON files and the sizes and times of
// its weight files (hashing gigabytes of weights would cost as much as the teacher).
uint64_t dir_identity(const fs::path& dir, uint64_t h) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir, ec)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    auto name = f.filename().string();
    auto ext = f.extension().string();
    if (ext == ".json") {
      h = fnv_str(name, h);
      h = fnv_str(io::read_file(f), h);
    } else if (ext == ".safetensors" || ext == ".model") {
      h = fnv_str(name, h);
      auto size = fs::file_size(f, ec);
      auto time = fs::last_write_time(f, ec).time_since_epoch().count();
      h = fnv(&size, sizeof size, h);
      h = fnv(&time, sizeof time, h);
    }
  }
  return h;
}

std::string teacher_fingerprint(const std::string& spec, const TeacherInputs& in) {
  uint64_t h = fnv_str(spec, 14695981039346656037ull);
  std::error_code ec;
  auto n = static_cast<int64_t>(std::max(in.texts.size(), in.answers.size()));
  h = fnv(&n, sizeof n, h);
  if (spec == "mean-pool") {
    h = fnv(&in.batch_size, sizeof in.batch_size, h);
    for (auto& r : in.texts) {
      auto len = static_cast<int64_t>(r.size());
      h = fnv(&len, sizeof len, h);
      h = fnv(r.data(), r.size() * sizeof(int32_t), h);
    }
    if (in.lm) {
      // The model's numbers decide the targets: a fingerprint of a few of its values.
      for (auto& [name, t] : in.lm->named_parameters())
        if (name == "model.norm.weight" || name == "model.embed_tokens.weight") {
          auto v = t.detach().flatten().narrow(0, 0, std::min<int64_t>(t.numel(), 4096)).to(torch::kCPU, torch::kFloat32).contiguous();
          h = fnv(v.data_ptr<float>(), static_cast<size_t>(v.numel()) * sizeof(float), h);
        }
      h = fnv_str(c10::toString(in.lm->dtype()), h);
    }
  } else if (spec.rfind("npy:", 0) == 0) {
    h = fnv_str(io::read_file(spec.substr(4)), h);
  } else if (spec.rfind("llm2vec:", 0) == 0) {
    auto s = Llm2VecSpec::parse(spec);
    h = dir_identity(s.base, h);
    for (auto& l : s.loras) h = dir_identity(l, h);
    h = fnv(&in.batch_size, sizeof in.batch_size, h);
    h = fnv(&in.max_length, sizeof in.max_length, h);
    for (auto& a : in.answers) {
      auto len = static_cast<int64_t>(a.size());
      h = fnv(&len, sizeof len, h);
      h = fnv_str(a, h);
    }
    if (in.lm) h = fnv_str(c10::toString(in.lm->dtype()), h);
  }
  return fmt::format("{:016x}", h);
}

}  // namespace

std::unique_ptr<Teacher> make_teacher(const std::string& spec, const TeacherInputs& in, runtime::JobContext* ctx) {
  const auto n_rows = static_cast<int64_t>(std::max(in.texts.size(), in.answers.size()));
  PoolProgress p;
  if (ctx) {
    p.on_progress = [ctx](int64_t done) { ctx->set_done(done); };
    p.check_cancel = [ctx] { ctx->check_cancel(); };
  }
  if (spec == "mean-pool") {
    if (!in.lm) fail("--teacher mean-pool: no base model to pool with");
    return std::make_unique<MeanPoolTeacher>(in.lm, in.texts, in.batch_size, p);
  }
  if (spec.rfind("npy:", 0) == 0) {
    auto path = spec.substr(4);
    if (path.empty()) fail("--teacher npy:PATH: expected a path after \"npy:\", found nothing");
    return std::make_unique<NpyTeacher>(path, n_rows);
  }
  if (spec.rfind("llm2vec:", 0) == 0) {
    if (in.answers.size() != static_cast<size_t>(n_rows) || in.answers.empty())
      fail("--teacher {}: the llm2vec teacher reads the answers as text, and none were given", spec);
    auto device = in.lm ? in.lm->device() : torch::Device(torch::kCPU);
    auto dtype = in.lm ? in.lm->dtype() : torch::kFloat32;
    return std::make_unique<Llm2VecTeacher>(spec, in.answers, in.batch_size, in.max_length, device, dtype, p);
  }
  fail("--teacher: expected \"mean-pool\" or \"npy:PATH\" or \"llm2vec:BASE+MNTP_LORA[+SIMCSE_LORA]\", found \"{}\"",
       spec);
}

std::unique_ptr<Teacher> make_teacher(const std::string& spec, std::shared_ptr<const model::DecoderLM> lm,
                                      std::vector<TokenRow> texts, int64_t batch_size) {
  TeacherInputs in;
  in.lm = std::move(lm);
  in.texts = std::move(texts);
  in.batch_size = batch_size;
  return make_teacher(spec, in);
}

std::shared_ptr<Teacher> prepare_teacher(const std::string& spec, const TeacherInputs& in, const fs::path& run_dir,
                                         runtime::JobContext* ctx) {
  const auto n_rows = static_cast<int64_t>(std::max(in.texts.size(), in.answers.size()));
  const bool known = spec == "mean-pool" || spec.rfind("npy:", 0) == 0 || spec.rfind("llm2vec:", 0) == 0;
  if (!known) return make_teacher(spec, in, ctx);  // the error message
  const auto fp = teacher_fingerprint(spec, in);
  const auto npy = run_dir / "teacher.npy", meta = run_dir / "teacher.json";
  std::error_code ec;
  if (fs::exists(npy, ec) && fs::exists(meta, ec)) {
    json m;
    try {
      m = io::read_json_file(meta);
    } catch (const Error&) {
      m = json::object();
    }
    if (m.is_object() && m.value("fingerprint", std::string()) == fp) {
      auto t = io::load_npy(npy);
      if (t.dim() == 2 && t.size(0) == n_rows) {
        if (ctx) ctx->log(fmt::format("teacher {}: reusing {} ({} x {}, fingerprint {})", spec, npy.string(),
                                      t.size(0), t.size(1), fp));
        return std::make_shared<Teacher>(m.value("kind", std::string("cached")), spec,
                                         t.to(torch::kFloat32).contiguous());
      }
    }
    if (ctx) ctx->log(fmt::format("teacher {}: {} is for another teacher or data; recomputing", spec, npy.string()));
  }
  if (ctx) ctx->set_stage("teacher", n_rows, "rows");
  std::shared_ptr<Teacher> t = make_teacher(spec, in, ctx);
  fs::create_directories(run_dir, ec);
  io::save_npy(npy, t->embeddings());
  io::write_file_atomic(meta, json{{"spec", spec},
                                   {"kind", t->kind()},
                                   {"fingerprint", fp},
                                   {"rows", t->n_rows()},
                                   {"dim", t->dim()}}
                                      .dump(2) +
                                  "\n");
  if (ctx) ctx->log(fmt::format("teacher {}: {} x {} targets -> {}", spec, t->n_rows(), t->dim(), npy.string()));
  return t;
}

}  // namespace genlens::teach
