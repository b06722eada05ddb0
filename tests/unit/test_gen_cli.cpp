// The method's CLI on a tiny Qwen3 with the real Qwen3 tokenizer: generate (resumable),
// train, encode, SIGKILL + --resume, and errors with meaningful exit codes.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "app/cli/command.h"
#include "core/io/jsonl.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/data/responses.h"
#include "core/text/prompt.h"
#include "core/runtime/metrics_log.h"
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"
#include "tests/gen_fixtures.h"
#include "genlens_paths.h"

using namespace genlens;
namespace fs = std::filesystem;

namespace {

std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

void write_responses(const fs::path& p, int n) {
  const char* topics[] = {"the sea", "bread", "a violin", "winter", "trains", "bees", "copper", "rain"};
  std::string s;
  for (int i = 0; i < n; ++i) {
    std::string t = topics[i % 8];
    io::Json row{{"id", "r" + std::to_string(i)},
                 {"question", "Tell me something about " + t + " (" + std::to_string(i) + ")."},
                 {"answer", "Here is a short note about " + t + ": it is interesting in many ways, number " +
                                std::to_string(i) + "."}};
    s += row.dump() + "\n";
  }
  test::write_file(p, s);
}

}  // namespace

TEST_CASE("cli generate: responses through the chat template, resumable after a torn last line") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cli-generate");
  test::write_file(tmp / "queries.jsonl",
                   "{\"id\": \"a\", \"question\": \"What is the capital of France?\"}\n"
                   "{\"id\": \"b\", \"question\": \"Write a haiku about autumn leaves falling slowly.\"}\n"
                   "{\"id\": 3, \"question\": \"2+2?\"}\n"
                   "{\"id\": \"d\", \"question\": \"Explain recursion.\"}\n");
  auto args = "generate --model " + q(model) + " --input " + q(tmp / "queries.jsonl") +
              " --max-new-tokens 6 --batch-size 2 --quiet --output ";
  auto r = test::run_genlens(args + q(tmp / "full.jsonl"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto full = io::read_jsonl(tmp / "full.jsonl");
  REQUIRE(full.size() == 4);
  CHECK(full[0]["id"] == "a");
  CHECK(full[2]["id"] == "3");  // input order restored at the end
  CHECK(full[1]["question"] == "Write a haiku about autumn leaves falling slowly.");
  for (auto& row : full) CHECK(row["answer"].is_string());

  // Interrupted run: two complete rows and a torn third line.
  auto text = test::read_file(tmp / "full.jsonl");
  size_t cut = text.find('\n', text.find('\n') + 1) + 1;
  test::write_file(tmp / "part.jsonl", text.substr(0, cut) + text.substr(cut, 15));
  auto r2 = test::run_genlens(args + q(tmp / "part.jsonl"));
  INFO(r2.output);
  REQUIRE(r2.exit_code == 0);
  CHECK(r2.output.find("2 generated now, 2 already there") != std::string::npos);
  CHECK(io::read_jsonl(tmp / "part.jsonl") == full);

  // Output of another input is refused, not mixed in.
  test::write_file(tmp / "other.jsonl", "{\"id\": \"zzz\", \"question\": \"q\", \"answer\": \"x\"}\n");
  auto r3 = test::run_genlens(args + q(tmp / "other.jsonl"));
  CHECK(r3.exit_code == cli::kFailure);
  CHECK(r3.output.find("another input") != std::string::npos);
  // Bad input rows name file:line and field.
  test::write_file(tmp / "bad.jsonl", "{\"id\": \"a\", \"question\": \"ok\"}\n{\"id\": \"b\"}\n");
  auto r4 = test::run_genlens("generate --model " + q(model) + " --input " + q(tmp / "bad.jsonl") + " --output " +
                              q(tmp / "o.jsonl"));
  CHECK(r4.exit_code == cli::kFailure);
  CHECK(r4.output.find("bad.jsonl:2: field \"question\"") != std::string::npos);
}

TEST_CASE("cli train + encode: checkpoints, metrics, embeddings .npy for generative / mean / last") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cli-train");
  write_responses(tmp / "responses.jsonl", 12);
  test::write_file(tmp / "texts.jsonl", "{\"text\": \"hello world\"}\n{\"text\": \"a much longer text about bees\"}\n"
                                        "{\"text\": \"\"}\n");
  auto r = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "responses.jsonl") + " --out " +
                             q(tmp / "run") + " --steps 6 --batch-size 4 --save-every 3 --thought 2 --compression 3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("trained to step 6 of 6") != std::string::npos);
  CHECK(r.output.find("ETA") != std::string::npos);  // progress lines (stderr is not a TTY here)
  CHECK(fs::exists(tmp / "run" / "checkpoint-6" / "adapter.safetensors"));
  CHECK(fs::exists(tmp / "run" / "checkpoint-3" / "optimizer.safetensors"));
  CHECK(runtime::MetricsLog::read(tmp / "run" / "metrics.jsonl").size() == 6);

  auto enc = [&](const std::string& extra, const fs::path& out) {
    return test::run_genlens("encode --quiet --model " + q(model) + " --input " + q(tmp / "texts.jsonl") +
                             " --output " + q(out) + " " + extra);
  };
  auto g = enc("--adapter " + q(tmp / "run") + " --instruction 'Summarize the following passage: '", tmp / "g.npy");
  INFO(g.output);
  REQUIRE(g.exit_code == 0);
  auto e = io::load_npy(tmp / "g.npy");
  CHECK(e.sizes() == std::vector<int64_t>{3, 64});
  CHECK(torch::isfinite(e).all().item<bool>());
  // NumPy reads it.
  auto py = test::run_command(test::system_python() + " -c \"import numpy; a = numpy.load('" + (tmp / "g.npy").string() +
                              "'); print(a.shape, a.dtype)\"");
  CHECK(py.output.find("(3, 64) float32") != std::string::npos);
  // --quiet: only the result line.
  CHECK(g.output.find("ETA") == std::string::npos);
  // The baselines need no adapter; the empty text has no tokens for them.
  test::write_file(tmp / "texts2.jsonl", "{\"text\": \"hello world\"}\n{\"question\": \"bees?\"}\n");
  for (auto* mode : {"mean", "last"}) {
    auto b = test::run_genlens("encode --quiet --model " + q(model) + " --input " + q(tmp / "texts2.jsonl") +
                               " --output " + q(tmp / "b.npy") + " --mode " + mode);
    INFO(b.output);
    REQUIRE(b.exit_code == 0);
    CHECK(io::load_npy(tmp / "b.npy").sizes() == std::vector<int64_t>{2, 64});
  }
  // Errors: generative without an adapter, unknown mode, a missing adapter directory.
  auto e1 = enc("", tmp / "x.npy");
  CHECK(e1.exit_code == cli::kFailure);
  CHECK(e1.output.find("needs --adapter") != std::string::npos);
  CHECK(enc("--mode max", tmp / "x.npy").exit_code == cli::kFailure);
  auto e3 = enc("--adapter " + q(tmp / "nope"), tmp / "x.npy");
  CHECK(e3.exit_code == cli::kFailure);
  CHECK(e3.output.find("nope") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp / "x.npy"));
  // Training errors: missing data file, bad teacher, a run dir with checkpoints without --resume.
  auto t1 = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "none.jsonl") + " --out " + q(tmp / "r2"));
  CHECK(t1.exit_code == cli::kFailure);
  CHECK(t1.output.find("none.jsonl") != std::string::npos);
  auto t2 = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "responses.jsonl") + " --out " +
                              q(tmp / "r3") + " --teacher bert");
  CHECK(t2.exit_code == cli::kFailure);
  CHECK(t2.output.find("mean-pool") != std::string::npos);
  auto t3 = test::run_genlens("train --model " + q(model) + " --data " + q(tmp / "responses.jsonl") + " --out " +
                              q(tmp / "run") + " --steps 6");
  CHECK(t3.exit_code == cli::kFailure);
  CHECK(t3.output.find("--resume") != std::string::npos);
  CHECK(test::run_genlens("train --model " + q(model) + " --steps x").exit_code == cli::kUsage);
}

