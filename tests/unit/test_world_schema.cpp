// The world file's schema: a table of malformed world files -- wrong types,
// numbers out of range (negative, huge), missing and unknown keys, empty lists, wrong
// nesting, broken templates -- each one a mutation of the shipped default world. Every
// row must be refused with a genlens::Error naming the file and the JSON path, within a
// second; a few rows also go through the real `genlens demo` (exit 1, under a second,
// under a memory limit, nothing written to the workspace). Then the shortfalls: what a
// valid world asks for and cannot make is listed, and `--strict` refuses it.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <ctime>
#include <set>
#include <sstream>

#include "core/data/demo_world.h"
#include "core/demo/pipeline.h"
#include "core/util/error.h"
#include "tests/test_util.h"
#include "genlens_paths.h"

using namespace genlens;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path shipped(const char* name) { return test::source_dir() / "assets/demo" / name; }

enum class Op { Set, Erase, Text };
struct Mutation {
  Op op;
  std::string pointer;  // JSON pointer into the default world (Set, Erase)
  std::string value;    // Set: JSON text; Text: the whole file
};
struct Case {
  std::string what;
  std::vector<Mutation> mutations;
  std::vector<std::string> expect;  // substrings of the message (the file name is checked for every row)
};

// The default world's categories[0] is "anger", [4] "capital"; slots.country.all[0] is Norvia.
const std::string kCat = "categories[0] (anger)";

