#include "core/interop/run_config.h"

#include <yaml-cpp/yaml.h>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace genlens::interop {

namespace fs = std::filesystem;

namespace {

// PyYAML's safe_load reads `None` as the string "None"; the official code means None.
bool is_none(const YAML::Node& n) { return !n || n.IsNull() || (n.IsScalar() && n.Scalar() == "None"); }

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "\"" + n.Scalar() + "\"";
    default: return "nothing";
  }
}

// Applies one `key: value` pair (later pairs overwrite earlier ones).
void apply(RunConfig& rc, const std::string& key, const YAML::Node& v, const std::string& where) {
  if (key == "special_tokens") {
    if (is_none(v)) {
      rc.special_tokens.reset();
      return;
    }
    if (!v.IsSequence()) fail("{}: \"special_tokens\": expected a list of token strings, found {}", where, kind_of(v));
    std::vector<std::string> names;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].IsScalar())
        fail("{}: \"special_tokens\"[{}]: expected a token string, found {}", where, i, kind_of(v[i]));
      names.push_back(v[i].Scalar());
    }
    rc.special_tokens = std::move(names);
  } else if (key == "model_name_or_path" || key == "torch_dtype") {
    std::string value;
    if (!is_none(v)) {
      if (!v.IsScalar()) fail("{}: \"{}\": expected a string, found {}", where, key, kind_of(v));
      value = v.Scalar();
    }
    (key == "torch_dtype" ? rc.torch_dtype : rc.model_name_or_path) = value;
  }
}

YAML::Node parse(const std::string& text, const std::string& where, size_t line_offset) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail("{}:{}:{}: not valid YAML: {}", where, line_offset + static_cast<size_t>(e.mark.line) + 1,
         e.mark.column + 1, e.msg);
  }
}

}  // namespace

RunConfig read_run_config(const fs::path& path) {
  const std::string text = io::read_file(path), where = path.string();
  RunConfig rc;
  YAML::Node root;
  bool whole = true;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    whole = false;
  }
  if (whole) {
    if (!root || root.IsNull()) return rc;
    if (!root.IsMap()) fail("{}: expected `key: value` lines, found {}", where, kind_of(root));
    for (auto it = root.begin(); it != root.end(); ++it)
      if (it->first.IsScalar()) apply(rc, it->first.Scalar(), it->second, where);
    return rc;
  }
  // One argument per line: read the lines of the fields genlens uses, each on its own.
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    for (const char* key : {"special_tokens", "model_name_or_path", "torch_dtype"}) {
      const std::string k = std::string(key) + ":";
      if (line.compare(0, k.size(), k) != 0) continue;
      auto doc = parse(line, where, line_no);
      if (doc.IsMap()) apply(rc, key, doc[key], fmt::format("{}:{}", where, line_no + 1));
    }
    pos = nl + 1;
    ++line_no;
  }
  return rc;
}

std::string python_list_line(const std::string& key, const std::vector<std::string>& items) {
  // str(list) uses repr() for each item: single quotes unless the text holds one.
  std::string out = key + ": [";
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& s = items[i];
    const bool dq = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    const char q = dq ? '"' : '\'';
    out += (i ? ", " : "") + std::string(1, q);
    for (char c : s) {
      if (c == '\\' || (c == q)) out += '\\';
      out += c;
    }
    out += q;
  }
  return out + "]";
}

}  // namespace genlens::interop
