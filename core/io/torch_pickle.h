// Files written by Python's torch.save (the zip container: ARCHIVE/data.pkl plus one
// entry per tensor storage) read and written with LibTorch's own pickler, so no Python
// is involved. Only plain data comes through: dicts (also collections.OrderedDict),
// lists, tuples, strings, numbers, bools, None and tensors; anything else (a custom
// class, a legacy non-zip file) is refused with an error naming the file.
#pragma once
#include <torch/torch.h>

#include <filesystem>

namespace genlens::io {

c10::IValue load_torch_pickle(const std::filesystem::path& path);
// Writes `value` atomically in the zip format torch.load reads.
void save_torch_pickle(const std::filesystem::path& path, const c10::IValue& value);

}  // namespace genlens::io
