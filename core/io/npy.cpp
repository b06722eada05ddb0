#include "core/io/npy.h"

#include <cstring>

#include "core/io/atomic_file.h"
#include "core/io/npy_header.h"
#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;

void save_npy(const fs::path& path, const torch::Tensor& t) {
  if (!t.defined()) fail("save_npy '{}': tensor is undefined", path.string());
  auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  // NumPy tuple syntax: "()", "(N,)", "(N, D)", ...
  std::string shape = "(";
  for (int64_t i = 0; i < c.dim(); ++i) shape += (i ? ", " : "") + std::to_string(c.size(i));
  shape += c.dim() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;  // magic(6) + version(2) + len(2) + header + '\n'
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes = "\x93NUMPY";
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  uint16_t hl = static_cast<uint16_t>(header.size());
  bytes.push_back(static_cast<char>(hl & 0xff));
  bytes.push_back(static_cast<char>(hl >> 8));
  bytes += header;
  bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  write_file_atomic(path, bytes);
}

torch::Tensor load_npy(const fs::path& path) {
  const std::string p = path.string();
  std::error_code ec;
  if (!fs::exists(path, ec)) fail("'{}': no such .npy file", p);
  std::string bytes = read_file(path);
  const NpyHeader h = parse_npy_header(bytes, bytes.size(), p);
  const torch::ScalarType type = h.descr == "<f4"   ? torch::kFloat32
                                 : h.descr == "<f8" ? torch::kFloat64
                                 : h.descr == "<i4" ? torch::kInt32
                                                    : torch::kInt64;
  std::vector<int64_t> storage_shape = h.shape;
  if (h.fortran_order) std::reverse(storage_shape.begin(), storage_shape.end());
  auto t = torch::empty(storage_shape, torch::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), bytes.data() + h.data_offset, h.data_bytes);
  if (h.fortran_order && t.dim() > 1) {
    std::vector<int64_t> perm;
    for (int64_t i = t.dim() - 1; i >= 0; --i) perm.push_back(i);
    t = t.permute(perm).contiguous();
  }
  if (type == torch::kFloat64) t = t.to(torch::kFloat32);
  if (type == torch::kInt32) t = t.to(torch::kInt64);
  return t;
}

}  // namespace genlens::io
