// The malformed-input corpus: each row is one bad input a person could hand
// genlens -- which file is broken and how (a mutation of a valid scratch copy), the
// command line, the exit code, and what the message must say (the file and the field).
// tests/unit/test_malformed_inputs.cpp runs every row through one driver, which also
// checks that nothing written before the command (inputs, an earlier output) changed.
//
// Placeholders in `args`: {model} (copy of the tiny Qwen3 text model), {adapter} (a trained
// adapter checkpoint), {texts} (texts.jsonl), {responses} (responses.jsonl: id, question,
// answer), {queries} (queries.jsonl: id, question), {npy} (emb.npy, float32 [4, 8]),
// {out} (out.npy, an earlier output that must survive), {run} (a fresh run directory),
// {dir} (the scratch directory).
#pragma once
#include <string>
#include <vector>

namespace genlens::test::corpus {

enum class Op {
  Write,        // file := value (text)
  SetJson,      // JSON file: key (a JSON pointer) := value (JSON text)
  EraseJson,    // JSON file: remove key (a JSON pointer)
  Truncate,     // file keeps its first `value` bytes (a negative value: drops that many at the end)
  Remove,       // delete file
  StHeader,     // safetensors file: in its JSON header, key (a JSON pointer) := value (JSON text)
  StHeaderLen,  // safetensors file: the 8-byte header length := value (decimal)
  Npy,          // file := a .npy with header dict `value` (version 1.0) and `key` data bytes
  CopyDir,      // directory file := a copy of the directory `value` (e.g. a run's checkpoint from {adapter})
};

struct Mutation {
  Op op;
  std::string file;  // relative to the scratch directory
  std::string key;
  std::string value;
};

struct Case {
  std::string kind;  // the input kind (for the summary and for INFO)
  std::string what;  // what is wrong
  std::vector<Mutation> mutations;
  std::string args;  // genlens command line with placeholders
  int exit_code;     // 1: the work failed (genlens::Error), 2: the command line was refused
  std::vector<std::string> expect;  // substrings the output must contain
};

// Commands that read each input kind.
inline const std::string kForward = "forward --model {model} --ids 1,2,3";
inline const std::string kTokenize = "tokenize --model {model} --text 'Hello world'";
inline const std::string kChat = "chat-format --model {model} --text hi";
inline const std::string kEncode = "encode --model {model} --mode mean --input {texts} --output {out}";
inline const std::string kEncodeAdapter = "encode --model {model} --adapter {adapter} --input {texts} --output {out}";
inline const std::string kTrain =
    "train --model {model} --data {responses} --out {run} --steps 1 --batch-size 2 --thought 1 --compression 1";
inline const std::string kProject = "project --method pca --input {npy} --output {out}";
// Resuming a run whose checkpoint (a copy of {adapter}, which holds trainer_state.json) the case breaks.
inline const std::string kResume = kTrain + " --resume";
// Evaluating a task folder the case writes ({dir}/tasks/t/task.json).
inline const std::string kEval = "eval --model {model} --tasks {dir}/tasks --modes mean --out {dir}/eval-out";

inline std::vector<Case> cases() {
  const std::string st = "model/model.safetensors";
  const std::string cfg = "model/config.json";
  const std::string tok = "model/tokenizer.json";
  const std::string tcfg = "model/tokenizer_config.json";
  const std::string idx = "model/model.safetensors.index.json";
  const std::string meta = "adapter/genlens.json";
  const std::string aw = "adapter/adapter.safetensors";
  const std::string norm = "/model.norm.weight";
  const std::string ts = "run/checkpoint-1/trainer_state.json";
  const Mutation checkpoint{Op::CopyDir, "run/checkpoint-1", "", "adapter"};
  const std::string task = "tasks/t/task.json";
  // A sharded model whose index is fine apart from one entry (set by the case).
  auto index_with = [&](const std::string& entry) {
    return Mutation{Op::Write, idx, "",
                    R"({"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model.safetensors", )" + entry +
                        "}}"};
  };
  return {
      // ------------------------------------------------------------ safetensors header
      {"safetensors", "file shorter than the length field", {{Op::Write, st, "", "abc"}}, kForward, 1,
       {"model.safetensors", "8-byte header length"}},
      {"safetensors", "header length beyond the file", {{Op::StHeaderLen, st, "", "1000000000"}}, kForward, 1,
       {"model.safetensors", "header length 1000000000"}},
      {"safetensors", "header length 2^63", {{Op::StHeaderLen, st, "", "9223372036854775808"}}, kForward, 1,
       {"model.safetensors", "header length"}},
      {"safetensors", "header is not JSON", {{Op::StHeaderLen, st, "", "7"}}, kForward, 1,
       {"model.safetensors", "header is not valid JSON"}},
      {"safetensors", "entry is not an object", {{Op::StHeader, st, norm, "[1, 2]"}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "entry must be an object"}},
      {"safetensors", "dtype missing", {{Op::StHeader, st, norm + "/dtype", "null"}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "dtype"}},
      {"safetensors", "dtype not read by genlens", {{Op::StHeader, st, norm + "/dtype", "\"F8_E4M3\""}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "F8_E4M3"}},
      {"safetensors", "negative dimension", {{Op::StHeader, st, norm + "/shape", "[-64]"}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "shape"}},
      {"safetensors", "dimension as a string", {{Op::StHeader, st, norm + "/shape", "[\"64\"]"}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "shape"}},
      {"safetensors", "shape product overflows",
       {{Op::StHeader, st, norm + "/shape", "[281474976710656, 281474976710656, 281474976710656]"}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "overflows"}},
      {"safetensors", "data_offsets past the end", {{Op::StHeader, st, norm + "/data_offsets", "[0, 99999999999]"}},
       kForward, 1, {"model.safetensors", "model.norm.weight", "data_offsets"}},
      {"safetensors", "data_offsets reversed", {{Op::StHeader, st, norm + "/data_offsets", "[256, 0]"}}, kForward, 1,
       {"model.safetensors", "model.norm.weight", "data_offsets"}},
      {"safetensors", "data_offsets with one number", {{Op::StHeader, st, norm + "/data_offsets", "[0]"}}, kForward,
       1, {"model.safetensors", "model.norm.weight", "data_offsets"}},
      {"safetensors", "byte span does not match the shape", {{Op::StHeader, st, norm + "/shape", "[32]"}}, kForward,
       1, {"model.safetensors", "model.norm.weight", "needs 128 bytes"}},
      {"safetensors", "two tensors share bytes",
       {{Op::StHeader, st, "/model.layers.0.input_layernorm.weight/data_offsets", "[0, 256]"}}, kForward, 1,
       {"model.safetensors", "overlap"}},
      {"safetensors", "__metadata__ value not a string", {{Op::StHeader, st, "/__metadata__", "{\"format\": 1}"}},
       kForward, 1, {"model.safetensors", "__metadata__", "format"}},
      {"safetensors", "file cut short (data truncated)", {{Op::Truncate, st, "", "-1000"}}, kForward, 1,
       {"model.safetensors", "data_offsets", "out of range"}},
      {"safetensors", "a tensor the model needs is missing", {{Op::StHeader, st, norm, "null"}}, kForward, 1,
       {"model.norm.weight", "is missing from the checkpoint"}},
      {"safetensors", "a tensor of the wrong shape",
       {{Op::StHeader, st, norm + "/shape", "[2, 32]"}}, kForward, 1, {"model.norm.weight", "[64]", "[2, 32]"}},
      {"safetensors", "no weights at all", {{Op::Remove, st, "", ""}}, kForward, 1,
       {"model", "no model.safetensors"}},

      // ------------------------------------------------------------ shard index
      {"index.json", "shard name climbs out of the directory", {index_with(R"("model.norm.weight": "../model.safetensors")")},
       kForward, 1, {"model.safetensors.index.json", "model.norm.weight", "../model.safetensors", "not a plain file name"}},
      {"index.json", "absolute shard name", {index_with(R"("model.norm.weight": "/etc/passwd")")}, kForward, 1,
       {"model.safetensors.index.json", "model.norm.weight", "/etc/passwd"}},
      {"index.json", "shard file missing", {index_with(R"("model.norm.weight": "model-00002.safetensors")")}, kForward,
       1, {"model.safetensors.index.json", "model-00002.safetensors", "does not exist"}},
      {"index.json", "shard name is a number", {index_with(R"("model.norm.weight": 2)")}, kForward, 1,
       {"model.safetensors.index.json", "model.norm.weight", "must be a file name"}},
      {"index.json", "tensor not in the named shard", {index_with(R"("model.nope.weight": "model.safetensors")")},
       kForward, 1, {"model.safetensors.index.json", "model.nope.weight", "no such tensor"}},
      {"index.json", "not JSON", {{Op::Write, idx, "", "{\"weight_map\": "}}, kForward, 1,
       {"model.safetensors.index.json", "not valid JSON"}},
      {"index.json", "weight_map is a list", {{Op::Write, idx, "", "{\"weight_map\": []}"}}, kForward, 1,
       {"model.safetensors.index.json", "weight_map"}},

      // ------------------------------------------------------------ config.json
      {"config.json", "not JSON", {{Op::Write, cfg, "", "{\"hidden_size\": 64,"}}, kForward, 1,
       {"config.json", "not valid JSON"}},
      {"config.json", "a list, not an object", {{Op::Write, cfg, "", "[]"}}, kForward, 1,
       {"config.json", "expected a JSON object"}},
      {"config.json", "missing", {{Op::Remove, cfg, "", ""}}, kForward, 1, {"config.json"}},
      {"config.json", "hidden_size missing", {{Op::EraseJson, cfg, "/hidden_size", ""}}, kForward, 1,
       {"config.json", "hidden_size"}},
      {"config.json", "hidden_size is a string", {{Op::SetJson, cfg, "/hidden_size", "\"64\""}}, kForward, 1,
       {"config.json", "hidden_size", "must be an integer"}},
      {"config.json", "hidden_size is a fraction", {{Op::SetJson, cfg, "/hidden_size", "64.5"}}, kForward, 1,
       {"config.json", "hidden_size", "must be an integer"}},
      {"config.json", "num_hidden_layers 10^9", {{Op::SetJson, cfg, "/num_hidden_layers", "1000000000"}}, kForward, 1,
       {"config.json", "num_hidden_layers", "more than genlens accepts"}},
      {"config.json", "num_hidden_layers does not match the weights", {{Op::SetJson, cfg, "/num_hidden_layers", "3"}},
       kForward, 1, {"num_hidden_layers", "the weights hold 2 layers"}},
      {"config.json", "vocab_size negative", {{Op::SetJson, cfg, "/vocab_size", "-5"}}, kForward, 1,
       {"config.json", "vocab_size"}},
      {"config.json", "vocab_size 2^62", {{Op::SetJson, cfg, "/vocab_size", "4611686018427387904"}}, kForward, 1,
       {"config.json", "vocab_size"}},
      {"config.json", "heads do not divide", {{Op::SetJson, cfg, "/num_key_value_heads", "3"}}, kForward, 1,
       {"config.json", "num_key_value_heads"}},
      {"config.json", "unknown model_type", {{Op::SetJson, cfg, "/model_type", "\"gpt99\""}}, kForward, 1,
       {"config.json", "model_type", "gpt99"}},
      {"config.json", "unsupported hidden_act", {{Op::SetJson, cfg, "/hidden_act", "\"relu2\""}}, kForward, 1,
       {"config.json", "hidden_act", "relu2"}},
      {"config.json", "rope_scaling type unknown", {{Op::SetJson, cfg, "/rope_scaling", R"({"rope_type": "yarn", "factor": 4})"}},
       kForward, 1, {"config.json", "rope_type", "yarn"}},
      {"config.json", "llama3 rope_scaling without factor",
       {{Op::SetJson, cfg, "/rope_scaling", R"({"rope_type": "llama3", "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 8192})"}},
       kForward, 1, {"config.json", "rope_scaling", "factor"}},
      {"config.json", "rope_scaling is a string", {{Op::SetJson, cfg, "/rope_scaling", "\"linear\""}}, kForward, 1,
       {"config.json", "rope_scaling"}},
      {"config.json", "rms_norm_eps is a string", {{Op::SetJson, cfg, "/rms_norm_eps", "\"1e-6\""}}, kForward, 1,
       {"config.json", "rms_norm_eps", "must be a number"}},
      {"config.json", "tie_word_embeddings is a string", {{Op::SetJson, cfg, "/tie_word_embeddings", "\"yes\""}},
       kForward, 1, {"config.json", "tie_word_embeddings", "true or false"}},
      {"config.json", "eos_token_id is a string", {{Op::SetJson, cfg, "/eos_token_id", "\"</s>\""}}, kForward, 1,
       {"config.json", "eos_token_id"}},
      {"config.json", "head_dim zero", {{Op::SetJson, cfg, "/head_dim", "0"}}, kForward, 1, {"config.json", "head_dim"}},

      // ------------------------------------------------------------ tokenizer.json
      {"tokenizer.json", "not JSON", {{Op::Write, tok, "", "{\"model\": {"}}, kTokenize, 1,
       {"tokenizer.json", "JSON"}},
      {"tokenizer.json", "a list", {{Op::Write, tok, "", "[1]"}}, kTokenize, 1, {"tokenizer.json"}},
      {"tokenizer.json", "model.type unknown", {{Op::SetJson, tok, "/model/type", "\"Unigram2\""}}, kTokenize, 1,
       {"tokenizer.json", "Unigram2"}},
      {"tokenizer.json", "vocab is a list", {{Op::SetJson, tok, "/model/vocab", "[1, 2]"}}, kTokenize, 1,
       {"tokenizer.json", "vocab"}},
      {"tokenizer.json", "vocab id is a string", {{Op::SetJson, tok, "/model/vocab/!", "\"0\""}}, kTokenize, 1,
       {"tokenizer.json", "vocab", "!"}},
      {"tokenizer.json", "vocab id negative", {{Op::SetJson, tok, "/model/vocab/!", "-7"}}, kTokenize, 1,
       {"tokenizer.json", "vocab", "-7"}},
      {"tokenizer.json", "vocab id far beyond the vocabulary (a huge sparse table)",
       {{Op::SetJson, tok, "/model/vocab/!", "9999994"}}, kTokenize, 1, {"tokenizer.json", "vocab", "9999994"}},
      {"tokenizer.json", "added token id far beyond the vocabulary",
       {{Op::SetJson, tok, "/added_tokens/0/id", "9999994"}}, kTokenize, 1,
       {"tokenizer.json", "added_tokens", "9999994"}},
      {"tokenizer.json", "merge is a number", {{Op::SetJson, tok, "/model/merges/0", "17"}}, kTokenize, 1,
       {"tokenizer.json", "merges"}},
      {"tokenizer.json", "added token id is a string", {{Op::SetJson, tok, "/added_tokens/0/id", "\"x\""}}, kTokenize,
       1, {"tokenizer.json", "added_tokens", "id"}},
      {"tokenizer.json", "added token content missing", {{Op::EraseJson, tok, "/added_tokens/0/content", ""}},
       kTokenize, 1, {"tokenizer.json", "added_tokens", "content"}},
      {"tokenizer.json", "pre_tokenizer type unknown", {{Op::SetJson, tok, "/pre_tokenizer", R"({"type": "Spacy"})"}},
       kTokenize, 1, {"tokenizer.json", "pre_tokenizer", "Spacy"}},
      {"tokenizer.json", "normalizer type unknown", {{Op::SetJson, tok, "/normalizer", R"({"type": "Lowercase2"})"}},
       kTokenize, 1, {"tokenizer.json", "normalizer", "Lowercase2"}},
      {"tokenizer.json", "Split regex does not compile",
       {{Op::SetJson, tok, "/pre_tokenizer", R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": false})"}},
       kTokenize, 1, {"tokenizer.json", "(unclosed"}},
      {"tokenizer.json", "missing (and no tokenizer.model)", {{Op::Remove, tok, "", ""}}, kTokenize, 1,
       {"model", "no tokenizer.json or tokenizer.model"}},

      // ------------------------------------------------------------ tokenizer_config.json / chat template
      {"tokenizer_config.json", "not JSON", {{Op::Write, tcfg, "", "{\"chat_template\": "}}, kChat, 1,
       {"tokenizer_config.json", "not valid JSON"}},
      {"tokenizer_config.json", "chat_template is a number", {{Op::SetJson, tcfg, "/chat_template", "42"}}, kChat, 1,
       {"tokenizer_config.json", "chat_template"}},
      {"tokenizer_config.json", "chat_template list entry without template",
       {{Op::SetJson, tcfg, "/chat_template", R"([{"name": "default"}])"}}, kChat, 1,
       {"tokenizer_config.json", "chat_template"}},
      {"tokenizer_config.json", "eos_token names no vocabulary entry", {{Op::SetJson, tcfg, "/eos_token", "\"<|nope|>\""}},
       kTokenize, 1, {"tokenizer_config.json", "eos_token", "<|nope|>"}},
      {"tokenizer_config.json", "bos_token is a number", {{Op::SetJson, tcfg, "/bos_token", "5"}}, kTokenize, 1,
       {"tokenizer_config.json", "bos_token"}},
      {"chat template", "--chat-template names no family", {}, kChat + " --chat-template jinja-exec", 1,
       {"chat template", "jinja-exec", "unknown name"}},

      // ------------------------------------------------------------ JSONL inputs
      {"jsonl", "a line is not JSON", {{Op::Write, "texts.jsonl", "", "{\"text\": \"a\"}\n{\"text\": \n"}}, kEncode, 1,
       {"texts.jsonl:2", "not valid JSON"}},
      {"jsonl", "a line is a list", {{Op::Write, "texts.jsonl", "", "[\"a\"]\n"}}, kEncode, 1,
       {"texts.jsonl:1", "expected a JSON object"}},
      {"jsonl", "text is a number", {{Op::Write, "texts.jsonl", "", "{\"text\": \"a\"}\n{\"text\": 5}\n"}}, kEncode, 1,
       {"texts.jsonl:2", "\"text\"", "expected a string"}},
      {"jsonl", "--field no row has", {}, kEncode + " --field body", 1, {"texts.jsonl", "\"body\""}},
      {"jsonl", "empty input", {{Op::Write, "texts.jsonl", "", "\n\n"}}, kEncode, 1, {"texts.jsonl"}},
      {"jsonl", "invalid UTF-8 inside a string", {{Op::Write, "texts.jsonl", "", "{\"text\": \"a\xff\"}\n"}}, kEncode, 1,
       {"texts.jsonl:1"}},
      {"jsonl", "responses: answer is a number",
       {{Op::Write, "responses.jsonl", "", "{\"id\": \"1\", \"question\": \"q\", \"answer\": 3}\n"}}, kTrain, 1,
       {"responses.jsonl:1", "\"answer\""}},
      {"jsonl", "responses: question missing", {{Op::Write, "responses.jsonl", "", "{\"id\": \"1\", \"answer\": \"a\"}\n"}},
       kTrain, 1, {"responses.jsonl:1", "\"question\""}},
      {"jsonl", "responses: id is an object",
       {{Op::Write, "responses.jsonl", "", "{\"id\": {}, \"question\": \"q\", \"answer\": \"a\"}\n"}}, kTrain, 1,
       {"responses.jsonl:1", "\"id\""}},
      {"jsonl", "responses: duplicate id",
       {{Op::Write, "responses.jsonl", "",
         "{\"id\": \"1\", \"question\": \"q\", \"answer\": \"a\"}\n{\"id\": \"1\", \"question\": \"r\", \"answer\": \"b\"}\n"}},
       kTrain, 1, {"responses.jsonl", "\"1\""}},
      {"jsonl", "queries: question is a list",
       {{Op::Write, "queries.jsonl", "", "{\"id\": \"1\", \"question\": [\"q\"]}\n"}},
       "generate --model {model} --input {queries} --output {dir}/gen.jsonl --max-new-tokens 2", 1,
       {"queries.jsonl:1", "\"question\""}},

      // ------------------------------------------------------------ .npy
      {".npy", "no magic", {{Op::Write, "emb.npy", "", "not a numpy file"}}, kProject, 1, {"emb.npy", "magic"}},
      {".npy", "unsupported dtype", {{Op::Npy, "emb.npy", "64", "{'descr': '<f2', 'fortran_order': False, 'shape': (4, 8), }"}},
       kProject, 1, {"emb.npy", "<f2"}},
      {".npy", "big-endian dtype", {{Op::Npy, "emb.npy", "128", "{'descr': '>f4', 'fortran_order': False, 'shape': (4, 8), }"}},
       kProject, 1, {"emb.npy", ">f4"}},
      {".npy", "shape does not match the data", {{Op::Npy, "emb.npy", "100", "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 8), }"}},
       kProject, 1, {"emb.npy", "100 bytes"}},
      {".npy", "shape overflows", {{Op::Npy, "emb.npy", "0", "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"}},
       kProject, 1, {"emb.npy", "shape"}},
      {".npy", "dimension beyond 64 bits", {{Op::Npy, "emb.npy", "0", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 1), }"}},
       kProject, 1, {"emb.npy", "shape"}},
      {".npy", "no shape field", {{Op::Npy, "emb.npy", "128", "{'descr': '<f4', 'fortran_order': False, }"}}, kProject, 1,
       {"emb.npy", "'shape'"}},
      {".npy", "header length beyond the file", {{Op::Truncate, "emb.npy", "", "40"}}, kProject, 1,
       {"emb.npy", "header length"}},
      {".npy", "object array (pickle)", {{Op::Npy, "emb.npy", "16", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"}},
       kProject, 1, {"emb.npy", "|O"}},
      {".npy", "a 1-D array where [N, D] is needed", {{Op::Npy, "emb.npy", "32", "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }"}},
       kProject, 1, {"emb.npy", "2-D"}},
      {".npy", "teacher rows do not match the data",
       {{Op::Npy, "emb.npy", "96", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 8), }"}},
       kTrain + " --teacher npy:{npy}", 1, {"emb.npy", "3"}},

      // ------------------------------------------------------------ adapter checkpoint
      {"adapter", "genlens.json missing", {{Op::Remove, meta, "", ""}}, kEncodeAdapter, 1, {"adapter", "genlens.json"}},
      {"adapter", "genlens.json not JSON", {{Op::Write, meta, "", "{\"format\": "}}, kEncodeAdapter, 1,
       {"genlens.json", "not valid JSON"}},
      {"adapter", "format_version from the future", {{Op::SetJson, meta, "/format_version", "7"}}, kEncodeAdapter, 1,
       {"genlens.json", "format_version", "7"}},
      {"adapter", "format_version is a fraction", {{Op::SetJson, meta, "/format_version", "1.5"}}, kEncodeAdapter, 1,
       {"genlens.json", "format_version"}},
      {"adapter", "n_compression zero", {{Op::SetJson, meta, "/n_compression", "0"}}, kEncodeAdapter, 1,
       {"genlens.json", "n_compression"}},
      {"adapter", "n_compression 10^12", {{Op::SetJson, meta, "/n_compression", "1000000000000"}}, kEncodeAdapter, 1,
       {"genlens.json", "n_compression"}},
      {"adapter", "n_thought is a string", {{Op::SetJson, meta, "/n_thought", "\"2\""}}, kEncodeAdapter, 1,
       {"genlens.json", "n_thought"}},
      {"adapter", "teacher missing", {{Op::EraseJson, meta, "/teacher", ""}}, kEncodeAdapter, 1,
       {"genlens.json", "teacher"}},
      {"adapter", "teacher dim 10^12", {{Op::SetJson, meta, "/teacher/dim", "1000000000000"}}, kEncodeAdapter, 1,
       {"genlens.json", "dim"}},
      {"adapter", "hidden size of another model",
       {{Op::SetJson, meta, "/base_model/hidden_size", "128"}, {Op::SetJson, meta, "/hidden_size", "128"}},
       kEncodeAdapter, 1, {"genlens.json", "hidden size 128"}},
      {"adapter", "hidden sizes that disagree", {{Op::SetJson, meta, "/base_model/hidden_size", "128"}},
       kEncodeAdapter, 1, {"genlens.json", "base_model.hidden_size is 128"}},
      {"adapter", "query.max_length negative", {{Op::SetJson, meta, "/query/max_length", "-3"}}, kEncodeAdapter, 1,
       {"genlens.json", "max_length"}},
      {"adapter", "adapter.safetensors missing", {{Op::Remove, aw, "", ""}}, kEncodeAdapter, 1,
       {"adapter.safetensors"}},
      {"adapter", "special tokens of the wrong shape",
       {{Op::StHeader, aw, "/special_tokens.weight/shape", "[64, 2]"}}, kEncodeAdapter, 1,
       {"adapter.safetensors", "special_tokens.weight"}},
      {"adapter", "a head is missing", {{Op::StHeader, aw, "/align_head.bias", "null"}}, kEncodeAdapter, 1,
       {"adapter.safetensors", "align_head.bias"}},
      {"adapter", "weights cut short", {{Op::Truncate, aw, "", "-64"}}, kEncodeAdapter, 1,
       {"adapter.safetensors", "out of range"}},

      // ------------------------------------------------------------ trainer_state.json (train --resume)
      {"trainer_state.json", "a list, not an object", {checkpoint, {Op::Write, ts, "", "[1, 2]"}}, kResume, 1,
       {"trainer_state.json", "expected a JSON object, found an array of 2 items"}},
      {"trainer_state.json", "settings is a number", {checkpoint, {Op::SetJson, ts, "/settings", "5"}}, kResume, 1,
       {"trainer_state.json", "settings: expected a JSON object, found 5"}},
      {"trainer_state.json", "settings.teacher is a number", {checkpoint, {Op::SetJson, ts, "/settings/teacher", "3"}},
       kResume, 1, {"trainer_state.json", "settings.teacher: expected a string, found 3"}},
      {"trainer_state.json", "settings.teacher is a list",
       {checkpoint, {Op::SetJson, ts, "/settings/teacher", "[\"mean-pool\"]"}}, kResume, 1,
       {"trainer_state.json", "settings.teacher: expected a string, found an array of 1 item"}},
      {"trainer_state.json", "step is a string", {checkpoint, {Op::SetJson, ts, "/step", "\"1\""}}, kResume, 1,
       {"trainer_state.json", "step: expected a whole number, found \"1\""}},
      {"trainer_state.json", "data is a list", {checkpoint, {Op::SetJson, ts, "/data", "[]"}}, kResume, 1,
       {"trainer_state.json", "data: expected a JSON object, found an empty array"}},
      {"trainer_state.json", "optimizer.steps_taken is a fraction",
       {checkpoint, {Op::SetJson, ts, "/optimizer/steps_taken", "1.5"}}, kResume, 1,
       {"trainer_state.json", "optimizer.steps_taken: expected a whole number, found 1.5"}},

      // ------------------------------------------------------------ task.json (eval task folders)
      {"task.json", "a misspelt key", {{Op::Write, task, "", R"({"type": "sts", "instrucion": "Same meaning: "})"}},
       kEval, 1, {"task.json", "unknown key \"instrucion\", did you mean \"instruction\"?"}},
      {"task.json", "an unknown key, nothing near", {{Op::Write, task, "", R"({"type": "sts", "metric": "pearson"})"}},
       kEval, 1, {"task.json", "unknown key \"metric\" (the keys here: type, name"}},
      {"task.json", "a list, not an object", {{Op::Write, task, "", R"(["sts"])"}}, kEval, 1,
       {"task.json", "expected a JSON object, found an array of 1 item"}},
      {"task.json", "type is a number", {{Op::Write, task, "", R"({"type": 3})"}}, kEval, 1,
       {"task.json", "type: expected a string, found 3"}},
      {"task.json", "type missing", {{Op::Write, task, "", R"({"name": "t"})"}}, kEval, 1,
       {"task.json", "missing field \"type\""}},
      {"task.json", "type unknown", {{Op::Write, task, "", R"({"type": "clusterin"})"}}, kEval, 1,
       {"task.json", "clusterin"}},
      {"task.json", "name is an object", {{Op::Write, task, "", R"({"type": "sts", "name": {}})"}}, kEval, 1,
       {"task.json", "name: expected a string, found an empty object"}},
      {"task.json", "instruction is a list", {{Op::Write, task, "", R"({"type": "sts", "instruction": ["a"]})"}},
       kEval, 1, {"task.json", "instruction: expected a string"}},
      {"task.json", "passage_instruction on a task without passages",
       {{Op::Write, task, "", R"({"type": "clustering", "passage_instruction": "P: "})"}}, kEval, 1,
       {"task.json", "passage_instruction", "only retrieval and safety tasks have passages"}},
      {"task.json", "instruction and query_instruction both given",
       {{Op::Write, task, "", R"({"type": "retrieval", "instruction": "Q: ", "query_instruction": "Q: "})"}}, kEval, 1,
       {"task.json", "both \"instruction\" and \"query_instruction\""}},

      // ------------------------------------------------------------ flags
      {"flags", "encode --batch-size 0", {}, kEncode + " --batch-size 0", 2, {"--batch-size"}},
      {"flags", "encode --batch-size -1", {}, kEncode + " --batch-size -1", 2, {"--batch-size"}},
      {"flags", "encode --mode unknown", {}, "encode --model {model} --input {texts} --output {out} --mode telepathy", 1,
       {"--mode", "telepathy"}},
      {"flags", "encode generative without --adapter", {},
       "encode --model {model} --input {texts} --output {out} --mode generative", 1, {"--adapter"}},
      {"flags", "encode --max-length 0", {}, kEncode + " --max-length 0", 2, {"--max-length"}},
      {"flags", "encode --input missing", {}, "encode --model {model} --mode mean --input {dir}/none.jsonl --output {out}",
       1, {"none.jsonl"}},
      {"flags", "--model is not a directory", {}, "tokenize --model {dir}/nowhere --text hi", 1, {"nowhere"}},
      {"flags", "forward --ids not numbers", {}, "forward --model {model} --ids 1,x,3", 1, {"--ids", "x"}},
      {"flags", "forward --ids out of the vocabulary", {}, "forward --model {model} --ids 1,999999999", 1,
       {"999999999", "vocab"}},
      {"flags", "forward --dtype unknown", {}, kForward + " --dtype f12", 1, {"dtype", "f12"}},
      {"flags", "forward --device unknown", {}, kForward + " --device tpu", 1, {"tpu"}},
      {"flags", "generate --max-new-tokens 0", {}, "generate --model {model} --input {queries} --output {dir}/g.jsonl --max-new-tokens 0",
       2, {"--max-new-tokens"}},
      {"flags", "generate --temperature negative", {},
       "generate --model {model} --input {queries} --output {dir}/g.jsonl --sample --temperature -1", 1,
       {"--temperature", "-1"}},
      {"flags", "generate --top-p above 1", {},
       "generate --model {model} --input {queries} --output {dir}/g.jsonl --sample --top-p 1.5", 1, {"--top-p", "1.5"}},
      {"flags", "train --steps 0", {}, "train --model {model} --data {responses} --out {run} --steps 0", 1, {"steps"}},
      {"flags", "train --lr negative", {}, kTrain + " --lr -0.1", 1, {"lr"}},
      {"flags", "train --compression 0", {}, "train --model {model} --data {responses} --out {run} --steps 1 --compression 0",
       1, {"compression"}},
      {"flags", "train --teacher unknown kind", {}, kTrain + " --teacher telepathy", 1, {"--teacher", "telepathy"}},
      {"flags", "train --teacher npy file missing", {}, kTrain + " --teacher npy:{dir}/none.npy", 1, {"none.npy"}},
      {"flags", "project --method unknown", {}, "project --input {npy} --output {out} --method tsne", 1,
       {"--method", "tsne"}},
      {"flags", "project --dims 0", {}, kProject + " --dims 0", 2, {"--dims"}},
  };
}

}  // namespace genlens::test::corpus
