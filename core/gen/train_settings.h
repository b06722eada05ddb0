// What a training run is: its settings (every flag of `genlens train` that changes the
// result; saved in trainer_state.json and checked on --resume) and its token-level data.
// Each setting is listed once more, in kTrainSettingFields below, with its JSON key, its
// option and what --resume does with it; the JSON, the options and the resume checks
// are all read from that table, so a new setting is one member plus one row.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/gen/adapter.h"

namespace genlens::gen {

// Every member has its row in kTrainSettingFields.
struct TrainSettings {
  int64_t steps = 5000;
  int64_t batch_size = 32;      // rows per micro-batch, over all ranks together (the global batch)
  int64_t grad_accum = 1;       // micro-batches per optimizer step
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  double weight_decay = 0.0;    // HF TrainingArguments' default, which the reference uses
  int64_t warmup_steps = 100;
  double max_grad_norm = 1.0;   // HF default; <= 0 disables clipping
  double recon_weight = 1.0, align_weight = 1.0;
  int64_t n_thought = 10, n_compression = 10;
  int64_t query_max_length = 512;     // text tokens; the special tokens come on top
  int64_t response_max_length = 512;  // response + EOS (the reference generates <= 500 tokens)
  uint64_t seed = 42;
  int64_t save_every = 500;     // also saved at the last step and on cancel
  int64_t keep = 3;             // newest checkpoints kept (<= 0: all)
  double special_init_std = -1; // <= 0: std of the base model's embedding matrix
  int64_t teacher_batch = 16;
  std::string teacher = "mean-pool";  // or "npy:PATH"
  std::string instruction;            // prepended to every training query (default none)

  nlohmann::json to_json() const;
  static TrainSettings from_json(const nlohmann::json& j, const std::string& source);
  void validate() const;
  // Settings that are valid but probably not what was meant, one sentence each (the CLI
  // prints them before training, the studio's form shows them): a warm-up as long as the
  // run (--warmup >= --steps), so the learning rate never reaches --lr.
  std::vector<std::string> warnings() const;
};

// A TrainSettings member, by its type.
using TrainSettingMember = std::variant<int64_t TrainSettings::*, uint64_t TrainSettings::*, double TrainSettings::*,
                                        std::string TrainSettings::*>;

// What --resume does when the command's value differs from the run's.
enum class OnResume {
  MustMatch,  // it changes what a step computes: refused, naming the setting
  Schedule,   // the learning-rate schedule: may change on purpose to extend a run (logged)
  Free,       // bookkeeping (checkpoint cadence, teacher batching): the command's value applies
};

struct TrainSettingField {
  // The `genlens train` option ("--lr"); a setting without one is named in words
  // ("AdamW eps"). Errors name the setting by this.
  const char* name;
  const char* help;  // the option's help text (nullptr without an option)
  // Its key in genlens.json "training" and trainer_state.json "settings"; slot >= 0: the
  // key holds an array of `slots` values and this is element `slot` ("betas": [b1, b2]).
  const char* key;
  int slot, slots;
  TrainSettingMember member;
  OnResume on_resume;
  bool quoted;  // resume errors show the values in quotes (free text, may be empty)

