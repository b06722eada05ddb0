#include "core/teach/teacher.h"

#include "core/io/npy.h"
#include "core/util/error.h"

namespace genlens::teach {

namespace fs = std::filesystem;

MeanPoolTeacher::MeanPoolTeacher(std::shared_ptr<const model::DecoderLM> lm, std::vector<gen::TokenRow> texts,
                                 int64_t batch_size)
    : lm_(std::move(lm)), texts_(std::move(texts)), batch_size_(std::max<int64_t>(1, batch_size)) {
  const int64_t N = n_rows();
  cache_ = torch::zeros({N, dim()}, torch::kFloat32);
  have_chunk_.assign(static_cast<size_t>((N + batch_size_ - 1) / batch_size_), 0);
}

int64_t MeanPoolTeacher::dim() const { return lm_->config().hidden_size; }

void MeanPoolTeacher::compute_chunk(int64_t chunk) {
  const int64_t begin = chunk * batch_size_, end = std::min(n_rows(), begin + batch_size_);
  std::vector<gen::TokenRow> rows(texts_.begin() + begin, texts_.begin() + end);
  torch::NoGradGuard ng;
  auto batch = gen::left_pad(rows, 0, lm_->device());
  auto out = lm_->forward(lm_->embed(batch.ids), batch.mask);
  auto pooled = gen::masked_mean(out.last_hidden, batch.mask).cpu();  // empty rows -> zeros
  cache_.narrow(0, begin, end - begin).copy_(pooled);
  have_chunk_[static_cast<size_t>(chunk)] = 1;
}

torch::Tensor MeanPoolTeacher::get(const std::vector<int64_t>& rows) {
  for (int64_t r : rows) {
    if (r < 0 || r >= n_rows()) fail("mean-pool teacher: row {} out of range [0, {})", r, n_rows());
    int64_t c = r / batch_size_;
    if (!have_chunk_[static_cast<size_t>(c)]) compute_chunk(c);
  }
  return cache_.index_select(0, torch::tensor(rows, torch::kLong));
}

NpyTeacher::NpyTeacher(const fs::path& path, int64_t expected_rows, int64_t expected_dim) : path_(path) {
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

torch::Tensor NpyTeacher::get(const std::vector<int64_t>& rows) {
  for (int64_t r : rows)
    if (r < 0 || r >= n_rows()) fail("{}: row {} out of range [0, {})", path_.string(), r, n_rows());
  return data_.index_select(0, torch::tensor(rows, torch::kLong));
}

std::unique_ptr<Teacher> make_teacher(const std::string& spec, std::shared_ptr<const model::DecoderLM> lm,
                                      std::vector<gen::TokenRow> texts, int64_t batch_size) {
  if (spec == "mean-pool") return std::make_unique<MeanPoolTeacher>(std::move(lm), std::move(texts), batch_size);
  if (spec.rfind("npy:", 0) == 0) {
    auto path = spec.substr(4);
    if (path.empty()) fail("--teacher npy:PATH: expected a path after \"npy:\", found nothing");
    return std::make_unique<NpyTeacher>(path, static_cast<int64_t>(texts.size()));
  }
  fail("--teacher: expected \"mean-pool\" or \"npy:PATH\", found \"{}\"", spec);
}

}  // namespace genlens::teach
