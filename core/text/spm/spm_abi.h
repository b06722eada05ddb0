/* The C interface of the genlens_spm plugin (libgenlens_spm.so), which wraps
 * libsentencepiece. Debian's libsentencepiece bundles protobuf-lite and exports its
 * symbols, which clash with LibTorch's libprotobuf when both are linked into one
 * process; so sentencepiece lives only in this plugin, which core/text/spm_tokenizer.cpp
 * dlopen()s with RTLD_LOCAL | RTLD_DEEPBIND. Plain C types only; strings are byte
 * buffers with lengths; functions that fill a buffer return the size they need. */
#ifndef GENLENS_SPM_ABI_H
#define GENLENS_SPM_ABI_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GENLENS_SPM_ABI_VERSION 1

typedef struct genlens_spm genlens_spm;

int genlens_spm_abi_version(void);

/* Returns NULL on failure with a message in err (NUL-terminated, truncated to err_len). */
genlens_spm* genlens_spm_load_file(const char* path, char* err, size_t err_len);
genlens_spm* genlens_spm_load_bytes(const char* data, size_t len, char* err, size_t err_len);
void genlens_spm_free(genlens_spm* m);

/* Encodes text[0..len) into at most cap tokens (ids and byte offsets into text).
 * Returns the token count (call again with a larger cap if it exceeds cap), -1 on error. */
long genlens_spm_encode(const genlens_spm* m, const char* text, size_t len, int32_t* ids,
                        uint32_t* begins, uint32_t* ends, size_t cap, char* err, size_t err_len);
/* Decodes ids into out (at most cap bytes); returns the full length, -1 on error. */
long genlens_spm_decode(const genlens_spm* m, const int32_t* ids, size_t n, char* out, size_t cap);
/* The piece of an id into out (at most cap bytes); returns its length, -1 if out of range. */
long genlens_spm_id_to_piece(const genlens_spm* m, int32_t id, char* out, size_t cap);
/* The id of a piece, -1 when the vocabulary does not hold it. */
int32_t genlens_spm_piece_to_id(const genlens_spm* m, const char* piece, size_t len);
int32_t genlens_spm_vocab_size(const genlens_spm* m);
/* -1 when the model has none. */
int32_t genlens_spm_special_id(const genlens_spm* m, int which); /* 0 bos, 1 eos, 2 pad, 3 unk */
/* 1 for control/unknown pieces (what tokenizers treat as special), else 0. */
int genlens_spm_is_special(const genlens_spm* m, int32_t id);

/* Trains a model. args: sentencepiece trainer flags ("--vocab_size=... --model_type=bpe
 * ..."). Sentences come from lines (n_lines entries of lens[i] bytes) or, when lines is
 * NULL, from --input=FILE in args. On success returns 0 and *out_model (free with
 * genlens_spm_free_buffer) holds the serialized model; on failure -1 and err. */
int genlens_spm_train(const char* args, const char* const* lines, const size_t* lens, size_t n_lines,
                      unsigned int seed, char** out_model, size_t* out_len, char* err, size_t err_len);
void genlens_spm_free_buffer(char* p);

#ifdef __cplusplus
}
#endif
#endif
