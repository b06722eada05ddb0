// The tuned lens (Belrose et al. 2023) at the thought and compression positions.
//
// The logit lens reads layer l's state h through the final norm and the LM head as if it
// were the last layer's. The tuned lens first maps it with a per-layer affine translator
//
//   T_l(h) = h + W_l h + b_l          (W_l, b_l start at zero: untrained, it is the logit lens)
//
// trained to minimise KL(p_L || p_l) at the special positions of a set of texts, where
// p_L is the model's own next-token distribution there (the last layer through the final
// norm and the head) and p_l = softmax(head(norm(T_l(h_l)))). Layer L needs no translator.
// Each layer is trained alone (Adam, minibatches of positions); the texts are split into
// a training and a held part, and the KL curves (logit lens vs tuned lens per layer) are
// measured on the held part.
//
// On disk, a directory: translators.safetensors ("layers.<l>.weight" [H, H],
// "layers.<l>.bias" [H], float32) and tuned_lens.json (the base model's identity, the
// adapter, the curves). A lens from another model is refused, naming the file.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace genlens::model {
class DecoderLM;
}
namespace genlens::gen {
class Adapter;
}
namespace genlens::text {
class Tokenizer;
}
namespace genlens::runtime {
class JobContext;
}

namespace genlens::analysis {

struct TunedLens {
  std::vector<torch::Tensor> weight, bias;  // per layer 0..L-1: [H, H], [H] float32
  // T_l(h) for states h [..., H] of layer `layer` (layer L, or no translators: h itself).
  torch::Tensor apply(int64_t layer, const torch::Tensor& h) const;
  int64_t n_layers() const { return static_cast<int64_t>(weight.size()); }
};

// Untrained translators (zero: the logit lens) for a model of L layers and hidden size H.
TunedLens identity_lens(int64_t n_layers, int64_t hidden);

// The special positions' residual stream of every text: [L+1, N, H] float32 on the
// model's device, N = texts x (n_thought + n_compression); row order text-major.
torch::Tensor special_position_states(const model::DecoderLM& lm, const gen::Adapter& adapter,
                                      const text::Tokenizer& tok, const std::vector<std::string>& texts,
                                      const std::string& instruction, int64_t max_length,
                                      runtime::JobContext* ctx = nullptr);

// Mean over rows of KL(p_L || p_l) in nats: states_l, states_L [N, H] (layer l's states,
// and the last layer's before the final norm); lens null = the logit lens. Differentiable
// in the lens's layer-l translator.
torch::Tensor lens_kl(const model::DecoderLM& lm, const TunedLens* lens, int64_t layer, const torch::Tensor& states_l,
                      const torch::Tensor& states_last);

struct TunedLensTrainOptions {
  int64_t steps = 250;        // Adam steps per layer
  double lr = 1e-3;
  int64_t batch_rows = 256;   // positions per step
  double held_fraction = 0.2; // texts kept out of training for the curves
  uint64_t seed = 0;
};

struct TunedLensCurves {
  std::vector<int64_t> layers;           // 0..L
  std::vector<double> kl_logit, kl_tuned;  // per layer, on the held texts (0 at L)
  int64_t train_texts = 0, held_texts = 0, positions_per_text = 0;
};

// states: special_position_states of the texts, [L+1, texts x S, H]; S positions per text.
TunedLens train_tuned_lens(const model::DecoderLM& lm, const torch::Tensor& states, int64_t positions_per_text,
                           const TunedLensTrainOptions& opt, TunedLensCurves& curves,
                           runtime::JobContext* ctx = nullptr);

// Writes translators.safetensors and tuned_lens.json into `dir` (atomically each).
void save_tuned_lens(const std::filesystem::path& dir, const TunedLens& lens, const TunedLensCurves& curves,
                     const model::DecoderLM& lm, const std::filesystem::path& model_dir,
                     const std::filesystem::path& adapter_dir);
// Reads them back; a lens trained on another base model (or of another shape) is an error
// naming the file. `curves` (optional) receives the saved curves.
TunedLens load_tuned_lens(const std::filesystem::path& dir, const model::DecoderLM& lm,
                          const std::filesystem::path& model_dir, TunedLensCurves* curves = nullptr);

}  // namespace genlens::analysis