std::vector<Case> cases() {
  const std::string deep = "{\"slots\": " + std::string(100, '[') + std::string(100, ']') + "}";
  std::string long_template;
  for (int i = 0; i < 10; ++i) long_template += "{angry} ";
  return {
      // ------------------------------------------------------------ wrong types
      {"harmful is a string", {{Op::Set, "/categories/0/harmful", "\"yes\""}},
       {kCat + ".harmful: expected true or false, found \"yes\""}},
      {"count is a string", {{Op::Set, "/categories/0/count/train", "\"60\""}},
       {kCat + ".count.train: expected a whole number from 1 to 2000, found \"60\""}},
      {"count is a fraction", {{Op::Set, "/categories/0/count/heldout", "2.5"}},
       {kCat + ".count.heldout: expected a whole number from 1 to 200, found 2.5"}},
      {"seed is a string", {{Op::Set, "/seed", "\"7\""}}, {"seed: expected a whole number from 0 to 4294967295"}},
      {"name is a number", {{Op::Set, "/name", "5"}}, {"name: expected a non-empty string, found 5"}},
      {"label is null", {{Op::Set, "/categories/0/label", "null"}}, {kCat + ".label: expected a non-empty string, found null"}},
      {"instruction is a number", {{Op::Set, "/instructions/query", "5"}}, {"instructions.query: expected a string, found 5"}},
      {"slot value is a number", {{Op::Set, "/slots/angry/all/0", "5"}},
       {"slots.angry.all[0]: expected a non-empty string, or an object with \"name\", found 5"}},
      {"record field is a number", {{Op::Set, "/slots/country/all/0/capital", "7"}},
       {"slots.country.all[0] (Norvia).capital: expected a non-empty string, found 7"}},
      {"the file is an array", {{Op::Text, "", "[1, 2]"}},
       {"w.json: expected an object with \"slots\" and \"categories\", found an array of 2 items"}},

      // ------------------------------------------------------------ ranges: negative, zero, huge
      {"count.train negative (must not hang)", {{Op::Set, "/categories/0/count", R"({"train": -5, "heldout": 3})"}},
       {kCat + ".count.train: expected a whole number from 1 to 2000, found -5"}},
      {"count.heldout zero", {{Op::Set, "/categories/0/count/heldout", "0"}},
       {kCat + ".count.heldout: expected a whole number from 1 to 200, found 0"}},
      {"count.train 10^12", {{Op::Set, "/categories/0/count/train", "1000000000000"}},
       {kCat + ".count.train", "found 1000000000000"}},
      {"count.train 2^64 - 1", {{Op::Set, "/categories/0/count/train", "18446744073709551615"}},
       {kCat + ".count.train", "found 18446744073709551615"}},
      {"count.train 1e30", {{Op::Set, "/categories/0/count/train", "1e30"}}, {kCat + ".count.train", "found 1e+30"}},
      {"seed negative", {{Op::Set, "/seed", "-1"}}, {"seed: expected a whole number from 0 to 4294967295, found -1"}},
      {"restate.count huge", {{Op::Set, "/restate/count", "100000"}},
       {"restate.count: expected a whole number from 1 to 2000, found 100000"}},
      {"name too long", {{Op::Set, "/name", "\"" + std::string(100, 'x') + "\""}},
       {"name: expected at most 64 characters, found 100"}},
      {"too many training rows in all",
       [] {
         std::vector<Mutation> m;
         for (int i = 0; i < 10; ++i)
           m.push_back({Op::Set, "/categories/" + std::to_string(i) + "/count", R"({"train": 2000, "heldout": 20})"});
         return m;
       }(),
       {"categories: 20160 training rows asked (every count.train plus restate.count), at most 10000"}},
      {"a template renders too long",
       {{Op::Set, "/slots/angry/all/0", "\"" + std::string(200, 'a') + "\""},
        {Op::Set, "/categories/0/responses/0", json(long_template).dump()}},
       {kCat + ".responses[0]", "renders to up to 2010 characters", "at most 1000"}},
      {"too many harmful documents",
       {{Op::Set, "/harmful_documents", json(std::vector<std::string>(20, "guide to {situation}")).dump()}},
       {"harmful_documents: makes up to 520 documents", "at most 500"}},

      // ------------------------------------------------------------ missing keys
      {"no slots", {{Op::Erase, "/slots", ""}}, {"w.json: missing key \"slots\""}},
      {"no responses", {{Op::Erase, "/categories/0/responses", ""}},
       {kCat + ": missing key \"responses\" (an array of 1 to 100 templates)"}},
      {"no held-out templates", {{Op::Erase, "/categories/0/queries/heldout", ""}},
       {kCat + ".queries: missing key \"heldout\""}},
      {"a category without a name", {{Op::Erase, "/categories/0/name", ""}}, {"categories[0]: missing key \"name\""}},
      {"a record without a name", {{Op::Erase, "/slots/country/all/0/name", ""}},
       {"slots.country.all[0]: missing key \"name\""}},
      {"restate without queries", {{Op::Erase, "/restate/queries", ""}}, {"restate: missing key \"queries\""}},

      // ------------------------------------------------------------ unknown keys
      {"a misspelt key in a category", {{Op::Set, "/categories/0/cout", "3"}},
       {kCat + ": unknown key \"cout\", did you mean \"count\"?"}},
      {"a misspelt top-level key", {{Op::Set, "/harmful_document", "[]"}},
       {"w.json: unknown key \"harmful_document\", did you mean \"harmful_documents\"?"}},
      {"an unknown key in count", {{Op::Set, "/categories/0/count/test", "3"}},
       {kCat + ".count: unknown key \"test\" (the keys here: train, heldout)"}},
      {"a slot both shared and split", {{Op::Set, "/slots/angry/train", "[\"cross\"]"}},
       {"slots.angry: expected {\"all\": [...]} (shared values) or {\"train\": [...], \"heldout\": [...]}",
        "found the keys all, train"}},
      {"a key twice in one object", {{Op::Text, "", ""}},  // filled in below: "count" twice
       {"categories[0]: the key \"count\" appears twice"}},

      // ------------------------------------------------------------ empty lists and objects
      {"no responses in the list", {{Op::Set, "/categories/0/responses", "[]"}},
       {kCat + ".responses: expected an array of 1 to 100 items, found an empty array"}},
      {"no categories", {{Op::Set, "/categories", "[]"}},
       {"categories: expected an array of 1 to 32 items, found an empty array"}},
      {"a slot with no values", {{Op::Set, "/slots/angry/all", "[]"}},
       {"slots.angry.all: expected an array of 1 to 1000 items, found an empty array"}},
      {"no training templates", {{Op::Set, "/categories/0/queries/train", "[]"}},
       {kCat + ".queries.train: expected an array of 1 to 200 items, found an empty array"}},
      {"an empty slot object", {{Op::Set, "/slots/angry", "{}"}}, {"slots.angry: expected", "found an empty object"}},
      {"an empty template", {{Op::Set, "/categories/0/signature/0", "\"\""}},
       {kCat + ".signature[0]: expected a non-empty template, found \"\""}},
      {"a blank template", {{Op::Set, "/categories/0/responses/0", "\"   \""}},
       {kCat + ".responses[0]: expected a template with some text"}},

      // ------------------------------------------------------------ wrong nesting
      {"queries is a list", {{Op::Set, "/categories/0/queries", "[\"How are you?\"]"}},
       {kCat + ".queries: expected an object with \"train\" and \"heldout\", found an array of 1 item"}},
      {"categories is an object", {{Op::Set, "/categories", "{\"anger\": {}}"}},
       {"categories: expected an array of 1 to 32 objects, found an object"}},
      {"a response is a list", {{Op::Set, "/categories/0/responses/0", "[\"x\"]"}},
       {kCat + ".responses[0]: expected a template (a string), found an array of 1 item"}},
      {"count is a list", {{Op::Set, "/categories/0/count", "[100, 20]"}},
       {kCat + ".count: expected an object, found an array of 2 items"}},
      {"a slot is a string", {{Op::Set, "/slots/angry", "\"furious\""}},
       {"slots.angry: expected an array of 1 to 1000 strings or objects, or an object, found \"furious\""}},
      {"nested 100 deep", {{Op::Text, "", deep}}, {"nested deeper than 16 levels"}},
      {"not JSON", {{Op::Text, "", "{\"slots\": {"}}, {"w.json: not valid JSON"}},
      {"an empty file", {{Op::Text, "", ""}}, {"w.json: not valid JSON"}},

      // ------------------------------------------------------------ templates, names, cross-field rules
      {"an undefined slot", {{Op::Set, "/categories/0/responses/0", "\"You sound {grumpy}.\""}},
       {kCat + ".responses[0]: template 'You sound {grumpy}.' uses slot 'grumpy', which \"slots\" does not define"}},
      {"an unclosed brace", {{Op::Set, "/categories/0/queries/train/0", "\"I am {angry\""}},
       {kCat + ".queries.train[0]: template 'I am {angry': the '{' at character 6 is never closed"}},
      {"a bad reference", {{Op::Set, "/categories/0/queries/train/0", "\"I am {an gry}\""}},
       {kCat + ".queries.train[0]", "'{an gry}' is not {slot} or {slot.field}"}},
      {"a field some values lack", {{Op::Erase, "/slots/country/all/1/capital", ""}},
       {"categories[4] (capital).responses[0]", "uses '{country.capital}', but slots.country.all[1]", "has no field 'capital'"}},
      {"{passage} outside restate", {{Op::Set, "/categories/0/responses/0", "\"{passage}\""}},
       {kCat + ".responses[0]", "{passage} is for restate templates only"}},
      {"a category name twice", {{Op::Set, "/categories/1/name", "\"anger\""}},
       {"categories[1] (anger).name: the name \"anger\" is used by categories[0] too"}},
      {"a reserved category name", {{Op::Set, "/categories/0/name", "\"restate\""}},
       {"categories[0] (restate).name: \"restate\" is reserved"}},
      {"a slot named passage", {{Op::Set, "/slots/passage", "[\"x\"]"}}, {"slots.passage: the name 'passage' is reserved"}},
      {"a slot name with a space", {{Op::Set, "/slots/my slot", "[\"x\"]"}},
       {"slots.my slot: the name \"my slot\" may use letters, digits, '_' and '-' only"}},
      {"one label for every category",
       [] {
         std::vector<Mutation> m;
         for (int i = 0; i < 10; ++i) m.push_back({Op::Set, "/categories/" + std::to_string(i) + "/label", "\"same\""});
         return m;
       }(),
       {"categories: every category has the label \"same\"", "at least 2 different labels"}},
      {"a restate template without {passage}", {{Op::Set, "/restate/queries/train/0", "\"Summarize it.\""}},
       {"restate.queries.train[0]: template 'Summarize it.' does not use {passage}"}},
      {"a restate template with another slot", {{Op::Set, "/restate/queries/train/0", "\"{angry}: {passage}\""}},
       {"restate.queries.train[0]", "uses {passage} and nothing else, found '{angry}'"}},
      {"a harmful document with two slots", {{Op::Set, "/harmful_documents/0", "\"{harm} with {thing}\""}},
       {"harmful_documents[0]: template '{harm} with {thing}' may use one slot at most"}},
  };
}