  constexpr bool is_option() const { return name[0] == '-'; }
};

// Every setting, in the order `genlens train --help` lists the options. (On disk the JSON
// keys come out sorted, whatever this order.)
inline constexpr TrainSettingField kTrainSettingFields[] = {
    {"--teacher",
     "mean-pool (the frozen LLM over the answer), npy:PATH ([N, D], row-aligned) or "
     "llm2vec:BASE+MNTP_LORA[+SIMCSE_LORA] (the paper's teacher; directories or Hugging Face cache ids "
     "ORG/NAME[@REV]); computed once, cached as OUT/teacher.npy",
     "teacher", -1, 0, &TrainSettings::teacher, OnResume::MustMatch, false},
    {"--steps", "Optimizer steps", "steps", -1, 0, &TrainSettings::steps, OnResume::Schedule, false},
    {"--batch-size", "Rows per micro-batch", "batch_size", -1, 0, &TrainSettings::batch_size, OnResume::MustMatch,
     false},
    {"--grad-accum", "Micro-batches per optimizer step", "grad_accum", -1, 0, &TrainSettings::grad_accum,
     OnResume::MustMatch, false},
    {"--lr", "Peak learning rate (AdamW)", "lr", -1, 0, &TrainSettings::lr, OnResume::Schedule, false},
    {"--warmup", "Linear warm-up steps, then linear decay to 0", "warmup_steps", -1, 0, &TrainSettings::warmup_steps,
     OnResume::Schedule, false},
    {"--weight-decay", "AdamW decoupled weight decay", "weight_decay", -1, 0, &TrainSettings::weight_decay,
     OnResume::MustMatch, false},
    {"--beta1", "AdamW beta1", "betas", 0, 2, &TrainSettings::beta1, OnResume::MustMatch, false},
    {"--beta2", "AdamW beta2", "betas", 1, 2, &TrainSettings::beta2, OnResume::MustMatch, false},
    {"AdamW eps", nullptr, "adam_eps", -1, 0, &TrainSettings::adam_eps, OnResume::MustMatch, false},
    {"--max-grad-norm", "Gradient clipping (<= 0: off)", "max_grad_norm", -1, 0, &TrainSettings::max_grad_norm,
     OnResume::MustMatch, false},
    {"--recon-weight", "Weight of the reconstruction loss (may be 0)", "recon_weight", -1, 0,
     &TrainSettings::recon_weight, OnResume::MustMatch, false},
    {"--align-weight", "Weight of the alignment loss (may be 0)", "align_weight", -1, 0, &TrainSettings::align_weight,
     OnResume::MustMatch, false},
    {"--thought", "Thought tokens", "n_thought", -1, 0, &TrainSettings::n_thought, OnResume::MustMatch, false},
    {"--compression", "Compression tokens (the embedding is read from these)", "n_compression", -1, 0,
     &TrainSettings::n_compression, OnResume::MustMatch, false},
    {"--query-max-length", "Most query tokens (special tokens come on top)", "query_max_length", -1, 0,
     &TrainSettings::query_max_length, OnResume::MustMatch, false},
    {"--response-max-length", "Most response tokens incl. EOS", "response_max_length", -1, 0,
     &TrainSettings::response_max_length, OnResume::MustMatch, false},
    {"--instruction", "Text put before every training question", "instruction", -1, 0, &TrainSettings::instruction,
     OnResume::MustMatch, true},
    {"--seed", "Seed of the init and the data order", "seed", -1, 0, &TrainSettings::seed, OnResume::MustMatch, false},
    {"--save-every", "Checkpoint every N steps (and at the end, and on Ctrl-C)", "save_every", -1, 0,
     &TrainSettings::save_every, OnResume::Free, false},
    {"--keep", "Keep the newest K checkpoints (<= 0: all)", "keep", -1, 0, &TrainSettings::keep, OnResume::Free,
     false},
    {"--teacher-batch", "Batch size of the teacher's forward passes", "teacher_batch", -1, 0,
     &TrainSettings::teacher_batch, OnResume::Free, false},
    {"--special-init-std", "Std of the special tokens' init (<= 0: the embedding matrix's)", "special_init_std", -1, 0,
     &TrainSettings::special_init_std, OnResume::Free, false},
};

// Token-level training data (the text-level builder is core/data/responses.h).
struct TrainData {
  std::vector<std::string> ids;
  std::vector<TokenRow> query;   // instruction + question tokens (truncated at batch time)
  std::vector<TokenRow> target;  // response tokens + EOS, already cut to the max length
  int64_t size() const { return static_cast<int64_t>(query.size()); }
  std::string fingerprint() const;  // hash of every token, to refuse resuming on other data
};

}  // namespace genlens::gen
