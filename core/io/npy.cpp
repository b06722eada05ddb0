#include "core/io/npy.h"

#include <cstring>
#include <regex>

#include "core/io/atomic_file.h"
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
  if (!fs::exists(path)) fail("'{}': no such .npy file", p);
  std::string bytes = read_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    fail("'{}': not a .npy file (missing \\x93NUMPY magic)", p);
  int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen = 0, hstart = 0;
  auto u8 = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(bytes[i])); };
  if (major == 1) {
    hlen = u8(8) | (u8(9) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail("'{}': truncated .npy header", p);
    hlen = u8(8) | (u8(9) << 8) | (u8(10) << 16) | (u8(11) << 24);
    hstart = 12;
  } else {
    fail("'{}': unsupported .npy format version {}.{}", p, major, u8(7));
  }
  if (hstart + hlen > bytes.size()) fail("'{}': .npy header length {} exceeds the file size", p, hlen);
  std::string header = bytes.substr(hstart, hlen);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
    fail("'{}': .npy header has no 'descr' field: {}", p, header);
  std::string descr = m[1];
  if (!std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*(True|False))")))
    fail("'{}': .npy header has no 'fortran_order' field", p);
  bool fortran = m[1] == "True";
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    fail("'{}': .npy header has no 'shape' field", p);
  std::vector<int64_t> shape;
  std::string dims = m[1];
  std::regex num(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
    shape.push_back(std::stoll(it->str()));
  torch::ScalarType type;
  size_t esize;
  if (descr == "<f4") type = torch::kFloat32, esize = 4;
  else if (descr == "<f8") type = torch::kFloat64, esize = 8;
  else if (descr == "<i4") type = torch::kInt32, esize = 4;
  else if (descr == "<i8") type = torch::kInt64, esize = 8;
  else fail("'{}': .npy dtype '{}' is not supported (expected '<f4', '<f8', '<i4' or '<i8')", p, descr);
  uint64_t numel = 1;
  for (auto d : shape) numel *= static_cast<uint64_t>(d);
  size_t data = hstart + hlen;
  if (bytes.size() - data != numel * esize)
    fail("'{}': .npy data has {} bytes, shape and dtype '{}' need {}", p, bytes.size() - data, descr,
         numel * esize);
  std::vector<int64_t> storage_shape = shape;
  if (fortran) std::reverse(storage_shape.begin(), storage_shape.end());
  auto t = torch::empty(storage_shape, torch::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), bytes.data() + data, numel * esize);
  if (fortran && t.dim() > 1) {
    std::vector<int64_t> perm;
    for (int64_t i = t.dim() - 1; i >= 0; --i) perm.push_back(i);
    t = t.permute(perm).contiguous();
  }
  if (type == torch::kFloat64) t = t.to(torch::kFloat32);
  if (type == torch::kInt32) t = t.to(torch::kInt64);
  return t;
}

}  // namespace genlens::io
