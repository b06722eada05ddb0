// `genlens forward --model DIR --ids 1,2,3` (or --text T): logits [T, V] (and every
// layer's hidden states) of one sequence, as float32 .npy. --text is tokenized as encode
// tokenizes a query (instruction + text, the tokenizer's special tokens, cut to
// --max-length). With --adapter the adapter's thought and compression tokens are appended,
// as the encoder sees them (the logit lens test reads their hidden states from here).
#include <fmt/format.h>

#include "app/cli/analysis_args.h"
#include "app/cli/command.h"
#include "app/cli/model_args.h"
#include "core/analysis/lens.h"
#include "core/gen/checkpoint.h"
#include "core/io/npy.h"
#include "core/model/decoder_lm.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace genlens::cli {
namespace {

struct Opts {
  std::string model, ids, text, instruction, output, hidden_dir, adapter, dtype = "f32", device = "cpu";
  int64_t max_length = 0;
  bool bidirectional = false;
};

RunFn setup(CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_option(sub, "--model", o->model, "Model directory (HF layout)")->required();
  auto* ids = sub.add_option("--ids", o->ids, "Token ids, e.g. 1,2,3");
  auto* text = sub.add_option("--text", o->text, "A text, tokenized as `encode` tokenizes a query")->excludes(ids);
  sub.add_option("--instruction", o->instruction,
                 "With --text: put before it (default: the adapter's training instruction, else none)")
      ->needs(text);
  add_max_length_option(sub, o->max_length)->needs(text);
  sub.add_option("--output", o->output, "Write logits [T, V] as float32 .npy");
  sub.add_option("--hidden-states", o->hidden_dir,
                 "Write hidden_00.npy (embeddings) .. hidden_NN.npy (layer outputs, before the final norm)");
  sub.add_option("--dtype", o->dtype, "Compute dtype: f32, bf16 or f16")->capture_default_str();
  sub.add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  sub.add_flag("--bidirectional", o->bidirectional, "Bidirectional instead of causal attention");
  sub.add_option("--adapter", o->adapter, "Append this adapter's special tokens after the ids (encoder input)");
  return [o, &sub] {
    if (o->ids.empty() && o->text.empty()) fail("forward: give --ids or --text");
    auto lm = model::DecoderLM::load(o->model, model::parse_device(o->device), model::parse_dtype(o->dtype));
    std::optional<gen::LoadedAdapter> ad;
    if (!o->adapter.empty()) ad = gen::load_adapter(gen::resolve_adapter_dir(o->adapter), *lm, o->model);
    std::vector<int64_t> ids;
    if (!o->text.empty()) {
      auto tok = text::load_tokenizer(o->model);
      analysis::LensOptions lo;  // the lens's rule is encode's: instruction + text, cut to max_length
      lo.instruction = sub.count("--instruction") ? o->instruction : ad ? ad->meta.instruction : std::string();
      lo.max_length = query_max_length_of(sub, o->max_length, ad);
      for (int32_t id : analysis::lens_query_ids(*tok, o->text, lo)) ids.push_back(id);
    } else {
      ids = parse_ids(o->ids);
    }
    torch::NoGradGuard ng;
    int64_t T = static_cast<int64_t>(ids.size());
    auto t = torch::tensor(ids, torch::kLong).view({1, T}).to(lm->device());
    model::ForwardOptions fo;
    fo.causal = !o->bidirectional;
    fo.output_hidden_states = !o->hidden_dir.empty();
    auto embeds = lm->embed(t);
    if (ad) {
      embeds = torch::cat({embeds, ad->adapter.special_tokens.to(lm->device(), lm->dtype()).unsqueeze(0)}, 1);
      T = embeds.size(1);
    }
    auto out = lm->forward(embeds, torch::ones({1, T}, torch::kLong).to(lm->device()), fo);
    auto logits = lm->lm_head(out.last_hidden)[0].to(torch::kCPU, torch::kFloat32);
    if (!o->output.empty()) io::save_npy(o->output, logits);
    if (!o->hidden_dir.empty()) {
      std::filesystem::create_directories(o->hidden_dir);
      for (size_t i = 0; i < out.hidden_states.size(); ++i)
        io::save_npy(std::filesystem::path(o->hidden_dir) / fmt::format("hidden_{:02d}.npy", i),
                     out.hidden_states[i][0]);
    }
    auto last = logits[T - 1];
    auto top = last.topk(std::min<int64_t>(5, last.size(0)));
    fmt::print("T={} V={}; top-5 next ids after the last position:", T, logits.size(1));
    for (int64_t i = 0; i < std::get<0>(top).size(0); ++i)
      fmt::print(" {} ({:.4f})", std::get<1>(top)[i].item<int64_t>(), std::get<0>(top)[i].item<float>());
    fmt::print("\n");
    return 0;
  };
}

RegisterCommand reg({"forward", "Run a model on token ids; dump logits / hidden states as .npy", setup, 21});

}  // namespace
}  // namespace genlens::cli
