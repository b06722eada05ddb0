// Model ids found in the local Hugging Face cache, offline: what transformers'
// from_pretrained("org/name") reads with HF_HUB_OFFLINE=1 (docs/ARCHITECTURE.md §6.2, "Hugging Face
// cache"). genlens never downloads; a model that is not in the cache is an error that says
// where it looked and how to fetch it.
//
// Cache root: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (its older name), else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (as
// huggingface_hub decides it; an empty variable counts as unset). `org/name` lives in
// ROOT/models--org--name/ with refs/<branch> (a file holding a commit hash), snapshots/<hash>/
// (the model directory; its files usually symlinks into ../../blobs/<etag>) and blobs/.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace genlens::model {

struct HfCacheRoot {
  std::filesystem::path dir;
  std::string why;  // which variable decided it, e.g. "$HF_HOME/hub (HF_HOME=/data/hf; HF_HUB_CACHE unset)"
};
HfCacheRoot hf_cache_root();

// "name" or "org/name" by Hugging Face's rules: each part letters, digits, '_', '-', '.',
// starting and ending with a letter, digit or '_'; no "--" or ".."; at most 96 characters.
bool is_hf_repo_id(std::string_view s);

struct ModelLocation {
  std::filesystem::path dir;  // the directory to load (as given, or the snapshot's absolute path)
  std::string repo_id;        // set when found in the Hugging Face cache
  std::string revision;       // as asked ("main" when none was)
  std::string commit;         // the snapshot's commit hash
  bool from_hf_cache() const { return !repo_id.empty(); }
  // "Qwen/Qwen3-0.6B (revision main = 1a2b3c4...) -> /root/.cache/huggingface/hub/models--.../snapshots/1a2b..."
  std::string describe() const;
};

// What `given` (a --model value; `option` names it in errors) means:
//  * an existing path is returned unchanged (a local directory always wins; --revision
//    with one is an error);
//  * else a repo id, "ORG/NAME" or "ORG/NAME@REVISION", is looked up in the cache: the
//    revision (`revision`, else the one after '@', else "main") is a branch in refs/, a
//    commit hash (a snapshots/ folder) or a unique prefix of one; every file of the
//    snapshot must be readable (a link to a missing blob is an error naming both);
//  * anything else is returned unchanged (the loader's own error names it).
// Misses are genlens::Error listing every place looked at and the revisions the cache has.
ModelLocation locate_model(const std::string& given, const std::string& revision = "",
                           const std::string& option = "--model");

// Throws when a file of the snapshot directory is a symlink whose target (the blob) is
// missing, e.g. after an interrupted download; `what` names the model in the message.
void check_hf_snapshot(const std::filesystem::path& snapshot, const std::string& what);

// The models (repo ids) in the cache under `root`, sorted.
std::vector<std::string> hf_cached_models(const std::filesystem::path& root);

}  // namespace genlens::model