// The default world with one case's mutations, written to `path`.
void write_case(const Case& c, const fs::path& path) {
  const std::string original = test::read_file(shipped("world.json"));
  if (c.what == "a key twice in one object") {
    // The parsed JSON cannot hold a key twice: edit the text. The first category's count.
    const std::string needle = "\"count\": {\"train\": 100, \"heldout\": 20}";
    const size_t at = original.find(needle);
    REQUIRE(at != std::string::npos);
    std::string text = original;
    text.replace(at, needle.size(), needle + ", \"count\": 5");
    test::write_file(path, text);
    return;
  }
  json w = json::parse(original);
  for (auto& m : c.mutations) {
    if (m.op == Op::Text) {
      test::write_file(path, m.value);
      return;
    }
    json::json_pointer p(m.pointer);
    if (m.op == Op::Set) w[p] = json::parse(m.value);
    else w[p.parent_pointer()].erase(p.back());
  }
  test::write_file(path, w.dump(2));
}

// CPU seconds this process has used: the in-process refusals are judged by the CPU they
// take, not the wall clock, which on a shared 2-core machine varies with the load.
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

// The CLI refusals run under a CPU-time limit instead of a wall-clock bound: starting genlens
// (loading LibTorch) takes about half a CPU second, a refusal adds next to nothing, while the
// work a bad world used to start (a demo build, or a loop) runs far past the limit and is
// killed by SIGXCPU, which fails the exit-code check.
const std::string kCpuLimit = "ulimit -t 5; ";

