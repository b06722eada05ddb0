#include "core/gen/query_length.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/gen/adapter_meta.h"
#include "core/text/tokenizer.h"

namespace genlens::gen {

int64_t query_max_length(const AdapterMeta* adapter, int64_t given) {
  if (given > 0) return given;
  if (adapter && adapter->query_max_length > 0) return adapter->query_max_length;
  return kDefaultQueryMaxLength;
}

void QueryCuts::add(int64_t n_tokens) {
  ++texts;
  longest = std::max(longest, n_tokens);
  if (max_length > 0 && n_tokens > max_length) ++cut;
}

void QueryCuts::merge(const QueryCuts& o) {
  if (max_length == 0) max_length = o.max_length;
  texts += o.texts;
  cut += o.cut;
  longest = std::max(longest, o.longest);
}

QueryCuts count_query_cuts(const text::Tokenizer& tok, const std::vector<std::string>& texts,
                           const std::string& instruction, int64_t max_length) {
  QueryCuts c;
  c.max_length = max_length;
  for (const auto& t : texts) c.add(static_cast<int64_t>(tok.encode(instruction + t, /*add_special=*/true).size()));
  return c;
}

std::string cut_warning(const std::string& who, const QueryCuts& c, const std::string& noun) {
  if (c.cut == 0) return {};
  const std::string prefix = who.empty() ? std::string() : who + ": ";
  if (c.texts == 1)
    return fmt::format("{}the {} is {} tokens (instruction + text), more than {}; only its first {} are used "
                       "(--max-length raises the limit)",
                       prefix, noun, c.longest, c.max_length, c.max_length);
  const std::string plural = noun == "query" ? "queries" : noun + "s";
  return fmt::format(
      "{}{} of {} {} were longer than {} tokens and were cut (longest {}); --max-length raises the limit", prefix,
      c.cut, c.texts, plural, c.max_length, c.longest);
}

}  // namespace genlens::gen
