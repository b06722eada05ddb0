#include "core/data/responses.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/model/generate.h"
#include "core/text/unicode.h"
#include "core/util/error.h"
#include "core/util/hash.h"

namespace genlens::data {

namespace fs = std::filesystem;

std::vector<QueryRow> read_queries(const fs::path& path) {
  io::JsonlReader r(path);
  std::vector<QueryRow> out;
  std::map<std::string, int64_t> seen;
  io::Json row;
  while (r.next(row)) {
    QueryRow q{r.get_id(row), r.get_string(row, "question")};
    auto [it, fresh] = seen.emplace(q.id, r.line());
    if (!fresh) fail("{}: field \"id\": \"{}\" was already used on line {} (ids must be unique)", r.where(), q.id, it->second);
    out.push_back(std::move(q));
  }
  if (out.empty()) fail("{}: expected at least one row {{\"id\", \"question\"}}, found none", path.string());
  return out;
}

std::vector<ResponseRow> read_responses(const fs::path& path) {
  io::JsonlReader r(path);
  std::vector<ResponseRow> out;
  std::map<std::string, int64_t> seen;
  io::Json row;
  while (r.next(row)) {
    ResponseRow q{r.get_id(row), r.get_string(row, "question"), r.get_string(row, "answer")};
    auto [it, fresh] = seen.emplace(q.id, r.line());
    if (!fresh) fail("{}: field \"id\": \"{}\" was already used on line {} (ids must be unique)", r.where(), q.id, it->second);
    out.push_back(std::move(q));
  }
  if (out.empty()) fail("{}: expected at least one row {{\"id\", \"question\", \"answer\"}}, found none", path.string());
  return out;
}

size_t drop_empty_answers(std::vector<ResponseRow>& rows) {
  const size_t before = rows.size();
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [](const ResponseRow& r) { return text::unicode::is_py_blank(r.answer); }),
             rows.end());
  return before - rows.size();
}

int32_t target_eos_id(const text::Tokenizer& tok, const model::DecoderLM& lm) {
  if (auto e = tok.eos_id()) return *e;
  if (!lm.config().eos_token_ids.empty()) return static_cast<int32_t>(lm.config().eos_token_ids.front());
  fail("no EOS token: neither tokenizer_config.json nor config.json/generation_config.json names one");
}

