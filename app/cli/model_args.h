// Small helpers shared by the model subcommands (forward, complete, bench load).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace genlens::cli {

// "1,2,3" or "1 2 3" -> ids; throws naming the bad piece.
inline std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> out;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(cur, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != cur.size() || v < 0) fail("--ids: '{}' is not a token id (expected e.g. 1,2,3)", cur);
    out.push_back(v);
    cur.clear();
  };
  for (char c : s) {
    if (c == ',' || c == ' ') flush();
    else cur.push_back(c);
  }
  flush();
  if (out.empty()) fail("--ids: no token ids given");
  return out;
}

}  // namespace genlens::cli
