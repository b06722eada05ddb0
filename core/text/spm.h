// SentencePiece (tokenizer.model): loading and training. Both go through the
// genlens_spm plugin (core/text/spm/), which is dlopen()ed on first use from next to
// the running executable, $GENLENS_SPM_PLUGIN, or the build tree.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/text/tokenizer.h"

namespace genlens::text {

struct SpmTrainOptions {
  std::string model_type = "bpe";  // bpe | unigram | char | word
  double character_coverage = 1.0;
  bool byte_fallback = true;       // unknown characters become <0xXX> pieces
  bool split_digits = true;
  bool hard_vocab_limit = true;    // false: a smaller vocabulary is fine for tiny corpora
  // Lossless by default (like Llama's tokenizer.model): no NFKC, spaces kept as they are.
  std::string normalization = "identity";  // or nmt_nfkc, nfkc, ...
  bool remove_extra_whitespaces = false;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // -1: none
  std::vector<std::string> user_defined_symbols;        // always one piece each
  int num_threads = 1;
  unsigned seed = 42;
  int max_sentence_length = 1 << 16;
  std::string extra_args;  // further trainer flags, "--key=value ..."
};

// Trains a model on `lines` (one sentence each) and writes it atomically to
// `out_model_path` (a tokenizer.model). Throws genlens::Error with the trainer's message.
void train_sentencepiece(const std::vector<std::string>& lines, int vocab_size,
                         const std::filesystem::path& out_model_path, const SpmTrainOptions& options = {});
// Same, with the sentences read from a text file, one per line.
void train_sentencepiece(const std::filesystem::path& corpus_file, int vocab_size,
                         const std::filesystem::path& out_model_path, const SpmTrainOptions& options = {});

// A SentencePiece tokenizer from a model file (tokenizer_config.json is not consulted).
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model_file);

// Where the plugin was (or would be) loaded from; throws with the searched paths if absent.
std::string spm_plugin_path();

}  // namespace genlens::text