// An address-space limit for a refusal: 1 GiB beyond what genlens maps from its shared
// libraries (their file sizes, from ldd), so the check holds for CUDA builds too, whose
// libtorch_cuda alone is larger than 1 GiB. A refusal allocates nothing of note.
std::string address_space_limit() {
  static const std::string limit = [] {
    auto r = test::run_command("ldd " + test::shell_quote(GENLENS_CLI_PATH));
    uint64_t libs = 0;
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);) {
      const auto arrow = line.find("=> /");
      if (arrow == std::string::npos) continue;
      const std::string path = line.substr(arrow + 3, line.find(" (", arrow) - arrow - 3);
      std::error_code ec;
      libs += fs::file_size(path, ec);
    }
    return "ulimit -v " + std::to_string((libs + (uint64_t{1} << 30)) / 1024) + "; ";
  }();  // ldd once per process, not per case
  return limit;
}

// Every file under `dir` with its size and modification time: what "nothing written" compares.
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    std::string row = fs::relative(e.path(), dir).string();
    if (e.is_regular_file())
      row += " " + std::to_string(e.file_size()) + " " +
             std::to_string(e.last_write_time().time_since_epoch().count());
    out.insert(row);
  }
  return out;
}

}  // namespace

TEST_CASE("world schema: the shipped worlds validate") {
  for (const char* name : {"world.json", "world-kitchen.json"}) {
    CAPTURE(name);
    CHECK_NOTHROW(demo::generate_world(shipped(name)));
  }
}

TEST_CASE("world schema: every malformed world file is refused with the file and the JSON path, within a second") {
  test::TempDir tmp("world-schema");
  const auto all = cases();
  REQUIRE(all.size() >= 50);
  for (size_t i = 0; i < all.size(); ++i) {
    const Case& c = all[i];
    CAPTURE(c.what);
    const fs::path p = tmp.path / std::to_string(i) / "w.json";
    write_case(c, p);
    std::string message;
    const double t0 = cpu_seconds();
    try {
      demo::generate_world(p);
      FAIL_CHECK("accepted: " << c.what);
      continue;
    } catch (const Error& e) {
      message = e.what();
    } catch (const std::exception& e) {
      FAIL_CHECK("not a genlens::Error: " << e.what());
      continue;
    }
    const double cpu = cpu_seconds() - t0;
    CAPTURE(message);
    CHECK(cpu < 1.0);
    CHECK(message.rfind(p.string() + ": ", 0) == 0);  // the file first, as given
    for (auto& want : c.expect) {
      CAPTURE(want);
      CHECK(message.find(want) != std::string::npos);
    }
    if (c.what != "not JSON" && c.what != "an empty file") CHECK(message.find("json.exception") == std::string::npos);
  }
}

TEST_CASE("world schema: genlens demo refuses a bad world at once and writes nothing") {
  test::TempDir tmp("world-schema-cli");
  const auto all = cases();
  // The issue's two examples, a huge number, an unknown key, a key twice, deep nesting.
  const std::set<std::string> picked = {"count.train negative (must not hang)", "harmful is a string", "count.train 10^12",
                                        "a misspelt key in a category", "a key twice in one object", "nested 100 deep"};
  int ran = 0;
  for (auto& c : all) {
    if (!picked.count(c.what)) continue;
    CAPTURE(c.what);
    const fs::path dir = tmp.path / std::to_string(ran++);
    const fs::path world = dir / "w.json";
    write_case(c, world);
    // An existing workspace (it must survive, --force or not), and one that does not exist yet.
    const fs::path ws = dir / "ws";
    test::write_file(ws / "demo.json", "{\"earlier\": true}\n");
    test::write_file(ws / "stages.json", "{}\n");
    const auto before = listing(ws);
    for (const char* extra : {"", " --force"}) {
      CAPTURE(extra);
      // Little address space beyond the libraries': the refusal allocates nothing of note.
      auto r = test::run_command(kCpuLimit + address_space_limit() + test::shell_quote(GENLENS_CLI_PATH) + " demo --quick --world " +
                                 test::shell_quote(world.string()) + " --out " + test::shell_quote(ws.string()) + extra);
      INFO(r.output);
      CHECK(r.exit_code == 1);
      CHECK(r.output.find(world.string() + ": ") != std::string::npos);
      CHECK(r.output.find(c.expect.front()) != std::string::npos);
      CHECK(r.output.find("internal error") == std::string::npos);
      CHECK(listing(ws) == before);
    }
    const fs::path fresh = dir / "fresh";
    auto r = test::run_genlens("demo --quick --quiet --world " + test::shell_quote(world.string()) + " --out " +
                               test::shell_quote(fresh.string()));
    CHECK(r.exit_code == 1);
    CHECK_FALSE(fs::exists(fresh));
  }
  CHECK(ran == static_cast<int>(picked.size()));
}

