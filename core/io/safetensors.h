// safetensors: the Hugging Face weight format. 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the
// raw bytes. The reader mmaps the file and validates every header field against the
// file size before any tensor is touched; tensors are views into the mapping where
// the dtype allows (the mapping stays alive as long as any view does).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors_header.h"

namespace genlens::io {

class SafetensorsFile {
 public:
  // Throws genlens::Error naming the file (and tensor/field) on any inconsistency.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  const std::vector<TensorInfo>& tensors() const;
  const std::map<std::string, std::string>& metadata() const;
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws if absent
  // A CPU tensor viewing the mapped bytes (no copy); clone() it to own the memory.
  torch::Tensor get(const std::string& name) const;
  // Hints the kernel to drop the resident pages of a tensor's bytes [begin, end) (after
  // they have been converted/copied elsewhere), so loading with conversion peaks at
  // about one copy. Views stay valid: unmodified pages are re-read from the file on
  // access (pages written through a view lose those writes).
  void release(const std::string& name, uint64_t begin = 0, uint64_t end = UINT64_MAX) const;

  struct Impl;
  explicit SafetensorsFile(std::unique_ptr<Impl> impl);
  ~SafetensorsFile();

 private:
  std::shared_ptr<Impl> impl_;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes tensors (any device; contiguous copies made as needed) atomically.
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Streaming writer: the header is built from `specs`, then produce(i) is called for
// each tensor in order and written out, so only one tensor needs to be in memory.
struct TensorSpec {
  std::string name;
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
};
void save_safetensors_lazy(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                           const std::function<torch::Tensor(size_t)>& produce,
                           const std::map<std::string, std::string>& metadata = {});

// Loads every tensor as an owned CPU tensor (convenience for small files).
std::map<std::string, torch::Tensor> load_safetensors(const std::filesystem::path& path);

}  // namespace genlens::io
