#include "core/analysis/lens.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>

#include "core/analysis/layer_state.h"
#include "core/analysis/tuned_lens.h"
#include "core/gen/adapter.h"
#include "core/model/decoder_lm.h"
#include "core/model/linear.h"
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

std::vector<int64_t> parse_special_positions(const std::string& spec, int64_t n_thought, int64_t n_compression) {
  const std::string has = n_thought > 0 ? fmt::format("T0..T{} and C0..C{}", n_thought - 1, n_compression - 1)
                                        : fmt::format("C0..C{} (no thought tokens)", n_compression - 1);
  auto bad = [&](const std::string& why) -> int64_t {
    fail("--positions: {} (found \"{}\"; the adapter has {}; give labels, ranges like C0:C9, or thought, "
         "compression, special)",
         why, spec, has);
  };
  // "T3" -> 3, "C0" -> n_thought + 0
  auto one = [&](const std::string& s) -> int64_t {
    if (s.size() < 2 || (s[0] != 'T' && s[0] != 'C' && s[0] != 't' && s[0] != 'c') ||
        !std::all_of(s.begin() + 1, s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }))
      return bad("'" + s + "' is not a position label");
    const bool thought = s[0] == 'T' || s[0] == 't';
    const int64_t i = std::stoll(s.substr(1)), n = thought ? n_thought : n_compression;
    if (i >= n) return bad("'" + s + "' is out of range");
    return thought ? i : n_thought + i;
  };
  std::vector<int64_t> out;
  auto add_range = [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) out.push_back(i);
  };
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    start = comma + 1;
    if (item.empty()) bad("an empty item");
    if (item == "special" || item == "all") add_range(0, n_thought + n_compression);
    else if (item == "thought") {
      if (n_thought == 0) bad("this adapter has no thought tokens");
      add_range(0, n_thought);
    } else if (item == "compression") add_range(n_thought, n_thought + n_compression);
    else if (auto colon = item.find(':'); colon != std::string::npos) {
      const int64_t a = one(item.substr(0, colon)), b = one(item.substr(colon + 1));
      if ((a < n_thought) != (b < n_thought)) bad("a range stays within T or within C");
      if (a > b) bad("the range '" + item + "' is empty");
      add_range(a, b + 1);
    } else {
      out.push_back(one(item));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<int32_t> lens_query_ids(const text::Tokenizer& tok, const std::string& query, const LensOptions& opt,
                                    int64_t* n_tokens) {
  auto ids = tok.encode(opt.instruction + query, /*add_special=*/true);
  if (n_tokens) *n_tokens = static_cast<int64_t>(ids.size());
  if (ids.empty()) fail("--query: the query has no tokens (give some text)");
  // Cut as encode cuts it (gen::left_pad keeps the first max_length tokens): the lens
  // looks at the input the embedding is made from.
  if (opt.max_length > 0 && static_cast<int64_t>(ids.size()) > opt.max_length)
    ids.resize(static_cast<size_t>(opt.max_length));
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
  int n_pieces = 1;  // pieces the word's form has (the first is tracked)
};

// A piece that stands for nothing but whitespace ("·", "▁", "Ġ", "\n").
bool whitespace_piece(const text::Tokenizer& tok, int32_t id, text::PieceScheme scheme) {
  if (id < 0 || id >= tok.vocab_size() || tok.is_special(id)) return false;
  const auto bytes = text::piece_bytes(tok.id_to_piece(id), scheme);
  if (bytes.empty()) return false;
  for (unsigned char c : bytes)
    if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r')) return false;
  return true;
}

std::vector<Tracked> resolve_tracked(const text::Tokenizer& tok, const std::vector<std::string>& words) {
  std::vector<Tracked> out;
  const auto scheme = text::piece_scheme(tok);
  auto add = [&](const std::string& w, const std::string& form) {
    auto ids = tok.encode(form, /*add_special=*/false);
    // A tokenizer may give the leading space a piece of its own (SentencePiece: " angry"
    // -> "▁", "angry"): the word is the first piece that is not only whitespace.
    size_t first = 0;
    while (first < ids.size() && whitespace_piece(tok, ids[first], scheme)) ++first;
    if (first == ids.size()) return;
    for (auto& t : out)
      if (t.id == ids[first]) return;
    out.push_back({w, ids[first], static_cast<int>(ids.size() - first)});
  };
  for (const auto& raw : words) {
    // The word as written, without surrounding spaces ("--track ' angry'" is "angry").
    const auto b = raw.find_first_not_of(" \t\n\r");
    if (b == std::string::npos) continue;
    const std::string w = raw.substr(b, raw.find_last_not_of(" \t\n\r") - b + 1);
    // Both the bare word and the word after a space: inside a sentence a word is usually
    // the spaced token ("·security"), at the start the bare one.
    add(w, w);
    add(w, " " + w);
  }
  return out;
}

bool keep_in_summary(const text::Tokenizer& tok, int32_t id, const std::string& readable, const LensOptions& opt) {
  if (opt.summary_skip_special && (id >= tok.vocab_size() || tok.is_special(id))) return false;
  if (opt.summary_skip_punct && is_punct_or_space_piece(readable)) return false;
  return true;
}

// One lens row: a hidden state (before the final norm) and where its cell goes.
struct LensRow {
  int64_t layer = 0;
  int64_t position = 0;
  bool cell = true;     // report a LensCell for it
  bool summary = false; // its top words feed the dominant-word summary
};

// The distribution each row's logits z = head(norm(x)) define, reduced to what a cell
// shows: entropy, the top k, and each tracked id's probability and rank.
struct LensStats {
  Tensor entropy;      // [R] float32
  Tensor top_p, top_i;  // [R, k] float64, int64
  Tensor tracked_p, tracked_rank;  // [R, n_tracked] float64, int64 (undefined without tracked ids)
};

// All rows through the final norm at once, and the LM head in slices of the vocabulary:
// every slice of the [V, H] head is read (and packed by the BLAS) once for all rows,
// where slicing the rows reads the whole head once per slice (at Qwen3's 152k words,
// repacking the head was a third of the lens's time). Per row, a running max, sum of
// exp and sum of exp * z give log-sum-exp and entropy (H = lse - E_p[z]); the top k
// of each slice are merged. A slice's logits stay within 16 MB, under the allocator's
// mmap threshold (runtime::tune_allocator), so slices reuse memory instead of faulting
// in fresh pages.
LensStats lens_stats(const model::DecoderLM& lm, const Tensor& states, int64_t k, const std::vector<int64_t>& tracked_ids) {
  torch::NoGradGuard ng;
  const auto& W = lm.lm_head_weight();
  const int64_t R = states.size(0), V = W.size(0);
  k = std::min(k, V);
  auto x = lm.final_norm(states.to(lm.device()).to(lm.dtype()));
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(x.device());
  Tensor m;  // the running max, from the first slice on
  // In float64: a float32 running sum over 152k words drifted past the plain lens's error.
  auto sum_e = torch::zeros({R, 1}, f32.dtype(torch::kDouble)), sum_ez = torch::zeros({R, 1}, f32.dtype(torch::kDouble));
  Tensor top_z, top_i;
  // The tracked ids' own logits, for counting how many words beat them.
  Tensor ids, z_ids, beaten;
  if (!tracked_ids.empty()) {
    std::vector<int64_t> in_range;
    for (auto id : tracked_ids) in_range.push_back(id >= 0 && id < V ? id : 0);
    ids = torch::tensor(in_range, torch::kLong).to(x.device());
    z_ids = model::linear(x, W.index_select(0, ids)).to(torch::kFloat32);  // [R, n]
    beaten = torch::zeros({R, ids.size(0)}, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  }
  const int64_t slice = std::max<int64_t>(1024, (int64_t{16} << 20) / (4 * std::max<int64_t>(R, 1)) / 64 * 64);
  for (int64_t v0 = 0; v0 < V; v0 += slice) {
    const int64_t n = std::min(slice, V - v0);
    auto z = model::linear(x, W.narrow(0, v0, n)).to(torch::kFloat32);  // [R, n]
    // The slice's top k, from the k blocks of 64 with the highest maxima (a word in the
    // top k sits in a block whose maximum is in the top k of block maxima): a full
    // top-k over [R, n] took as long as the exponentials.
    Tensor tz, ti;
    const int64_t blocks = n / 64;
    if (blocks >= k) {
      auto zb = z.narrow(1, 0, blocks * 64).reshape({R, blocks, 64});  // a copy only for a last, partial slice
      auto bi = std::get<1>(zb.amax(-1).topk(k, -1));                            // [R, k]
      auto cand = zb.gather(1, bi.unsqueeze(-1).expand({R, k, 64})).view({R, k * 64});
      auto cand_i = (bi.unsqueeze(-1) * 64 + torch::arange(64, bi.options()).view({1, 1, 64})).view({R, k * 64});
      if (blocks * 64 < n) {  // the tail past the last whole block
        cand = torch::cat({cand, z.narrow(1, blocks * 64, n - blocks * 64)}, 1);
        cand_i = torch::cat({cand_i, torch::arange(blocks * 64, n, bi.options()).expand({R, n - blocks * 64})}, 1);
      }
      auto t = cand.topk(k, -1);
      tz = std::get<0>(t);
      ti = cand_i.gather(1, std::get<1>(t)) + v0;
    } else {
      auto t = z.topk(std::min(k, n), -1);
      tz = std::get<0>(t);
      ti = std::get<1>(t) + v0;
    }
    if (top_z.defined()) {
      auto both_z = torch::cat({top_z, tz}, 1), both_i = torch::cat({top_i, ti}, 1);
      auto best = both_z.topk(std::min<int64_t>(k, both_z.size(1)), -1);
      top_z = std::get<0>(best);
      top_i = both_i.gather(1, std::get<1>(best));
    } else {
      top_z = tz;
      top_i = ti;
    }
    for (int64_t j = 0; ids.defined() && j < ids.size(0); ++j) {
      auto above = z > z_ids.narrow(1, j, 1);  // [R, n]
      const int64_t id = tracked_ids[static_cast<size_t>(j)];
      if (id >= v0 && id < v0 + n) above.narrow(1, id - v0, 1).fill_(false);  // never beats itself
      beaten.narrow(1, j, 1).add_(above.sum(-1, true));
    }
    // Running sums shifted by the running max m: S_e = sum e^(z-m), S_ez = sum e^(z-m) (z-m).
    // When m moves to m', both are rescaled by e^(m-m') and S_ez gains (m-m') S_e.
    auto z_max = z.amax(-1, /*keepdim=*/true);
    auto new_m = m.defined() ? torch::maximum(m, z_max) : z_max;
    if (m.defined()) {
      auto shift = (m - new_m).to(torch::kDouble);  // <= 0
      auto scale = shift.exp();
      sum_ez = scale * (sum_ez + shift * sum_e);
      sum_e = scale * sum_e;
    }
    auto zs = z.sub_(new_m);  // in place: the slice's logits are not needed any more
    auto e = zs.exp();
    sum_e = sum_e + e.sum(-1, true, torch::kDouble);
    sum_ez = sum_ez + e.mul_(zs).sum(-1, true, torch::kDouble);
    m = new_m;
  }
  auto lse = m.to(torch::kDouble) + sum_e.log();
  LensStats st;
  st.entropy = (sum_e.log() - sum_ez / sum_e).squeeze(1).to(torch::kFloat32).cpu();  // lse - E_p[z]
  st.top_p = (top_z.to(torch::kDouble) - lse).exp().cpu();
  st.top_i = top_i.cpu();
  if (ids.defined()) {
    st.tracked_p = (z_ids.to(torch::kDouble) - lse).exp().cpu();
    st.tracked_rank = (beaten + 1).cpu();
  }
  return st;
}

// The logit lens of states [R, H] (lens_stats), as cells and the dominant-word summary.
std::vector<LensCell> lens_rows(const model::DecoderLM& lm, const text::Tokenizer& tok, const Tensor& states,
                                const std::vector<LensRow>& rows, const std::vector<Tracked>& tracked, int64_t top_k,
                                const LensOptions* summary_opt, std::map<int32_t, SummaryWord>* acc) {
  std::vector<LensCell> cells;
  std::vector<int64_t> tracked_ids;
  for (const auto& t : tracked) tracked_ids.push_back(t.id);
  const int64_t V = lm.lm_head_weight().size(0);
  const int64_t k = std::min<int64_t>(std::max<int64_t>(top_k, summary_opt ? summary_opt->summary_top_k : 0), V);
  const auto st = lens_stats(lm, states, k, tracked_ids);
  const auto ea = st.entropy.accessor<float, 1>();
  const auto va = st.top_p.accessor<double, 2>();
  const auto ia = st.top_i.accessor<int64_t, 2>();
  for (int64_t i = 0; i < states.size(0); ++i) {
    const auto& row = rows[static_cast<size_t>(i)];
    if (row.summary && acc) {
      for (int64_t j = 0; j < std::min<int64_t>(summary_opt->summary_top_k, k); ++j) {
        auto id = static_cast<int32_t>(ia[i][j]);
        auto it = acc->find(id);
        if (it == acc->end()) {
          SummaryWord w;
          w.id = id;
          w.text = text::readable_piece(tok, id);
          if (!keep_in_summary(tok, id, w.text, *summary_opt)) continue;
          it = acc->emplace(id, std::move(w)).first;
        }
        it->second.prob_sum += va[i][j];
        it->second.count += 1;
      }
    }
    if (!row.cell) continue;
    LensCell cell;
    cell.layer = row.layer;
    cell.position = row.position;
    cell.entropy = ea[i];
    for (int64_t j = 0; j < std::min(top_k, k); ++j) {
      TokenScore s;
      s.id = static_cast<int32_t>(ia[i][j]);
      s.piece = s.id < tok.vocab_size() ? tok.id_to_piece(s.id) : std::string();
      s.text = text::readable_piece(tok, s.id);
      s.score = va[i][j];
      cell.top.push_back(std::move(s));
    }
    for (size_t t = 0; t < tracked.size(); ++t) {
      TrackedToken tt;
      tt.word = tracked[t].word;
      tt.id = tracked[t].id;
      tt.n_pieces = tracked[t].n_pieces;
      tt.text = text::readable_piece(tok, tracked[t].id);
      if (tracked[t].id >= 0 && tracked[t].id < V) {
        tt.prob = st.tracked_p.accessor<double, 2>()[i][static_cast<int64_t>(t)];
        tt.rank = st.tracked_rank.accessor<int64_t, 2>()[i][static_cast<int64_t>(t)];
      }
      cell.tracked.push_back(std::move(tt));
    }
    cells.push_back(std::move(cell));
  }
  return cells;
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
  auto res = logit_lens_ids(lm, adapter, tok, lens_query_ids(tok, query, opt), opt);
  res.query = query;
  return res;
}

LensResult logit_lens_ids(const model::DecoderLM& lm, const gen::Adapter* adapter, const text::Tokenizer& tok,
                          const std::vector<int32_t>& ids, const LensOptions& opt) {
  if (opt.top_k < 1) fail("--top-k: expected >= 1, found {}", opt.top_k);
  if (ids.empty()) fail("logit lens: the query has no tokens");
  torch::NoGradGuard ng;
  const int64_t L = lm.config().num_hidden_layers;
  LensResult res;
  res.instruction = opt.instruction;
  res.n_layers = L;
  res.layers = parse_layer_range(opt.layers, L);
  res.summary_layer = L;
  const int64_t T = static_cast<int64_t>(ids.size());
  auto tracked = resolve_tracked(tok, opt.track);

  auto qs = query_states(lm, adapter, ids);
  const auto& out = qs.out;
  const int64_t n_thought = qs.n_thought, n_comp = qs.n_compression;
  // Positions shown: ordinary tokens (no adapter, or asked for), then thought, compression.
  const int64_t first = (adapter && !opt.include_ordinary) ? T : 0;
  res.positions = query_positions(tok, ids, qs, first);
  if (!opt.positions.empty()) {
    if (!adapter) fail("--positions: names thought and compression positions (T0, C3, ...); it needs --adapter");
    const auto keep = parse_special_positions(opt.positions, n_thought, n_comp);
    std::vector<LensPosition> kept;
    for (auto& p : res.positions)
      if (p.index < T || std::binary_search(keep.begin(), keep.end(), p.index - T)) kept.push_back(std::move(p));
    res.positions = std::move(kept);
  }
  const int64_t P = static_cast<int64_t>(res.positions.size());
  const auto dev = out.hidden_states[0].device();
  auto rows_at = [&](const std::vector<int64_t>& at) {
    return torch::tensor(at, torch::TensorOptions().dtype(torch::kLong)).to(dev);
  };
  std::vector<int64_t> shown;
  for (const auto& p : res.positions) shown.push_back(p.index);
  const Tensor shown_rows = rows_at(shown);
  // Every (layer, position) cell asked for, plus the summary rows (the compression
  // positions at the last layer; the ordinary ones without an adapter), in one pass.
  const int64_t sum_first = adapter ? T + n_thought : 0, sum_count = adapter ? n_comp : T;
  const bool summary_shown = std::find(res.layers.begin(), res.layers.end(), res.summary_layer) != res.layers.end();
  std::vector<Tensor> parts;
  std::vector<LensRow> rows;
  for (int64_t layer : res.layers) {
    Tensor h = out.hidden_states[static_cast<size_t>(layer)][0].index_select(0, shown_rows);
    if (opt.tuned) h = opt.tuned->apply(layer, h).to(h.device(), h.scalar_type());  // the tuned lens's translator
    parts.push_back(h);
    for (int64_t i = 0; i < P; ++i) {
      const int64_t pos = shown[static_cast<size_t>(i)];
      rows.push_back({layer, i, true, layer == res.summary_layer && pos >= sum_first && pos < sum_first + sum_count});
    }
  }
  // The summary positions that no cell covers (the last layer not shown, or positions left
  // out by opt.positions): rows of their own, so the summary never depends on the view.
  std::vector<int64_t> unseen;
  for (int64_t pos = sum_first; pos < sum_first + sum_count; ++pos)
    if (!summary_shown || !std::binary_search(shown.begin(), shown.end(), pos)) unseen.push_back(pos);
  if (!unseen.empty()) {
    parts.push_back(out.hidden_states[static_cast<size_t>(L)][0].index_select(0, rows_at(unseen)));
    for (size_t i = 0; i < unseen.size(); ++i) rows.push_back({L, -1, false, true});
  }
  // With an adapter, the soft prompts S = recon(C) (C = the final-normed last layer at the
  // compression positions, what encode reads) go through the same head pass as the cells
  // (one read of the head for everything): their output lens, the layer -1 rows.
  Tensor S;
  if (adapter) {
    auto C = lm.final_norm(out.hidden_states[static_cast<size_t>(L)][0].narrow(0, T + n_thought, n_comp))
                 .to(torch::kFloat32);
    S = gen::soft_prompts_of(*adapter, C);
    parts.push_back(S.to(parts.front().device(), parts.front().scalar_type()));
    for (int64_t i = 0; i < n_comp; ++i) rows.push_back({-1, i, true, false});
  }
  std::map<int32_t, SummaryWord> acc;
  res.cells = lens_rows(lm, tok, torch::cat(parts, 0), rows, tracked, opt.top_k, &opt, &acc);
  res.summary = sorted_summary(acc);

  if (adapter) {
    for (int64_t i = 0; i < n_comp; ++i) {
      LensPosition p;
      p.index = i;
      p.kind = PositionKind::SoftPrompt;
      p.label = fmt::format("S{}", i);
      res.soft_positions.push_back(std::move(p));
    }
    // The soft prompts' cells come last.
    res.soft_output_lens.assign(std::make_move_iterator(res.cells.end() - n_comp), std::make_move_iterator(res.cells.end()));
    res.cells.resize(res.cells.size() - static_cast<size_t>(n_comp));
    // Input lens: nearest rows of the input embedding matrix by cosine.
    // cos = (S/|S|) E^T / |E_row|: no normalised copy of the [V, H] matrix is made.
    const auto& E = embedding_matrix(lm);
    auto Sn = torch::nn::functional::normalize(S.to(E.device()).to(torch::kFloat32),
                                               torch::nn::functional::NormalizeFuncOptions().dim(1));
    // In blocks of the vocabulary: a bf16 table (the low-memory format) is converted a
    // block at a time, never as a whole float32 copy of the embedding.
    std::vector<Tensor> parts;
    for (int64_t v0 = 0, block = 8192; v0 < E.size(0); v0 += block) {
      auto e = E.narrow(0, v0, std::min(block, E.size(0) - v0)).to(torch::kFloat32);
      parts.push_back(torch::matmul(Sn, e.t()) / e.norm(2, 1).clamp_min(1e-12));
    }
    auto cos = torch::cat(parts, 1).cpu();
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

std::vector<std::vector<SummaryWord>> layer_summaries(const LensResult& r, const text::Tokenizer& tok,
                                                      const LensOptions& opt) {
  std::vector<std::vector<SummaryWord>> out;
  for (size_t li = 0; li < r.layers.size(); ++li) {
    std::map<int32_t, SummaryWord> acc;
    for (size_t p = 0; p < r.positions.size(); ++p) {
      const auto& top = r.cell(li, p).top;
      const size_t k = std::min(top.size(), static_cast<size_t>(std::max<int64_t>(1, opt.summary_top_k)));
      for (size_t j = 0; j < k; ++j) {
        if (!keep_in_summary(tok, top[j].id, top[j].text, opt)) continue;
        auto& a = acc[top[j].id];
        a.id = top[j].id;
        a.text = top[j].text;
        a.prob_sum += top[j].score;
        a.count += 1;
      }
    }
    auto words = sorted_summary(acc);
    if (opt.summary_size > 0 && static_cast<int64_t>(words.size()) > opt.summary_size)
      words.resize(static_cast<size_t>(opt.summary_size));
    out.push_back(std::move(words));
  }
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

std::vector<LensPosition> query_positions(const text::Tokenizer& tok, const std::vector<int32_t>& ids,
                                          const QueryStates& states, int64_t first) {
  const int64_t T = static_cast<int64_t>(ids.size()), n_thought = states.n_thought;
  std::vector<LensPosition> positions;
  for (int64_t i = first; i < T + n_thought + states.n_compression; ++i) {
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
    positions.push_back(std::move(p));
  }
  return positions;
}

}  // namespace genlens::analysis
