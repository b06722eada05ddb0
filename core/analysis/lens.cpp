#include "core/analysis/lens.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "core/analysis/layer_state.h"
#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"
#include "core/text/readable_piece.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::analysis {

const char* to_string(PositionKind k) {
  switch (k) {
    case PositionKind::Ordinary: return "token";
    case PositionKind::Thought: return "thought";
    case PositionKind::Compression: return "compression";
    case PositionKind::SoftPrompt: return "soft-prompt";
  }
  return "?";
}

std::vector<int64_t> parse_layer_range(const std::string& spec, int64_t n_layers, const std::string& flag) {
  auto bad = [&](const std::string& why) -> std::vector<int64_t> {
    fail("{}: {} (found \"{}\"; expected all, a:b or a,b,c with layers 0..{}, negatives counting from the end)", flag,
         why, spec, n_layers);
  };
  auto num = [&](const std::string& s) -> int64_t {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (s.empty() || used != s.size()) bad("'" + s + "' is not a layer number");
    if (v < 0) v += n_layers + 1;
    if (v < 0 || v > n_layers) bad(fmt::format("layer {} is out of range: the model has layers 0..{}", s, n_layers));
    return v;
  };
  std::vector<int64_t> out;
  if (spec.empty() || spec == "all") {
    for (int64_t l = 0; l <= n_layers; ++l) out.push_back(l);
    return out;
  }
  if (auto c = spec.find(':'); c != std::string::npos) {
    std::string a = spec.substr(0, c), b = spec.substr(c + 1);
    int64_t lo = a.empty() ? 0 : num(a), hi = b.empty() ? n_layers : num(b);
    if (lo > hi) bad(fmt::format("the range is empty ({} > {})", lo, hi));
    for (int64_t l = lo; l <= hi; ++l) out.push_back(l);
    return out;
  }
  std::string cur;
  for (char ch : spec + ",") {
    if (ch == ',') {
      out.push_back(num(cur));
      cur.clear();
    } else if (ch != ' ') {
      cur.push_back(ch);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<int32_t> lens_query_ids(const text::Tokenizer& tok, const std::string& query, const LensOptions& opt) {
  auto ids = tok.encode(opt.instruction + query, /*add_special=*/true);
  if (opt.max_length > 0 && static_cast<int64_t>(ids.size()) > opt.max_length)
    fail("--query: the query is {} tokens (instruction + text), more than --max-length {}; shorten it or raise "
         "--max-length",
         ids.size(), opt.max_length);
  if (ids.empty()) fail("--query: the query has no tokens (give some text)");
  return ids;
}

bool is_punct_or_space_piece(const std::string& t) {
  // Readable text: spaces are "·", newlines "\n" (make_visible); those count as space.
  std::string s = t;
  for (const char* m : {"·", "\\n", "\\t", "\\r"}) {
    for (size_t p; (p = s.find(m)) != std::string::npos;) s.erase(p, std::char_traits<char>::length(m));
  }
  for (unsigned char c : s)
    if (c >= 0x80 || !(std::ispunct(c) || std::isspace(c))) return false;
  return true;
}

namespace {

using torch::Tensor;

Tensor embedding_matrix(const model::DecoderLM& lm) {
  for (const auto& [name, t] : lm.named_parameters())
    if (name == "model.embed_tokens.weight") return t;
  fail("logit lens: the model has no model.embed_tokens.weight");
}

struct Tracked {
  std::string word;
  int32_t id;
};

std::vector<Tracked> resolve_tracked(const text::Tokenizer& tok, const std::vector<std::string>& words) {
  std::vector<Tracked> out;
  auto add = [&](const std::string& w, const std::string& form) {
    auto ids = tok.encode(form, /*add_special=*/false);
    if (ids.empty()) return;
    for (auto& t : out)
      if (t.id == ids[0]) return;
    out.push_back({w, ids[0]});
  };
  for (const auto& w : words) {
    if (w.empty()) continue;
    // Both the word as typed and with a leading space: a word inside a sentence is
    // usually the spaced token ("·security"), at the start the bare one.
    add(w, w);
    if (w[0] != ' ') add(w, " " + w);
  }
  return out;
}

// Logit lens of states [P, H] (pre final norm): one cell per row.
std::vector<LensCell> lens_cells(const model::DecoderLM& lm, const text::Tokenizer& tok, const Tensor& states,
                                 int64_t layer, int64_t first_pos, const std::vector<Tracked>& tracked,
                                 int64_t top_k, Tensor* probs_out = nullptr) {
  auto logits = lm.lm_head(lm.final_norm(states.to(lm.dtype()))).to(torch::kFloat32).cpu();
  auto logp = torch::log_softmax(logits, -1);
  auto p = logp.exp();
  auto ent = -(p * logp).sum(-1);
  const int64_t k = std::min<int64_t>(top_k, p.size(1));
  auto top = p.topk(k, -1);
  auto tv = std::get<0>(top), ti = std::get<1>(top);
  std::vector<LensCell> cells;
  for (int64_t r = 0; r < p.size(0); ++r) {
    LensCell c;
    c.layer = layer;
    c.position = first_pos + r;
    c.entropy = ent[r].item<double>();
    for (int64_t j = 0; j < k; ++j) {
      TokenScore s;
      s.id = static_cast<int32_t>(ti[r][j].item<int64_t>());
      s.piece = s.id < tok.vocab_size() ? tok.id_to_piece(s.id) : std::string();
      s.text = text::readable_piece(tok, s.id);
      s.score = tv[r][j].item<double>();
      c.top.push_back(std::move(s));
    }
    for (const auto& t : tracked) {
      TrackedToken tt;
      tt.word = t.word;
      tt.id = t.id;
      tt.text = text::readable_piece(tok, t.id);
      if (t.id >= 0 && t.id < p.size(1)) {
        auto pid = p[r][t.id];
        tt.prob = pid.item<double>();
        tt.rank = 1 + (p[r] > pid).sum().item<int64_t>();
      }
      c.tracked.push_back(std::move(tt));
    }
    cells.push_back(std::move(c));
  }
  if (probs_out) *probs_out = p;
  return cells;
}

bool keep_in_summary(const text::Tokenizer& tok, int32_t id, const std::string& readable, const LensOptions& opt) {
  if (opt.summary_skip_special && (id >= tok.vocab_size() || tok.is_special(id))) return false;
  if (opt.summary_skip_punct && is_punct_or_space_piece(readable)) return false;
  return true;
}

void add_summary(std::map<int32_t, SummaryWord>& acc, const text::Tokenizer& tok, const Tensor& probs,
                 const LensOptions& opt) {
  const int64_t k = std::min<int64_t>(opt.summary_top_k, probs.size(1));
  auto top = probs.topk(k, -1);
  for (int64_t r = 0; r < probs.size(0); ++r)
    for (int64_t j = 0; j < k; ++j) {
      auto id = static_cast<int32_t>(std::get<1>(top)[r][j].item<int64_t>());
      auto it = acc.find(id);
      if (it == acc.end()) {
        SummaryWord w;
        w.id = id;
        w.text = text::readable_piece(tok, id);
        if (!keep_in_summary(tok, id, w.text, opt)) continue;
        it = acc.emplace(id, std::move(w)).first;
      }
      it->second.prob_sum += std::get<0>(top)[r][j].item<double>();
      it->second.count += 1;
    }
}

std::vector<SummaryWord> sorted_summary(const std::map<int32_t, SummaryWord>& acc) {
  std::vector<SummaryWord> out;
  for (auto& [id, w] : acc) out.push_back(w);
  std::stable_sort(out.begin(), out.end(), [](const SummaryWord& a, const SummaryWord& b) {
    return a.prob_sum > b.prob_sum;
  });
  return out;
}

}  // namespace

LensResult logit_lens(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                      const std::string& query, const LensOptions& opt) {
  if (opt.top_k < 1) fail("--top-k: expected >= 1, found {}", opt.top_k);
  torch::NoGradGuard ng;
  const int64_t L = lm.config().num_hidden_layers;
  LensResult res;
  res.query = query;
  res.instruction = opt.instruction;
  res.n_layers = L;
  res.layers = parse_layer_range(opt.layers, L);
  res.summary_layer = L;
  auto ids = lens_query_ids(tok, query, opt);
  const int64_t T = static_cast<int64_t>(ids.size());
  auto tracked = resolve_tracked(tok, opt.track);

  auto qs = query_states(lm, adapter, ids);
  const auto& out = qs.out;
  const int64_t n_thought = qs.n_thought, n_comp = qs.n_compression;
  // Positions shown: ordinary tokens (no adapter, or asked for), then thought, compression.
  const int64_t first = (adapter && !opt.include_ordinary) ? T : 0;
  for (int64_t i = first; i < T + n_thought + n_comp; ++i) {
    LensPosition p;
    p.index = i;
    if (i < T) {
      p.kind = PositionKind::Ordinary;
      p.token_id = ids[static_cast<size_t>(i)];
      p.label = text::readable_piece(tok, p.token_id);
    } else if (i < T + n_thought) {
      p.kind = PositionKind::Thought;
      p.label = fmt::format("T{}", i - T);
    } else {
      p.kind = PositionKind::Compression;
      p.label = fmt::format("C{}", i - T - n_thought);
    }
    res.positions.push_back(std::move(p));
  }
  const int64_t P = static_cast<int64_t>(res.positions.size());
  std::map<int32_t, SummaryWord> acc;
  for (int64_t layer : res.layers) {
    auto states = out.hidden_states[static_cast<size_t>(layer)][0].narrow(0, first, P);
    Tensor probs;
    auto cells = lens_cells(lm, tok, states, layer, 0, tracked, opt.top_k, &probs);
    for (auto& c : cells) res.cells.push_back(std::move(c));
    if (layer == res.summary_layer) {
      // Summary over the compression positions (the ordinary ones without an adapter).
      add_summary(acc, tok, adapter ? probs.narrow(0, P - n_comp, n_comp) : probs, opt);
    }
  }
  if (std::find(res.layers.begin(), res.layers.end(), res.summary_layer) == res.layers.end()) {
    auto last = out.hidden_states[static_cast<size_t>(L)][0];
    auto states = adapter ? last.narrow(0, T + n_thought, n_comp) : last.narrow(0, 0, T);
    auto p = torch::softmax(lm.lm_head(lm.final_norm(states)).to(torch::kFloat32).cpu(), -1);
    add_summary(acc, tok, p, opt);
  }
  res.summary = sorted_summary(acc);

  if (adapter) {
    // C = final-normed last layer at the compression positions (what encode reads), S = recon(C).
    auto C = lm.final_norm(out.hidden_states[static_cast<size_t>(L)][0].narrow(0, T + n_thought, n_comp))
                 .to(torch::kFloat32);
    auto S = gen::soft_prompts_of(*adapter, C);
    for (int64_t i = 0; i < n_comp; ++i) {
      LensPosition p;
      p.index = i;
      p.kind = PositionKind::SoftPrompt;
      p.label = fmt::format("S{}", i);
      res.soft_positions.push_back(std::move(p));
    }
    res.soft_output_lens = lens_cells(lm, tok, S, -1, 0, tracked, opt.top_k);
    // Input lens: nearest rows of the input embedding matrix by cosine.
    auto E = embedding_matrix(lm);
    auto En = torch::nn::functional::normalize(E.to(torch::kFloat32),
                                               torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto Sn = torch::nn::functional::normalize(S.to(En.device()), torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto cos = torch::matmul(Sn, En.t()).cpu();
    const int64_t k = std::min<int64_t>(std::max<int64_t>(1, opt.input_lens_top_k), cos.size(1));
    auto top = cos.topk(k, -1);
    for (int64_t r = 0; r < n_comp; ++r) {
      std::vector<TokenScore> row;
      for (int64_t j = 0; j < k; ++j) {
        TokenScore s;
        s.id = static_cast<int32_t>(std::get<1>(top)[r][j].item<int64_t>());
        s.piece = s.id < tok.vocab_size() ? tok.id_to_piece(s.id) : std::string();
        s.text = text::readable_piece(tok, s.id);
        s.score = std::get<0>(top)[r][j].item<double>();
        row.push_back(std::move(s));
      }
      res.soft_input_lens.push_back(std::move(row));
    }
  }
  return res;
}

std::vector<SummaryWord> summarize_lens(const std::vector<LensResult>& results, const text::Tokenizer& tok,
                                        const LensOptions& opt) {
  std::map<int32_t, SummaryWord> acc;
  for (const auto& r : results)
    for (const auto& w : r.summary) {
      if (!keep_in_summary(tok, w.id, w.text, opt)) continue;
      auto& a = acc[w.id];
      a.id = w.id;
      a.text = w.text;
      a.prob_sum += w.prob_sum;
      a.count += w.count;
    }
  auto out = sorted_summary(acc);
  if (opt.summary_size > 0 && static_cast<int64_t>(out.size()) > opt.summary_size)
    out.resize(static_cast<size_t>(opt.summary_size));
  return out;
}

QueryStates query_states(const model::DecoderLM& lm, const gen::Adapter* adapter, const std::vector<int32_t>& ids) {
  torch::NoGradGuard ng;
  model::ForwardOptions fo;
  fo.output_hidden_states = true;
  QueryStates qs;
  if (adapter) {
    auto pb = model::left_pad(std::vector<std::vector<int32_t>>{ids}, 0, lm.device());
    auto in = gen::encoder_input(lm, *adapter, pb);
    qs.out = lm.forward(in.embeds, in.mask, fo);
    qs.n_thought = adapter->shape().n_thought;
    qs.n_compression = adapter->shape().n_compression;
  } else {
    const int64_t T = static_cast<int64_t>(ids.size());
    auto t = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kLong).view({1, T}).to(lm.device());
    qs.out = lm.forward(lm.embed(t), torch::ones({1, T}, torch::kLong).to(lm.device()), fo);
  }
  return qs;
}

}  // namespace genlens::analysis
