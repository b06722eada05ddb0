#include "core/text/prompt.h"

#include <algorithm>

namespace genlens::text {

std::vector<int32_t> prompt_ids(const Tokenizer& tok, const ChatTemplate& chat, const std::string& question,
                                int64_t max_input_length) {
  auto ids = tok.encode(chat.render_user_turn(question), /*add_special=*/false);
  if (max_input_length <= 0 || static_cast<int64_t>(ids.size()) <= max_input_length) return ids;
  // Too long: cut the question, never the template around it (the generation prompt
  // must stay at the end).
  const int64_t overhead = static_cast<int64_t>(tok.encode(chat.render_user_turn(""), false).size());
  int64_t budget = std::max<int64_t>(0, max_input_length - overhead);
  const auto q = tok.encode(question, false);
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<TokenId> cut(q.begin(), q.begin() + std::min<int64_t>(budget, static_cast<int64_t>(q.size())));
    ids = tok.encode(chat.render_user_turn(tok.decode(cut, false)), false);
    const int64_t over = static_cast<int64_t>(ids.size()) - max_input_length;
    if (over <= 0) return ids;
    budget = std::max<int64_t>(0, budget - over);  // re-tokenization merged differently
  }
  // Last resort: keep the end (the generation prompt).
  ids.erase(ids.begin(), ids.begin() + (static_cast<int64_t>(ids.size()) - max_input_length));
  return ids;
}

}  // namespace genlens::text
