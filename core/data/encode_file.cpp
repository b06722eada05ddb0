#include "core/data/encode_file.h"

#include <fmt/format.h>

#include <memory>
#include <set>

#include "core/data/responses.h"
#include "core/dist/group.h"
#include "core/gen/adapter.h"
#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/util/error.h"

namespace genlens::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path with_suffix(const fs::path& p, const std::string& s) { return fs::path(p.string() + s); }

// Windows finished by any rank of any earlier or current run: OUTPUT.partial.done-*.
std::set<int64_t> done_windows(const fs::path& output) {
  std::set<int64_t> done;
  const auto dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  const std::string prefix = output.filename().string() + ".partial.done-";
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind(prefix, 0) != 0) continue;
    for (auto& row : io::read_jsonl_complete(e.path()).rows)
      if (row.contains("window") && row.at("window").is_number_integer()) done.insert(row.at("window").get<int64_t>());
  }
  return done;
}

void remove_partial_files(const fs::path& output) {
  const auto dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  const std::string prefix = output.filename().string() + ".partial";
  std::error_code ec;
  std::vector<fs::path> gone;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) gone.push_back(e.path());
  for (auto& p : gone) fs::remove(p, ec);
}

}  // namespace

EncodeFileReport encode_file(runtime::JobContext& ctx, const model::DecoderLM& lm, const gen::Adapter* adapter,
                             const text::Tokenizer& tok, const fs::path& input, const fs::path& output,
                             const EncodeFileSettings& s, dist::Group* group) {
  if (s.window < 1) fail("--window: expected >= 1, found {}", s.window);
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;
  EncodeFileReport rep;
  // Pass 1: count (and check) every row, so the header can be sized and a bad row is
  // reported before any compute.
  ctx.set_stage("count", 0, "rows");
  {
    TextReader r(input, s.field);
    std::string t;
    while (r.next(t)) {
      ++rep.rows;
      if (rep.rows % 65536 == 0) ctx.set_done(rep.rows);
    }
  }
  // An empty input would give an empty .npy that silently replaces an earlier result.
  if (rep.rows == 0) fail("{}: no rows (the file is empty or holds only blank lines)", input.string());
  rep.cols = s.encode.mode == gen::EncodeMode::Generative ? (adapter ? adapter->shape().teacher_dim : 0)
                                                          : lm.config().hidden_size;
  if (rep.cols < 1) fail("encode: mode generative needs an adapter");
  rep.windows = (rep.rows + s.window - 1) / s.window;
  const bool with_states = !s.hidden_states.empty();
  std::vector<int64_t> states_shape;
  if (with_states) {
    if (s.encode.mode != gen::EncodeMode::Generative || !adapter)
      fail("--hidden-states: the thought and compression states come with --mode generative and an adapter");
    states_shape = {lm.config().num_hidden_layers + 1, adapter->shape().n_special(), lm.config().hidden_size};
  }
  const auto states_partial = with_states ? with_suffix(s.hidden_states, ".partial") : fs::path();

  const auto partial = with_suffix(output, ".partial"), meta_path = with_suffix(output, ".partial.json");
  json meta = s.identity;
  std::error_code ec;
  meta["input"] = fs::absolute(input).string();
  meta["input_bytes"] = static_cast<int64_t>(fs::file_size(input, ec));
  meta["rows"] = rep.rows;
  meta["cols"] = rep.cols;
  meta["window"] = s.window;
  meta["mode"] = gen::to_string(s.encode.mode);
  meta["batch_size"] = s.encode.batch_size;
  meta["max_length"] = s.encode.max_length;
  meta["field"] = s.field;
  meta["instruction"] = s.instruction;
  if (with_states) {
    meta["hidden_states"] = fs::absolute(s.hidden_states).string();
    meta["hidden_dtype"] = s.hidden_dtype == torch::kFloat16 ? "f16" : "f32";
  }

  if (rank == 0) {
    bool resume = false;
    if (fs::exists(partial, ec) && fs::exists(meta_path, ec)) {
      json have;
      try {
        have = io::read_json_file(meta_path);
      } catch (const Error&) {
      }
      resume = have == meta && (!with_states || fs::exists(states_partial, ec));
      if (!resume)
        ctx.log(fmt::format("{} is for another input or other settings; starting over", partial.string()));
    }
    if (!resume) {
      remove_partial_files(output);
      if (output.has_parent_path()) fs::create_directories(output.parent_path(), ec);
      io::NpyRowWriter create(partial, rep.rows, rep.cols, io::NpyRowWriter::Mode::Create);
      create.sync();
      if (with_states) {
        if (s.hidden_states.has_parent_path()) fs::create_directories(s.hidden_states.parent_path(), ec);
        io::NpyRowWriter(states_partial, rep.rows, states_shape, io::NpyRowWriter::Mode::Create, s.hidden_dtype).sync();
      }
      io::write_file_atomic(meta_path, meta.dump(2) + "\n");
    }
  }
  if (group) group->barrier_long("rank 0 prepares " + partial.string());

  io::NpyRowWriter out(partial, rep.rows, rep.cols, io::NpyRowWriter::Mode::Open);
  std::unique_ptr<io::NpyRowWriter> states_out;
  if (with_states)
    states_out = std::make_unique<io::NpyRowWriter>(states_partial, rep.rows, states_shape,
                                                    io::NpyRowWriter::Mode::Open, s.hidden_dtype);
  const auto done_before = done_windows(output);
  rep.windows_before = static_cast<int64_t>(done_before.size());
  const auto mine = dist::slice_of(rep.windows, rank, world);
  const int64_t my_first_row = mine.begin * s.window;
  int64_t pending_rows = 0;
  for (int64_t w = mine.begin; w < mine.end; ++w)
    if (!done_before.count(w)) pending_rows += std::min(rep.rows, (w + 1) * s.window) - w * s.window;
  if (rank == 0 && rep.windows_before > 0)
    ctx.log(fmt::format("continuing {}: {} of {} windows of {} rows already done", partial.string(),
                        rep.windows_before, rep.windows, s.window));

  ctx.set_stage("encode", pending_rows, "texts");
  std::unique_ptr<io::JsonlWriter> marks;
  TextReader reader(input, s.field);
  std::string text;
  int64_t row = 0, rows_done = 0;
  // Skip to this rank's first row (parsing is cheap next to encoding).
  while (row < my_first_row && reader.next(text)) ++row;
  for (int64_t w = mine.begin; w < mine.end; ++w) {
    const int64_t w_end = std::min(rep.rows, (w + 1) * s.window);
    std::vector<std::string> texts;
    const bool skip = done_before.count(w) > 0;
    for (; row < w_end && reader.next(text); ++row)
      if (!skip) texts.push_back(std::move(text));
    if (skip) continue;
    if (static_cast<int64_t>(texts.size()) != w_end - w * s.window)
      fail("{}: the file changed while it was being read (expected {} rows)", input.string(), rep.rows);
    gen::EncodeOptions eo = s.encode;
    const int64_t base = rows_done;
    eo.on_progress = [&](int64_t d) { ctx.set_done(base + d); };
    eo.check_cancel = [&] { ctx.check_cancel(); };
    if (states_out)
      eo.on_special_states = [&](const std::vector<int64_t>& rows, const torch::Tensor& states) {
        for (size_t k = 0; k < rows.size(); ++k)
          states_out->write_rows(w * s.window + rows[k], states[static_cast<int64_t>(k)].unsqueeze(0));
      };
    auto emb = gen::encode_texts(lm, adapter, tok, texts, s.instruction, eo);
    out.write_rows(w * s.window, emb);
    out.sync();
    if (states_out) states_out->sync();
    // Only after the rows are on disk: mark the window done.
    if (!marks)
      marks = std::make_unique<io::JsonlWriter>(with_suffix(output, ".partial.done-" + std::to_string(rank)),
                                                io::JsonlWriter::Mode::Append, /*fsync_each=*/true);
    marks->write(json{{"window", w}});
    rows_done += static_cast<int64_t>(texts.size());
    ctx.set_done(rows_done);
    ++rep.windows_now;
  }
  marks.reset();
  if (group) group->barrier_long("every rank has encoded its windows");

  if (rank == 0) {
    auto done = done_windows(output);
    for (int64_t w = 0; w < rep.windows; ++w)
      if (!done.count(w)) fail("{}: window {} (rows {}..{}) was not encoded by any rank", partial.string(), w,
                               w * s.window, std::min(rep.rows, (w + 1) * s.window) - 1);
    if (with_states) {  // first, so that OUTPUT existing means both are complete
      fs::rename(states_partial, s.hidden_states, ec);
      if (ec) fail("cannot rename {} to {} ({})", states_partial.string(), s.hidden_states.string(), ec.message());
      io::fsync_path(s.hidden_states.has_parent_path() ? s.hidden_states.parent_path() : fs::path("."));
    }
    fs::rename(partial, output, ec);
    if (ec) fail("cannot rename {} to {} ({})", partial.string(), output.string(), ec.message());
    io::fsync_path(output.has_parent_path() ? output.parent_path() : fs::path("."));
    remove_partial_files(output);
  }
  if (group) group->barrier("rank 0 committed " + output.string());
  return rep;
}

}  // namespace genlens::data
