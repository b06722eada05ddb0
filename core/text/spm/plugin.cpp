// libgenlens_spm.so: the only place genlens links libsentencepiece (see spm_abi.h for
// why). Built as a CMake MODULE next to the executables; never linked, only dlopen()ed.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/text/spm/spm_abi.h"

namespace sentencepiece::logging {
void SetMinLogLevel(int v);  // exported by libsentencepiece, not declared in its headers
}

struct genlens_spm {
  sentencepiece::SentencePieceProcessor sp;
};

namespace {

void set_err(char* err, size_t len, const std::string& msg) {
  if (!err || len == 0) return;
  size_t n = std::min(len - 1, msg.size());
  std::memcpy(err, msg.data(), n);
  err[n] = '\0';
}

long copy_out(const std::string& s, char* out, size_t cap) {
  if (out && cap) std::memcpy(out, s.data(), std::min(cap, s.size()));
  return static_cast<long>(s.size());
}

class LinesIterator : public sentencepiece::SentenceIterator {
 public:
  LinesIterator(const char* const* lines, const size_t* lens, size_t n) : lines_(lines), lens_(lens), n_(n) { load(); }
  bool done() const override { return i_ >= n_; }
  void Next() override {
    ++i_;
    load();
  }
  const std::string& value() const override { return cur_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void load() {
    if (i_ < n_) cur_.assign(lines_[i_], lens_[i_]);
  }
  const char* const* lines_;
  const size_t* lens_;
  size_t n_, i_ = 0;
  std::string cur_;
};

}  // namespace

extern "C" {

int genlens_spm_abi_version(void) { return GENLENS_SPM_ABI_VERSION; }

genlens_spm* genlens_spm_load_file(const char* path, char* err, size_t err_len) {
  auto m = std::make_unique<genlens_spm>();
  auto st = m->sp.Load(path);
  if (!st.ok()) {
    set_err(err, err_len, st.ToString());
    return nullptr;
  }
  return m.release();
}

genlens_spm* genlens_spm_load_bytes(const char* data, size_t len, char* err, size_t err_len) {
  auto m = std::make_unique<genlens_spm>();
  auto st = m->sp.LoadFromSerializedProto(std::string(data, len));
  if (!st.ok()) {
    set_err(err, err_len, st.ToString());
    return nullptr;
  }
  return m.release();
}

void genlens_spm_free(genlens_spm* m) { delete m; }

long genlens_spm_encode(const genlens_spm* m, const char* text, size_t len, int32_t* ids, uint32_t* begins,
                        uint32_t* ends, size_t cap, char* err, size_t err_len) {
  sentencepiece::ImmutableSentencePieceText spt;
  auto st = m->sp.Encode(absl::string_view(text, len), spt.mutable_proto());
  if (!st.ok()) {
    set_err(err, err_len, st.ToString());
    return -1;
  }
  size_t n = spt.pieces_size();
  for (size_t i = 0; i < n && i < cap; ++i) {
    auto p = spt.pieces(static_cast<int>(i));
    ids[i] = static_cast<int32_t>(p.id());
    begins[i] = p.begin();
    ends[i] = p.end();
  }
  return static_cast<long>(n);
}

long genlens_spm_decode(const genlens_spm* m, const int32_t* ids, size_t n, char* out, size_t cap) {
  std::vector<int> v(ids, ids + n);
  std::string s;
  if (!m->sp.Decode(v, &s).ok()) return -1;
  return copy_out(s, out, cap);
}

long genlens_spm_id_to_piece(const genlens_spm* m, int32_t id, char* out, size_t cap) {
  if (id < 0 || id >= m->sp.GetPieceSize()) return -1;
  return copy_out(m->sp.IdToPiece(id), out, cap);
}

int32_t genlens_spm_piece_to_id(const genlens_spm* m, const char* piece, size_t len) {
  std::string p(piece, len);
  int id = m->sp.PieceToId(p);
  if (id < 0 || m->sp.IdToPiece(id) != p) return -1;
  return id;
}

int32_t genlens_spm_vocab_size(const genlens_spm* m) { return m->sp.GetPieceSize(); }

int32_t genlens_spm_special_id(const genlens_spm* m, int which) {
  int id = which == 0 ? m->sp.bos_id() : which == 1 ? m->sp.eos_id() : which == 2 ? m->sp.pad_id() : m->sp.unk_id();
  return id >= 0 && id < m->sp.GetPieceSize() ? id : -1;
}

int genlens_spm_is_special(const genlens_spm* m, int32_t id) {
  if (id < 0 || id >= m->sp.GetPieceSize()) return 0;
  return m->sp.IsControl(id) || m->sp.IsUnknown(id) ? 1 : 0;
}

int genlens_spm_train(const char* args, const char* const* lines, const size_t* lens, size_t n_lines,
                      unsigned int seed, char** out_model, size_t* out_len, char* err, size_t err_len) {
  sentencepiece::logging::SetMinLogLevel(2);  // training chatter off; errors still reported
  sentencepiece::SetRandomGeneratorSeed(seed);
  std::string model;
  sentencepiece::util::Status st;
  if (lines) {
    LinesIterator it(lines, lens, n_lines);
    st = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  } else {
    st = sentencepiece::SentencePieceTrainer::Train(args, nullptr, &model);
  }
  if (!st.ok()) {
    set_err(err, err_len, st.ToString());
    return -1;
  }
  char* buf = static_cast<char*>(std::malloc(model.size() ? model.size() : 1));
  if (!buf) {
    set_err(err, err_len, "out of memory");
    return -1;
  }
  std::memcpy(buf, model.data(), model.size());
  *out_model = buf;
  *out_len = model.size();
  return 0;
}

void genlens_spm_free_buffer(char* p) { std::free(p); }

}  // extern "C"
