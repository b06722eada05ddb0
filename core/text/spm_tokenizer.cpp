// SentencePiece backend (tokenizer.model) through the genlens_spm plugin.
#include "core/text/backends.h"
#include "core/util/error.h"

namespace genlens::text {

std::unique_ptr<BasicTokenizer> make_spm_tokenizer(const std::filesystem::path& model_file,
                                                   const nlohmann::json& config) {
  fail("{}: SentencePiece models are not supported yet", model_file.string());
}

}  // namespace genlens::text
