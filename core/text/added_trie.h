// Added-token matching shared by the tokenizer backends: a byte trie over token
// contents, split greedily left to right with the longest match at each position (the
// JS reference's DictionarySplitter).
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace genlens::text {

class AddedTrie {
 public:
  void clear() { nodes_.assign(1, Node{}); first_.fill(false); }
  void add(std::string_view s, int32_t value) {
    if (s.empty()) return;
    if (nodes_.empty()) clear();
    int32_t cur = 0;
    for (unsigned char c : s) {
      int32_t nx = -1;
      for (auto& [ch, idx] : nodes_[cur].kids)
        if (ch == c) { nx = idx; break; }
      if (nx < 0) {
        nx = static_cast<int32_t>(nodes_.size());
        nodes_[cur].kids.emplace_back(c, nx);
        nodes_.push_back(Node{});
      }
      cur = nx;
    }
    nodes_[cur].value = value;
    first_[static_cast<unsigned char>(s[0])] = true;
  }
  bool empty() const { return nodes_.size() <= 1; }
  struct Section {
    uint32_t b, e;
    int32_t value;  // index into the added token list, -1 for text
  };
  // Greedy longest match scanning left to right (the reference's DictionarySplitter).
  void split(std::string_view s, std::vector<Section>& out) const {
    out.clear();
    size_t start = 0, i = 0, n = s.size();
    if (!empty()) {
      while (i < n) {
        if (!first_[static_cast<unsigned char>(s[i])]) { ++i; continue; }
        int32_t cur = 0, match = -1;
        size_t match_len = 0;
        for (size_t j = i; j < n; ++j) {
          int32_t nx = -1;
          for (auto& [ch, idx] : nodes_[cur].kids)
            if (ch == static_cast<unsigned char>(s[j])) { nx = idx; break; }
          if (nx < 0) break;
          cur = nx;
          if (nodes_[cur].value >= 0) { match = nodes_[cur].value; match_len = j + 1 - i; }
        }
        if (match >= 0) {
          if (i > start) out.push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(i), -1});
          out.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i + match_len), match});
          i += match_len;
          start = i;
        } else {
          ++i;
        }
      }
    }
    if (start < n) out.push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(n), -1});
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> kids;
    int32_t value = -1;
  };
  std::vector<Node> nodes_{1};
  std::array<bool, 256> first_{};
};

}  // namespace genlens::text
