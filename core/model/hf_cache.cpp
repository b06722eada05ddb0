#include "core/model/hf_cache.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/util/error.h"

namespace genlens::model {

namespace fs = std::filesystem;

namespace {

// An environment variable, empty when unset or set to "".
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string home_dir() {
  auto h = env("HOME");
  if (!h.empty()) return h;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "~";
}

// Python's os.path.expanduser for the forms people write in these variables.
fs::path expand_user(const std::string& s) {
  if (s == "~") return home_dir();
  if (s.rfind("~/", 0) == 0) return fs::path(home_dir()) / s.substr(2);
  return s;
}

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool repo_part_ok(std::string_view p) {
  if (p.empty() || !word_char(p.front()) || !word_char(p.back())) return false;
  return std::all_of(p.begin(), p.end(), [](char c) { return word_char(c) || c == '-' || c == '.'; });
}

bool is_hex(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string trim(std::string s) {
  auto sp = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && sp(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && sp(s[i])) ++i;
  return s.substr(i);
}

std::string folder_of(const std::string& repo_id) {
  std::string f = "models--";
  for (char c : repo_id) {
    if (c == '/') f += "--";
    else f += c;
  }
  return f;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// "3 models: a/b, c/d, e/f" (at most 12 named).
std::string list_models(const fs::path& root) {
  auto ms = hf_cached_models(root);
  if (ms.empty()) return "no models";
  std::vector<std::string> shown(ms.begin(), ms.begin() + static_cast<long>(std::min<size_t>(ms.size(), 12)));
  return fmt::format("{} model{}: {}{}", ms.size(), ms.size() == 1 ? "" : "s", join(shown, ", "),
                     ms.size() > shown.size() ? fmt::format(", and {} more", ms.size() - shown.size()) : "");
}

struct Ref {
  std::string name, commit;
};

std::vector<Ref> list_refs(const fs::path& repo_dir) {
  std::vector<Ref> out;
  std::error_code ec;
  const auto refs = repo_dir / "refs";
  for (fs::recursive_directory_iterator it(refs, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_regular_file(ec2)) continue;
    std::ifstream f(it->path());
    std::stringstream ss;
    ss << f.rdbuf();
    out.push_back({it->path().lexically_relative(refs).generic_string(), trim(ss.str())});
  }
  std::sort(out.begin(), out.end(), [](const Ref& a, const Ref& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> list_snapshots(const fs::path& repo_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(repo_dir / "snapshots", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_directory(ec2)) out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "branches: main (= 1a2b...); snapshots: 1a2b... (main), 9f8e..."
std::string cached_revisions(const fs::path& repo_dir) {
  auto refs = list_refs(repo_dir);
  auto snaps = list_snapshots(repo_dir);
  std::vector<std::string> r, s;
  for (auto& ref : refs) r.push_back(fmt::format("{} (= {})", ref.name, ref.commit));
  for (auto& snap : snaps) {
    std::vector<std::string> names;
    for (auto& ref : refs)
      if (ref.commit == snap) names.push_back(ref.name);
    s.push_back(names.empty() ? snap : fmt::format("{} ({})", snap, join(names, ", ")));
  }
  return fmt::format("branches in refs/: {}; snapshots: {}", r.empty() ? "none" : join(r, ", "),
                     s.empty() ? "none" : join(s, ", "));
}

std::string never_downloads(const std::string& repo_id, const std::string& revision, const std::string& option) {
  return fmt::format(
      "genlens never downloads: on a machine with network run `huggingface-cli download {}{}` (into this cache, or "
      "copy the cache over, or set HF_HUB_CACHE / HF_HOME to a cache that has it), or point {} at a model directory",
      repo_id, revision.empty() || revision == "main" ? "" : " --revision " + revision, option);
}

}  // namespace

HfCacheRoot hf_cache_root() {
  if (auto v = env("HF_HUB_CACHE"); !v.empty()) return {expand_user(v), fmt::format("$HF_HUB_CACHE={}", v)};
  if (auto v = env("HUGGINGFACE_HUB_CACHE"); !v.empty())
    return {expand_user(v), fmt::format("$HUGGINGFACE_HUB_CACHE={}; HF_HUB_CACHE is unset", v)};
  if (auto v = env("HF_HOME"); !v.empty())
    return {expand_user(v) / "hub",
            fmt::format("$HF_HOME/hub with HF_HOME={}; HF_HUB_CACHE and HUGGINGFACE_HUB_CACHE are unset", v)};
  if (auto v = env("XDG_CACHE_HOME"); !v.empty())
    return {expand_user(v) / "huggingface" / "hub",
            fmt::format("$XDG_CACHE_HOME/huggingface/hub with XDG_CACHE_HOME={}; HF_HUB_CACHE, "
                        "HUGGINGFACE_HUB_CACHE and HF_HOME are unset",
                        v)};
  const auto home = home_dir();
  return {fs::path(home) / ".cache" / "huggingface" / "hub",
          fmt::format("~/.cache/huggingface/hub with HOME={}; HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME and "
                      "XDG_CACHE_HOME are unset",
                      home)};
}

bool is_hf_repo_id(std::string_view s) {
  if (s.empty() || s.size() > 96) return false;
  if (s.find("--") != std::string_view::npos || s.find("..") != std::string_view::npos) return false;
  const auto slash = s.find('/');
  if (slash == std::string_view::npos) return repo_part_ok(s);
  return repo_part_ok(s.substr(0, slash)) && repo_part_ok(s.substr(slash + 1));
}

std::vector<std::string> hf_cached_models(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    std::error_code ec2;
    if (name.rfind("models--", 0) != 0 || !it->is_directory(ec2)) continue;
    name = name.substr(8);
    const auto sep = name.find("--");
    if (sep != std::string::npos) name = name.substr(0, sep) + "/" + name.substr(sep + 2);
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ModelLocation::describe() const {
  if (!from_hf_cache()) return dir.string();
  return fmt::format("{} (revision {}{}) -> {}", repo_id, revision, revision == commit ? "" : " = " + commit,
                     dir.string());
}

void check_hf_snapshot(const fs::path& snapshot, const std::string& what) {
  // ROOT/models--org--name/snapshots/<hash>: the repo id for the fix, when laid out so.
  const auto repo_folder = snapshot.parent_path().parent_path().filename().string();
  std::string repo_id = "ORG/NAME";
  if (repo_folder.rfind("models--", 0) == 0) {
    repo_id = repo_folder.substr(8);
    const auto sep = repo_id.find("--");
    if (sep != std::string::npos) repo_id = repo_id.substr(0, sep) + "/" + repo_id.substr(sep + 2);
  }
  std::error_code ec;
  size_t n_files = 0;
  for (fs::recursive_directory_iterator it(snapshot, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_symlink(ec2)) {
      if (it->is_regular_file(ec2)) ++n_files;
      continue;
    }
    if (fs::exists(it->path(), ec2)) {
      ++n_files;
      continue;
    }
    const auto target = fs::read_symlink(it->path(), ec2);
    const auto blob = (target.is_absolute() ? target : it->path().parent_path() / target).lexically_normal();
    const bool partial = fs::exists(blob.string() + ".incomplete", ec2);
    fail("{}: the Hugging Face cache snapshot {} is broken: {} is a link to {}, which is missing ({}){}. {}", what,
         snapshot.string(), it->path().lexically_relative(snapshot).generic_string(), target.string(),
         blob.string(),
         partial ? fmt::format("; {}.incomplete is there: the download was interrupted", blob.filename().string())
                 : "; an interrupted download or a cleaned-up blob",
         fmt::format("genlens never downloads: complete it on a machine with network with `huggingface-cli "
                     "download {}`, or point the option at a complete model directory",
                     repo_id));
  }
  if (ec) fail("{}: cannot read the Hugging Face cache snapshot {}: {}", what, snapshot.string(), ec.message());
  if (n_files == 0) fail("{}: the Hugging Face cache snapshot {} holds no files", what, snapshot.string());
}

ModelLocation locate_model(const std::string& given, const std::string& revision, const std::string& option) {
  ModelLocation loc;
  loc.dir = given;
  std::error_code ec;
  if (given.empty() || fs::exists(fs::path(given), ec)) {
    if (!revision.empty())
      fail("--revision {}: {} {} is a local path; a revision picks a snapshot of a model in the Hugging Face cache "
           "(give its id, ORG/NAME)",
           revision, option, given);
    return loc;
  }
  std::string repo_id = given, rev;
  if (const auto at = given.find('@'); at != std::string::npos) {
    repo_id = given.substr(0, at);
    rev = given.substr(at + 1);
    if (!is_hf_repo_id(repo_id) || rev.empty()) return loc;
    if (!revision.empty() && revision != rev)
      fail("{} {}: two revisions given, {} after '@' and --revision {}; give one", option, given, rev, revision);
  } else {
    if (!is_hf_repo_id(given)) return loc;
    rev = revision;
  }
  if (rev.empty()) rev = "main";
  if (rev.find("..") != std::string::npos || rev.front() == '/' || rev.find('\\') != std::string::npos)
    fail("{} {}: revision \"{}\" is not a branch name or commit hash", option, given, rev);

  const auto root = hf_cache_root();
  const auto repo_dir = fs::absolute(root.dir, ec) / folder_of(repo_id);
  if (!fs::is_directory(repo_dir, ec)) {
    const auto local = fs::absolute(given, ec);
    fail("{} {}: no such local directory, and the Hugging Face cache has no model {}. Looked for:\n"
         "  - {} (a local directory): does not exist\n"
         "  - {} (the cache's folder for {}): does not exist\n"
         "    in the cache root {}, chosen by {}: {}\n"
         "{}",
         option, given, repo_id, local.string(), repo_dir.string(), repo_id, root.dir.string(), root.why,
         fs::is_directory(root.dir, ec) ? "holds " + list_models(root.dir) : std::string("does not exist"),
         never_downloads(repo_id, rev, option));
  }

  std::string commit;
  const auto ref_file = repo_dir / "refs" / rev;
  if (fs::is_regular_file(ref_file, ec)) {
    std::ifstream f(ref_file);
    std::stringstream ss;
    ss << f.rdbuf();
    commit = trim(ss.str());
    if (commit.empty() || !fs::is_directory(repo_dir / "snapshots" / commit, ec))
      fail("{} {}: the Hugging Face cache's refs/{} ({}) names commit \"{}\", but there is no snapshot {} (an "
           "interrupted download?); the cache has {}. {}",
           option, given, rev, ref_file.string(), commit, (repo_dir / "snapshots" / commit).string(),
           cached_revisions(repo_dir), never_downloads(repo_id, rev, option));
  } else if (fs::is_directory(repo_dir / "snapshots" / rev, ec)) {
    commit = rev;
  } else {
    std::vector<std::string> matches;
    if (is_hex(rev) && rev.size() >= 4)
      for (auto& s : list_snapshots(repo_dir))
        if (s.rfind(rev, 0) == 0) matches.push_back(s);
    if (matches.size() > 1)
      fail("{} {}: revision {} is ambiguous: snapshots {} of {} all start with it; give more of the hash", option,
           given, rev, join(matches, ", "), repo_dir.string());
    if (matches.empty())
      fail("{} {}: revision \"{}\" is not in the Hugging Face cache: {} has no refs/{} branch and no snapshot whose "
           "commit starts with it; it has {} (cache root {}, chosen by {}). {}; or pick a revision the cache has "
           "(--revision REV, or {}@REV)",
           option, given, rev, repo_dir.string(), rev, cached_revisions(repo_dir), root.dir.string(), root.why,
           never_downloads(repo_id, rev, option), repo_id);
    commit = matches.front();
  }
  const auto snapshot = repo_dir / "snapshots" / commit;
  loc.repo_id = repo_id;
  loc.revision = rev;
  loc.commit = commit;
  check_hf_snapshot(snapshot, fmt::format("{} {} (revision {}{})", option, given, rev,
                                          rev == commit ? "" : " = " + commit));
  loc.dir = snapshot;
  return loc;
}

}  // namespace genlens::model
