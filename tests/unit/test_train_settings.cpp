// TrainSettings through its field table (core/gen/train_settings.h): the JSON written to
// genlens.json / trainer_state.json, byte for byte as runs already on disk hold it, and
// back; the table's names as the CLI and the resume errors use them.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/gen/train_settings.h"
#include "core/util/error.h"

using namespace genlens;
using nlohmann::json;

namespace {

// The "settings" of a trainer_state.json written by genlens before the table existed
// (train --steps 6 --batch-size 4 --grad-accum 2 --lr 0.01 --warmup 2 --save-every 3
// --thought 2 --compression 3), as dump(2) writes it.
const char* kWrittenSettings = R"json({
  "adam_eps": 1e-08,
  "align_weight": 1.0,
  "batch_size": 4,
  "betas": [
    0.9,
    0.999
  ],
  "grad_accum": 2,
  "instruction": "",
  "keep": 3,
  "lr": 0.01,
  "lr_schedule": "linear",
  "max_grad_norm": 1.0,
  "n_compression": 3,
  "n_thought": 2,
  "query_max_length": 512,
  "recon_weight": 1.0,
  "response_max_length": 512,
  "save_every": 3,
  "seed": 42,
  "special_init_std": -1.0,
  "steps": 6,
  "teacher": "mean-pool",
  "teacher_batch": 16,
  "warmup_steps": 2,
  "weight_decay": 0.0
})json";

gen::TrainSettings written_settings() {
  gen::TrainSettings s;
  s.steps = 6;
  s.batch_size = 4;
  s.grad_accum = 2;
  s.lr = 0.01;
  s.warmup_steps = 2;
  s.save_every = 3;
  s.n_thought = 2;
  s.n_compression = 3;
  return s;
}

}  // namespace

TEST_CASE("train settings: to_json writes the same bytes and value types as existing runs hold") {
  const json j = written_settings().to_json();
  CHECK(j.dump(2) == kWrittenSettings);
  CHECK(j.at("steps").is_number_integer());
  CHECK_FALSE(j.at("steps").is_number_unsigned());
  CHECK(j.at("seed").is_number_unsigned());
  CHECK(j.at("lr").is_number_float());
  CHECK(j.at("special_init_std").is_number_float());
  REQUIRE(j.at("betas").is_array());
  CHECK(j.at("betas").size() == 2);
  CHECK(j.at("betas")[1].is_number_float());
  CHECK(j.at("teacher").is_string());
  CHECK(j.at("lr_schedule") == "linear");
}

TEST_CASE("train settings: from_json reads an existing run's settings back to the same values") {
  auto s = gen::TrainSettings::from_json(json::parse(kWrittenSettings), "trainer_state.json");
  CHECK(s.to_json().dump(2) == kWrittenSettings);
  CHECK(s.steps == 6);
  CHECK(s.grad_accum == 2);
  CHECK(s.beta2 == 0.999);
  // Every member through the table: non-default values survive the round trip.
  gen::TrainSettings odd;
  odd.beta1 = 0.8;
  odd.beta2 = 0.95;
  odd.adam_eps = 1e-6;
  odd.seed = 18446744073709551615ull;  // unsigned: the largest seed stays exact
  odd.teacher = "npy:/t.npy";
  odd.instruction = "Summarize: ";
  odd.special_init_std = 0.5;
  odd.keep = -1;
  CHECK(gen::TrainSettings::from_json(odd.to_json(), "x").to_json() == odd.to_json());
}

TEST_CASE("train settings: from_json keeps defaults for missing keys and names a wrong-typed one") {
  auto s = gen::TrainSettings::from_json(json{{"lr", 0.5}, {"betas", {0.1, 0.2, 0.3}}}, "f.json");
  CHECK(s.lr == 0.5);
  CHECK(s.steps == gen::TrainSettings{}.steps);
  CHECK(s.beta1 == gen::TrainSettings{}.beta1);  // an array of another length is skipped
  try {
    gen::TrainSettings::from_json(json{{"batch_size", "many"}}, "f.json");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "f.json: training setting \"batch_size\": unexpected value \"many\"");
  }
}

TEST_CASE("train settings: the field table names each option and key once") {
  std::set<std::string> names, keys;
  int options = 0;
  for (const auto& f : gen::kTrainSettingFields) {
    CHECK_MESSAGE(names.insert(f.name).second, f.name);
    if (f.slot < 0) CHECK_MESSAGE(keys.insert(f.key).second, f.key);
    CHECK((f.help != nullptr) == f.is_option());
    options += f.is_option() ? 1 : 0;
  }
  CHECK(options == 22);  // every `genlens train` setting option; adam_eps has none
  CHECK(names.count("AdamW eps") == 1);
  // Every key the table writes, plus the schedule's name, and nothing else.
  CHECK(gen::TrainSettings{}.to_json().size() == keys.size() + 2);  // + "betas" + "lr_schedule"
}
