// The prompt a chat model is given for one question: the chat template's single user
// turn plus generation prompt, tokenized. Generating responses, encoding in HyDE mode and
// decoding from an embedding all prompt the model this one way.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"

namespace genlens::text {

// The prompt token ids of one question (chat template rendered, then tokenized without
// adding special tokens again, as HF's apply_chat_template(tokenize=True) does). Longer
// than max_input_length (> 0): the question is cut, never the template around it.
std::vector<int32_t> prompt_ids(const Tokenizer& tok, const ChatTemplate& chat, const std::string& question,
                                int64_t max_input_length);

}  // namespace genlens::text
