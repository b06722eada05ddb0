// A comma-separated option value ("generative,mean", "warm,rent") as its items, empty
// items dropped; none at all is the error `if_empty`, which names the flag.
#pragma once
#include <string>
#include <vector>

#include "core/util/error.h"

namespace genlens::cli {

inline std::vector<std::string> split_comma_list(const std::string& s, const std::string& if_empty) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = s.find(',', at);
    std::string item = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (out.empty()) fail("{}", if_empty);
  return out;
}

}  // namespace genlens::cli
