// The LibTorch-free parsers of the file formats genlens reads (safetensors header, .npy
// header, genlens.json, chat templates): each bound and type check, on the cases the
// fuzzers and the malformed-input corpus found or guard. The .npy cases are checked
// against files NumPy itself writes. Also built under ASan/UBSan (tests/sanitize).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/gen/adapter_meta.h"
#include "core/io/npy_header.h"
#include "core/io/safetensors_header.h"
#include "core/text/chat_template.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace genlens;
using Json = nlohmann::json;

namespace {

std::string st_bytes(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(uint64_t(header.size()) >> (8 * i));
  return s + header + std::string(data_bytes, '\0');
}

io::SafetensorsHeader parse_st(const std::string& b) {
  return io::parse_safetensors_header(reinterpret_cast<const unsigned char*>(b.data()), b.size(), "x.safetensors");
}

Json valid_meta() {
  return Json::parse(R"({"format": "genlens-adapter", "format_version": 1,
    "base_model": {"model_type": "qwen3", "hidden_size": 64, "vocab_size": 100},
    "n_thought": 1, "n_compression": 2, "hidden_size": 64, "encoding_mode": "last_2_tokens",
    "teacher": {"kind": "mean-pool", "dim": 64}, "query": {"max_length": 32, "instruction": "Q: "}, "step": 4})");
}

}  // namespace

TEST_CASE("parsers: safetensors header bounds, types and overlaps") {
  auto ok = parse_st(st_bytes(R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                                  "__metadata__": {"k": "v"}})", 24));
  REQUIRE(ok.tensors.size() == 1);
  CHECK(ok.tensors[0].shape == std::vector<int64_t>{2, 3});
  CHECK(ok.metadata.at("k") == "v");
  const std::pair<const char*, const char*> bad[] = {
      {R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", "needs 24 bytes"},
      {R"({"a": {"dtype": "F32", "shape": [2, -3], "data_offsets": [0, 24]}})", "non-negative integers"},
      {R"({"a": {"dtype": "F32", "shape": [2, 3.5], "data_offsets": [0, 24]}})", "non-negative integers"},
      {R"({"a": {"dtype": "F32", "shape": [281474976710656, 281474976710656], "data_offsets": [0, 24]}})", "overflows"},
      {R"({"a": {"dtype": "F64", "shape": [281474976710656, 65536], "data_offsets": [0, 24]}})", "overflows"},
      {R"({"a": {"dtype": "F32", "shape": [6], "data_offsets": [0, 25]}})", "out of range"},
      {R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})",
       "overlap"},
      {R"({"a": {"shape": [4], "data_offsets": [0, 4]}})", "'dtype'"},
      {R"({"__metadata__": {"k": 1}})", "__metadata__"},
      {R"([1, 2])", "must be a JSON object"},
      {R"({"a": )", "not valid JSON"},
  };
  for (auto [header, expect] : bad) {
    INFO(header);
    CHECK_THROWS_WITH_AS(parse_st(st_bytes(header, 24)), doctest::Contains(expect), Error);
  }
  // A length field pointing past the file, or above the 100 MiB limit.
  std::string b = st_bytes("{}", 0);
  b[3] = 1;
  CHECK_THROWS_WITH_AS(parse_st(b), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(parse_st("abc"), doctest::Contains("8-byte header length"), Error);
}

