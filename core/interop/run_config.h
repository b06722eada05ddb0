// run_config.yml of an official LLM2Vec-Gen run: the few fields genlens reads.
//
// The official training writes it with save_args_to_yaml, one `f"{key}: {value}"` line
// per argument in four groups appended one after another, so values are Python's str():
// lists are flow sequences (`special_tokens: ['<question1>', '<question2>']`) and None /
// True / False are spelled that way. The official loader reads it with yaml.safe_load,
// so genlens reads it as YAML too (yaml-cpp). A key written twice keeps its last value,
// as PyYAML does.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace genlens::interop {

struct RunConfig {
  std::optional<std::vector<std::string>> special_tokens;  // absent, or `None`: not said
  std::string model_name_or_path;                          // empty: not said
  std::string torch_dtype;                                 // empty: not said (or `None`)
};

// Reads the file; a line the YAML parser refuses is named (file:line:column). When the
// document as a whole is not YAML (a str() value the official writer did not quote, such
// as a text holding ": "), the lines of the three fields are read on their own, since
// the writer puts every argument on one line.
RunConfig read_run_config(const std::filesystem::path& path);

// The `special_tokens: [...]` line as the official writer spells a Python list of str.
std::string python_list_line(const std::string& key, const std::vector<std::string>& items);

}  // namespace genlens::interop
