#include "core/analysis/embedding_expr.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/gen/adapter.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/util/error.h"

namespace genlens::analysis {

namespace F = torch::nn::functional;
using torch::Tensor;

namespace {

struct Parser {
  const std::string& s;
  size_t i = 0;

  void skip_space() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  [[noreturn]] void error(const std::string& expected) const {
    const std::string found = i < s.size() ? "\"" + s.substr(i, 12) + "\"" : std::string("the end");
    fail("--expr: at character {} of \"{}\": expected {}, found {}", i + 1, s, expected, found);
  }
  // A NUMBER followed by '*', when there is one here (else nothing is consumed).
  bool coefficient(double& out) {
    const size_t start = i;
    const char* begin = s.c_str() + i;
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end == begin) return false;
    i += static_cast<size_t>(end - begin);
    skip_space();
    if (i < s.size() && s[i] == '*') {
      ++i;
      out = v;
      return true;
    }
    i = start;
    return false;
  }
  ExprTerm atom() {
    skip_space();
    ExprTerm t;
    if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
      const char q = s[i++];
      while (i < s.size() && s[i] != q) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        t.text.push_back(s[i++]);
      }
      if (i >= s.size()) error(fmt::format("the closing {} of a query text", q));
      ++i;
      return t;
    }
    if (s.compare(i, 4, "row:") == 0) {
      i += 4;
      const size_t start = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == start) error("a row number after row:");
      t.is_row = true;
      t.row = std::stoll(s.substr(start, i - start));
      return t;
    }
    error("a quoted query text (\"...\" or '...') or row:N");
  }
};

}  // namespace

std::vector<ExprTerm> parse_embedding_expr(const std::string& expr) {
  Parser p{expr};
  std::vector<ExprTerm> terms;
  p.skip_space();
  if (p.i >= expr.size()) fail("--expr: empty expression (expected e.g. \"'a cat' - 'cat' + 'dog'\")");
  double sign = 1;
  if (expr[p.i] == '-' || expr[p.i] == '+') sign = expr[p.i++] == '-' ? -1 : 1;
  while (true) {
    p.skip_space();
    double coef = 1;
    p.coefficient(coef);
    ExprTerm t = p.atom();
    t.coef = sign * coef;
    terms.push_back(std::move(t));
    p.skip_space();
    if (p.i >= expr.size()) break;
    if (expr[p.i] != '+' && expr[p.i] != '-') p.error("+ or - between terms");
    sign = expr[p.i++] == '-' ? -1 : 1;
  }
  return terms;
}

Tensor expr_soft_prompts(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                         const std::vector<ExprTerm>& terms, const std::vector<std::string>& corpus,
                         const std::string& corpus_path, const DecodeOptions& opt) {
  if (terms.empty()) fail("--expr: no terms");
  torch::NoGradGuard ng;
  Tensor sum;
  for (const auto& t : terms) {
    std::string text = t.text;
    if (t.is_row) {
      if (corpus_path.empty()) fail("--expr: row:{} needs --corpus FILE (the JSONL its rows come from)", t.row);
      if (t.row < 0 || t.row >= static_cast<int64_t>(corpus.size()))
        fail("--expr: row:{}: {} has rows 0..{}", t.row, corpus_path, static_cast<int64_t>(corpus.size()) - 1);
      text = corpus[static_cast<size_t>(t.row)];
    }
    // One text at a time: no padding, so a one-term expression is exactly `decode --query`'s S.
    Tensor S = query_soft_prompts(lm, adapter, tok, {text}, opt);
    Tensor term = t.coef == 1 ? S : t.coef == -1 ? -S : S * t.coef;
    sum = sum.defined() ? sum + term : term;
  }
  return sum;
}

std::pair<std::string, std::string> parse_direction(const std::string& spec) {
  const auto c = spec.find(':');
  if (c == std::string::npos || c == 0 || c + 1 >= spec.size() || spec.find(':', c + 1) != std::string::npos)
    fail("--direction: expected FROM:TO (two labels of --corpus, e.g. anger:joy), found \"{}\"", spec);
  return {spec.substr(0, c), spec.substr(c + 1)};
}

Tensor group_direction(const model::DecoderLM& lm, const gen::Adapter& adapter, const text::Tokenizer& tok,
                       const std::vector<std::string>& corpus, const std::vector<std::string>& labels,
                       const std::string& corpus_path, const std::string& from, const std::string& to,
                       const DecodeOptions& opt) {
  if (from == to) fail("--direction: {}:{} goes nowhere (two different labels)", from, to);
  std::vector<size_t> rows_from, rows_to;
  for (size_t i = 0; i < labels.size() && i < corpus.size(); ++i) {
    if (labels[i] == from) rows_from.push_back(i);
    if (labels[i] == to) rows_to.push_back(i);
  }
  if (rows_from.empty() || rows_to.empty()) {
    std::vector<std::string> seen;
    for (const auto& l : labels)
      if (!l.empty() && std::find(seen.begin(), seen.end(), l) == seen.end()) seen.push_back(l);
    std::string list;
    for (const auto& l : seen) list += (list.empty() ? "" : ", ") + l;
    fail("--direction: no row of {} is labelled \"{}\" (labels there: {})", corpus_path,
         rows_from.empty() ? from : to, list.empty() ? "none" : list);
  }
  std::vector<ExprTerm> terms;
  for (size_t i : rows_to) terms.push_back({1.0 / double(rows_to.size()), true, "", int64_t(i)});
  for (size_t i : rows_from) terms.push_back({-1.0 / double(rows_from.size()), true, "", int64_t(i)});
  return expr_soft_prompts(lm, adapter, tok, terms, corpus, corpus_path, opt);
}

Tensor steer_soft_prompts(const Tensor& S, const Tensor& d, double scale, double add) {
  const Tensor flat = S.reshape({S.size(0), -1}), dir = d.reshape({1, -1}).to(S.dtype());
  const double norm = dir.norm().item<double>();
  if (!(norm > 0)) fail("--direction: the two groups' mean states coincide (a zero direction)");
  const Tensor u = dir / norm;
  const Tensor along = (flat * u).sum(1, /*keepdim=*/true);  // [B, 1]
  return (flat + (scale - 1) * along * u + add * dir).reshape(S.sizes());
}

Tensor load_soft_prompts(const std::filesystem::path& path, const gen::Adapter& adapter) {
  const auto& sh = adapter.shape();
  Tensor v = io::load_npy(path);
  if (!v.is_floating_point())
    fail("{}: --vector: expected a float .npy of compression states, found integers", path.string());
  const std::vector<int64_t> found = v.sizes().vec();  // as the file has it, for the message
  if (v.dim() == 2) v = v.unsqueeze(0);
  if (v.dim() != 3 || v.size(0) < 1 || v.size(1) != sh.n_compression || v.size(2) != sh.hidden)
    fail("{}: --vector: expected compression states [{}, {}] or [B, {}, {}] (the adapter's n_compression, hidden), "
         "found [{}]",
         path.string(), sh.n_compression, sh.hidden, sh.n_compression, sh.hidden, fmt::join(found, ", "));
  v = v.to(torch::kFloat32);
  if (!torch::isfinite(v).all().item<bool>()) fail("{}: --vector: contains NaN or infinite values", path.string());
  return v;
}

Tensor embedding_of_soft_prompts(const gen::Adapter& adapter, const Tensor& S) {
  torch::NoGradGuard ng;
  return gen::embedding_of(adapter, S.to(torch::kFloat32));
}

}  // namespace genlens::analysis