TEST_CASE("parsers: .npy headers as NumPy writes them, and every malformed header refused") {
  test::TempDir tmp("npy-hdr");
  const auto out = tmp / "a.npy";
  const std::pair<const char*, std::vector<int64_t>> arrays[] = {
      {"np.arange(6, dtype='<f4').reshape(2, 3)", {2, 3}},
      {"np.zeros((0, 5), dtype='<f8')", {0, 5}},
      {"np.array(7, dtype='<i8')", {}},
      {"np.asfortranarray(np.arange(6, dtype='<i4').reshape(3, 2))", {3, 2}},
  };
  for (auto& [expr, shape] : arrays) {
    auto r = test::run_command(test::system_python() + " -c \"import numpy as np; np.save('" + out.string() + "', " +
                               expr + ")\"");
    REQUIRE(r.exit_code == 0);
    auto bytes = test::read_file(out);
    auto h = io::parse_npy_header(bytes, bytes.size(), "a.npy");
    INFO(expr);
    CHECK(h.shape == shape);
    CHECK(h.data_offset + h.data_bytes == bytes.size());
  }
  auto npy = [](const std::string& dict, size_t data) {
    std::string h = dict + "\n";
    std::string s = "\x93NUMPY";
    s += '\x01';
    s += '\x00';
    s += static_cast<char>(h.size() & 0xff);
    s += static_cast<char>(h.size() >> 8);
    return s + h + std::string(data, '\0');
  };
  const std::pair<std::string, const char*> bad[] = {
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", 0), "is out of range"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (281474976710656, 281474976710656), }", 0), "overflows"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0), "64 bits"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8), "tuple of integers"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 15), "need 16"},
      {npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16), "'|O' is not supported"},
      {npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8), "fortran_order"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, }", 8), "closed tuple"},
      {npy("{'fortran_order': False, 'shape': (2,), }", 8), "'descr'"},
      {std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12), "larger than genlens accepts"},
      {std::string("\x93NUMPY\x01\x00\xff\x00", 10), "exceeds the file size"},
      {std::string("\x93NUMPY\x09\x00\x00\x00", 10), "version 9"},
      {"PK\x03\x04 not numpy", "magic"},
  };
  for (auto& [bytes, expect] : bad) {
    INFO(std::string(expect));
    CHECK_THROWS_WITH_AS(io::parse_npy_header(bytes, bytes.size(), "a.npy"), doctest::Contains(expect), Error);
  }
}

TEST_CASE("parsers: genlens.json fields are type-checked and bounded before they size tensors") {
  auto m = gen::AdapterMeta::from_json(valid_meta(), "g.json");
  CHECK(m.shape.n_special() == 3);
  CHECK(m.query_max_length == 32);
  CHECK(gen::AdapterMeta::from_json(m.to_json(), "again").to_json() == m.to_json());
  const std::tuple<const char*, Json, const char*> bad[] = {
      {"/n_compression", 1000000000000, "\"n_compression\": expected 1 to 4096"},
      {"/n_thought", -1, "\"n_thought\": expected 0 to 4096"},
      {"/n_thought", "2", "\"n_thought\": expected an integer"},
      {"/n_thought", 1.5, "\"n_thought\": expected an integer"},
      {"/format_version", 1.5, "\"format_version\": expected an integer"},
      {"/format_version", 4294967297ll, "\"format_version\": 4294967297 is out of range"},
      {"/teacher/dim", 0, "\"dim\": expected 1 to 1048576"},
      {"/query/max_length", -3, "\"max_length\": expected 1 to 1048576"},
      {"/base_model/hidden_size", "64", "\"hidden_size\": expected an integer"},
      {"/base_model/hidden_size", 128, "base_model.hidden_size is 128"},
      {"/hidden_size", 18446744073709551615ull, "\"hidden_size\": expected an integer"},
      {"/encoding_mode", "mean", "\"encoding_mode\""},
  };
  for (auto& [ptr, value, expect] : bad) {
    auto j = valid_meta();
    j[Json::json_pointer(ptr)] = value;
    INFO(ptr << " = " << value.dump());
    CHECK_THROWS_WITH_AS(gen::AdapterMeta::from_json(j, "g.json"), doctest::Contains(expect), Error);
  }
}

TEST_CASE("parsers: chat template detection reads literals without a regex, even from a huge template") {
  auto qwen25 = text::detect_chat_template(
      "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}",
      "");
  CHECK(qwen25.format == text::ChatFormat::ChatML);
  CHECK(qwen25.system_default == text::kQwenDefaultSystem);
  // A system turn built from an expression is not a literal default.
  CHECK(text::detect_chat_template("'<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>'", "")
            .system_default.empty());
  auto l31 = text::detect_chat_template(
      "{%- set date_string = \"01 Jan 2030\" %}<|start_header_id|>Cutting Knowledge Date", "");
  CHECK(l31.format == text::ChatFormat::Llama31);
  CHECK(l31.date_string == "01 Jan 2030");
  // 4 MB of template text: the std::regex used before recursed per character (a 100 KB
  // template already overflowed the stack: SIGSEGV).
  std::string huge = "<|im_start|>system\\n" + std::string(4 << 20, 'a') + "<|im_end|>";
  CHECK(text::detect_chat_template(huge, "").system_default.size() == (4u << 20));
  std::string huge_date = "<|start_header_id|>Cutting Knowledge Date set date_string = '" + std::string(4 << 20, '1');
  CHECK(text::detect_chat_template(huge_date, "").date_string == text::kLlamaDefaultDate);
}