GenerateReport generate_responses(runtime::JobContext& ctx, const model::DecoderLM& lm, const text::Tokenizer& tok,
                                  const text::ChatTemplate& chat, const fs::path& input, const fs::path& output,
                                  const GenerateSettings& gs) {
  GenerateReport rep;
  model::GenerateOptions go;
  go.max_new_tokens = gs.max_new_tokens;
  go.sample = gs.sample;
  go.temperature = gs.temperature;
  go.top_p = gs.top_p;
  model::check_options(go);  // before anything is written
  auto queries = read_queries(input);  // all rows: ids are checked across the whole file
  if (gs.shard_begin > 0 || gs.shard_end >= 0) {
    const auto n = static_cast<int64_t>(queries.size());
    const int64_t b = std::clamp<int64_t>(gs.shard_begin, 0, n), e = gs.shard_end < 0 ? n : std::clamp<int64_t>(gs.shard_end, b, n);
    queries = std::vector<QueryRow>(queries.begin() + b, queries.begin() + e);
  }
  rep.total = static_cast<int64_t>(queries.size());
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < queries.size(); ++i) index[queries[i].id] = i;

  // What an earlier (interrupted) run already wrote.
  std::vector<uint8_t> done(queries.size(), 0);
  std::vector<io::Json> done_rows(queries.size());
  {
    auto prefix = io::read_jsonl_complete(output);
    for (size_t k = 0; k < prefix.rows.size(); ++k) {
      const auto& row = prefix.rows[k];
      auto id_it = row.find("id");
      std::string id = id_it == row.end() ? "" : id_it->is_string() ? id_it->get<std::string>() : id_it->dump();
      auto it = index.find(id);
      if (it == index.end() || !row.contains("answer") || !row.at("answer").is_string())
        fail("{}: row {} (id \"{}\") is not a response to a question of {}; is this the output of another input? "
             "(move it away or choose another --output)", output.string(), k + 1, id, input.string());
      done[it->second] = 1;
      done_rows[it->second] = row;
      ++rep.already_done;
    }
    if (prefix.torn_tail) {
      io::truncate_file(output, prefix.valid_bytes);
      rep.torn_tail_redone = true;
      ctx.log(fmt::format("{}: the last line was cut off (interrupted write); it will be generated again",
                          output.string()));
    }
  }
  if (rep.already_done > 0)
    ctx.log(fmt::format("resuming: {} of {} responses already in {}", rep.already_done, rep.total, output.string()));

  std::vector<size_t> pending;
  for (size_t i = 0; i < queries.size(); ++i)
    if (!done[i]) pending.push_back(i);
  std::vector<std::vector<int64_t>> prompts(queries.size());
  ctx.set_stage("tokenize", static_cast<int64_t>(pending.size()), "rows");
  for (size_t i : pending) {
    auto ids = text::prompt_ids(tok, chat, queries[i].question, gs.max_input_length);
    prompts[i].assign(ids.begin(), ids.end());
    ctx.advance();
  }
  // Longest first: similar lengths share a batch (little padding), and the largest
  // batch runs first so running out of memory shows at once.
  std::stable_sort(pending.begin(), pending.end(),
                   [&](size_t a, size_t b) { return prompts[a].size() > prompts[b].size(); });

  go.eos_ids = lm.config().eos_token_ids;
  if (auto e = tok.eos_id()) go.eos_ids.push_back(*e);
  std::sort(go.eos_ids.begin(), go.eos_ids.end());
  go.eos_ids.erase(std::unique(go.eos_ids.begin(), go.eos_ids.end()), go.eos_ids.end());

  ctx.set_stage("generate", rep.total, "rows", rep.already_done);
  {
    io::JsonlWriter out(output, io::JsonlWriter::Mode::Append, /*fsync_each=*/true);
    const size_t bs = static_cast<size_t>(std::max<int64_t>(1, gs.batch_size));
    for (size_t start = 0; start < pending.size(); start += bs) {
      ctx.check_cancel();
      size_t end = std::min(pending.size(), start + bs);
      std::vector<std::vector<int64_t>> batch;
      for (size_t k = start; k < end; ++k) batch.push_back(prompts[pending[k]]);
      // Sampling seed per batch from its first id: the same rows sample the same way
      // whatever was done before (batch composition can change after a resume).
      const auto& first = queries[pending[start]].id;
      go.seed = util::fnv1a64(first.data(), first.size(), gs.seed * 0x9E3779B97F4A7C15ull + 1);
      auto gen_ids = model::generate_from_ids(lm, batch, go);
      for (size_t k = start; k < end; ++k) {
        const auto& q = queries[pending[k]];
        const auto& ids64 = gen_ids[k - start];
        std::vector<text::TokenId> ids(ids64.begin(), ids64.end());
        auto answer = tok.decode(ids, /*skip_special=*/true);
        // Trim surrounding whitespace as Python's str.strip() does (the no-think template
        // already ends the prompt with blank lines; a leading newline is not part of the answer).
        answer = std::string(text::unicode::py_strip(answer));
        io::Json row{{"id", q.id}, {"question", q.question}, {"answer", answer}};
        out.write(row);
        done_rows[pending[k]] = row;
        ++rep.generated;
      }
      ctx.advance(static_cast<int64_t>(end - start));
    }
    out.close();
  }
  // Complete: put the rows back in input order (atomically; the content is the same).
  std::string all;
  for (auto& row : done_rows) {
    all += row.dump(-1, ' ', false, io::Json::error_handler_t::replace);
    all += '\n';
  }
  io::write_file_atomic(output, all);
  ctx.log(fmt::format("wrote {} responses to {} ({} generated now)", rep.total, output.string(), rep.generated));
  return rep;
}

TokenizedTrainData tokenize_train_data(const std::vector<ResponseRow>& rows, const text::Tokenizer& tok,
                                       int32_t eos_id, const gen::TrainSettings& s, runtime::JobContext* ctx) {
  TokenizedTrainData out;
  auto& d = out.data;
  if (ctx) ctx->set_stage("tokenize", static_cast<int64_t>(rows.size()), "rows");
  const size_t rmax = static_cast<size_t>(s.response_max_length);
  for (auto& r : rows) {
    d.ids.push_back(r.id);
    // The official collator trains on `question.strip()` and `answer.strip()` (query,
    // reconstruction target and teacher text alike).
    const std::string answer(text::unicode::py_strip(r.answer));
    auto q = tok.encode(s.instruction + std::string(text::unicode::py_strip(r.question)), /*add_special=*/true);
    d.query.emplace_back(q.begin(), q.end());
    auto a = tok.encode(answer, /*add_special=*/false);
    gen::TokenRow t(a.begin(), a.end());
    t.push_back(eos_id);
    if (t.size() > rmax) t.resize(rmax);
    d.target.push_back(std::move(t));
    auto ta = tok.encode(answer, /*add_special=*/true);
    if (ta.size() > rmax) ta.resize(rmax);
    out.teacher_texts.emplace_back(ta.begin(), ta.end());
    if (ctx) {
      ctx->check_cancel();
      ctx->advance();
    }
  }
  return out;
}

}  // namespace genlens::data