TEST_CASE("cli train: SIGKILL mid-run, then --resume continues from the last checkpoint with nothing lost") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cli-kill");
  write_responses(tmp / "responses.jsonl", 10);
  auto base = "train --quiet --model " + q(model) + " --data " + q(tmp / "responses.jsonl") +
              " --steps 2000 --batch-size 3 --save-every 5 --keep 2 --thought 2 --compression 2 --lr 3e-3 --out ";
  // Reference: the same run uninterrupted up to step 30.
  auto ref = test::run_genlens(base + q(tmp / "ref") + " --stop-at 30");
  INFO(ref.output);
  REQUIRE(ref.exit_code == 0);

  // The victim: started in the background, killed with SIGKILL once checkpoint-10 exists.
  auto run_dir = tmp / "victim";
  auto launch = test::run_command("(" + test::shell_quote(GENLENS_CLI_PATH) + " " + base + q(run_dir) + " > " +
                                  q(tmp / "victim.log") + " 2>&1 & echo $! > " + q(tmp / "pid") + ")");
  REQUIRE(launch.exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto pid = std::stoi(test::read_file(tmp / "pid"));
  bool seen = false;
  for (int i = 0; i < 1200 && !seen; ++i) {  // up to 60 s
    seen = fs::exists(run_dir / "checkpoint-10" / "genlens.json");
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(seen);
  // Kill between checkpoints: after steps past checkpoint-10 were logged.
  for (int i = 0; i < 400; ++i) {
    if (io::read_jsonl_complete(run_dir / "metrics.jsonl").rows.size() >= 12) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  test::run_command("kill -9 " + std::to_string(pid));
  for (int i = 0; i < 100 && test::run_command("kill -0 " + std::to_string(pid)).exit_code == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto before = gen::list_checkpoints(run_dir);
  REQUIRE_FALSE(before.empty());
  const int64_t last = before.back().first;
  MESSAGE("killed after checkpoint-", last, "; metrics rows written: ",
          runtime::MetricsLog::read(run_dir / "metrics.jsonl").size());
  REQUIRE(last < 30);

  auto res = test::run_genlens(base + q(run_dir) + " --stop-at 30 --resume");
  INFO(res.output);
  REQUIRE(res.exit_code == 0);
  CHECK(res.output.find("trained to step 30 of 2000") != std::string::npos);

  // Same adapter and optimizer state as the uninterrupted run, same per-step metrics.
  for (auto* file : {"adapter.safetensors", "optimizer.safetensors"}) {
    auto a = io::load_safetensors(tmp / "ref" / "checkpoint-30" / file);
    auto b = io::load_safetensors(run_dir / "checkpoint-30" / file);
    REQUIRE(a.size() == b.size());
    for (auto& [n, t] : a) {
      INFO(file, " ", n);
      CHECK((t - b.at(n)).abs().max().item<double>() <= 1e-6);
    }
  }
  auto ra = runtime::MetricsLog::read(tmp / "ref" / "metrics.jsonl");
  auto rb = runtime::MetricsLog::read(run_dir / "metrics.jsonl");
  REQUIRE(rb.size() == 30);
  for (size_t i = 0; i < 30; ++i) {
    CHECK(rb[i].step == static_cast<int64_t>(i + 1));
    CHECK(rb[i].value_or("loss", 0) == doctest::Approx(ra[i].value_or("loss", 1)).epsilon(1e-6));
  }
  // No temp directories left behind; --keep 2 honoured.
  for (auto& e : fs::directory_iterator(run_dir)) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  CHECK(gen::list_checkpoints(run_dir).size() == 2);
}

TEST_CASE("cli train: Ctrl-C (SIGINT) saves a checkpoint at the current step and exits 130") {
  auto model = test::tiny_qwen3_text_model();
  test::TempDir tmp("cli-sigint");
  write_responses(tmp / "responses.jsonl", 6);
  auto run_dir = tmp / "run";
  auto cmd = test::shell_quote(GENLENS_CLI_PATH) + " train --model " + q(model) + " --data " +
             q(tmp / "responses.jsonl") + " --steps 5000 --batch-size 2 --save-every 1000 --thought 2 --compression 2 --out " +
             q(run_dir);
  // The shell records the exit status once the process ends.
  REQUIRE(test::run_command("(sh -c " + test::shell_quote(cmd + " > " + q(tmp / "log") + " 2>&1 & echo $! > " +
                                                         q(tmp / "pid") + "; wait $!; echo $? > " + q(tmp / "rc")) +
                            " > /dev/null 2>&1 &)").exit_code == 0);  // nothing may hold popen's pipe
  bool started = false;
  for (int i = 0; i < 1200 && !started; ++i) {
    started = fs::exists(run_dir / "metrics.jsonl") && io::read_jsonl_complete(run_dir / "metrics.jsonl").rows.size() >= 3;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(started);
  test::run_command("kill -INT " + test::read_file(tmp / "pid"));
  bool done = false;
  for (int i = 0; i < 600 && !done; ++i) {
    done = fs::exists(tmp / "rc") && !test::read_file(tmp / "rc").empty();
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(done);
  INFO(test::read_file(tmp / "log"));
  CHECK(std::stoi(test::read_file(tmp / "rc")) == cli::kCancelled);
  auto cps = gen::list_checkpoints(run_dir);
  REQUIRE(cps.size() == 1);
  CHECK(cps[0].first >= 3);
  CHECK(cps[0].first == static_cast<int64_t>(runtime::MetricsLog::read(run_dir / "metrics.jsonl").size()));
  CHECK(test::read_file(tmp / "log").find("--resume") != std::string::npos);
}

TEST_CASE("data: training rows tokenized as the method says (instruction + question, answer + EOS, cut)") {
  auto model = test::tiny_qwen3_text_model();
  auto tok = text::load_tokenizer(model);
  auto lm = model::DecoderLM::load(model);
  const int32_t eos = data::target_eos_id(*tok, *lm);
  CHECK(eos == *tok->piece_to_id("<|im_end|>"));
  gen::TrainSettings s;
  s.instruction = "Generate a passage that best answers this question: ";
  s.response_max_length = 6;
  std::vector<data::ResponseRow> rows = {{"1", "Why is the sky blue?", "Rayleigh"},
                                         {"2", "Q", "a long answer with many many words in it"}};
  auto t = data::tokenize_train_data(rows, *tok, eos, s);
  auto q0 = tok->encode(s.instruction + "Why is the sky blue?", true);
  CHECK(t.data.query[0] == gen::TokenRow(q0.begin(), q0.end()));
  auto a0 = tok->encode("Rayleigh", false);
  gen::TokenRow want(a0.begin(), a0.end());
  want.push_back(eos);
  CHECK(t.data.target[0] == want);
  CHECK(t.data.target[1].size() == 6);  // cut: the answer did not end, so no EOS
  CHECK(t.data.target[1].back() != eos);
  CHECK(t.teacher_texts[1].size() == 6);
  CHECK(t.data.ids == std::vector<std::string>{"1", "2"});
  // The generation prompt: Qwen3 without thinking, tokenized without extra specials.
  auto chat = text::load_chat_template(model);
  auto p = text::prompt_ids(*tok, chat, "Hi there", 1024);
  CHECK(tok->decode(p, false).find("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n") !=
        std::string::npos);
  // Too long: the question is cut, the template around it stays.
  std::string big;
  for (int i = 0; i < 200; ++i) big += "word ";
  auto pc = text::prompt_ids(*tok, chat, big, 40);
  CHECK(pc.size() <= 40);
  CHECK(tok->decode(pc, false).find("<|im_start|>assistant\n") != std::string::npos);
}