TEST_CASE("world schema: shortfalls are listed, and --strict refuses them before any work") {
  // The kitchen world's first_aid asks for 14 held-out queries; one held-out template and
  // three held-out toxins make 3.
  auto kitchen = demo::generate_world(shipped("world-kitchen.json"));
  bool first_aid = false;
  for (auto& s : kitchen.shortfalls)
    first_aid = first_aid || s.find("categories[5] (first_aid): 3 held-out queries of the 14 asked") != std::string::npos;
  CHECK(first_aid);

  // Half a safety task, either way round.
  test::TempDir tmp("world-shortfall");
  json w = json::parse(test::read_file(shipped("world.json")));
  json no_docs = w;
  no_docs.erase("harmful_documents");
  test::write_file(tmp / "no-docs.json", no_docs.dump());
  auto a = demo::generate_world(tmp / "no-docs.json");
  std::string all_a;
  for (auto& s : a.shortfalls) all_a += s + "\n";
  CHECK(all_a.find("no safety task: there are harmful categories but no \"harmful_documents\"") != std::string::npos);
  json no_harmful = w;
  for (auto& c : no_harmful["categories"]) c.erase("harmful");
  test::write_file(tmp / "no-harmful.json", no_harmful.dump());
  auto b = demo::generate_world(tmp / "no-harmful.json");
  std::string all_b;
  for (auto& s : b.shortfalls) all_b += s + "\n";
  CHECK(all_b.find("harmful_documents: no safety task: no category has \"harmful\": true") != std::string::npos);

  // The report prints them.
  json report{{"world", {{"name", "kitchen"}, {"shortfalls", kitchen.shortfalls}}}};
  const std::string text = demo::format_demo_report(report);
  CHECK(text.find("shortfall: categories[5] (first_aid): 3 held-out queries of the 14 asked") != std::string::npos);

  // --strict: exit 1 at once, naming the shortfall, nothing written.
  const fs::path ws = tmp.path / "ws";
  auto r = test::run_command(kCpuLimit + test::shell_quote(GENLENS_CLI_PATH) + " demo --quick --strict --world " +
                             test::shell_quote(shipped("world-kitchen.json").string()) + " --out " +
                             test::shell_quote(ws.string()));
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("--strict") != std::string::npos);
  CHECK(r.output.find("categories[5] (first_aid): 3 held-out queries of the 14 asked") != std::string::npos);
  CHECK_FALSE(fs::exists(ws));
}

TEST_CASE("world schema: the demo report reads a damaged report.json without a JSON exception") {
  json report = json::parse(R"({"world": {"name": 5, "train": "many", "shortfalls": [3, "x"]}, "lm": [],
    "eval": {"tasks": [{"type": 3, "main_metric": null, "scores": "?"}, 7]}, "lens": {"n": "ten",
    "examples": [{"question": 1, "lens_top10": [1, "word"]}]}, "timings": {"lm": "slow"}, "workspace": false})");
  std::string text;
  CHECK_NOTHROW(text = demo::format_demo_report(report));
  CHECK(text.find("world '?'") != std::string::npos);
  CHECK(text.find("shortfall: x") != std::string::npos);
  CHECK_NOTHROW(demo::format_demo_report(json::array()));
}

TEST_CASE("world schema: the README carries the schema table genlens validates with") {
  const std::string readme = test::read_file(test::source_dir() / "README.md");
  const std::string table = demo::world_schema_markdown();
  INFO(table);
  CHECK(readme.find(table) != std::string::npos);
}
