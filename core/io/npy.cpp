#include "core/io/npy.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/io/atomic_file.h"
#include "core/io/npy_header.h"
#include "core/util/error.h"

#include <fmt/format.h>

namespace genlens::io {

namespace fs = std::filesystem;

namespace {

// Magic, version 1.0, header length and the header dict padded to 64 bytes: everything
// before the data of a C-order array of `sizes` ('<f4' float32 or '<f2' float16).
std::string npy_header(const std::vector<int64_t>& sizes, const char* descr = "<f4") {
  // NumPy tuple syntax: "()", "(N,)", "(N, D)", ...
  std::string shape = "(";
  for (size_t i = 0; i < sizes.size(); ++i) shape += (i ? ", " : "") + std::to_string(sizes[i]);
  shape += sizes.size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
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
  return bytes;
}

}  // namespace

void save_npy(const fs::path& path, const torch::Tensor& t) {
  if (!t.defined()) fail("save_npy '{}': tensor is undefined", path.string());
  auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  std::string bytes = npy_header(c.sizes().vec());
  bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  write_file_atomic(path, bytes);
}

NpyRowWriter::NpyRowWriter(const fs::path& path, int64_t rows, int64_t cols, Mode mode)
    : NpyRowWriter(path, rows, std::vector<int64_t>{cols}, mode, torch::kFloat32) {}

NpyRowWriter::NpyRowWriter(const fs::path& path, int64_t rows, const std::vector<int64_t>& row_shape, Mode mode,
                           torch::ScalarType dtype)
    : path_(path), rows_(rows), cols_(1), dtype_(dtype), row_shape_(row_shape) {
  for (int64_t d : row_shape) cols_ *= d;
  std::vector<int64_t> sizes = {rows};
  sizes.insert(sizes.end(), row_shape.begin(), row_shape.end());
  const std::string shape = fmt::format("({})", fmt::join(sizes, ", "));
  if (rows < 0 || row_shape.empty() || cols_ < 1) fail("'{}': cannot write a .npy of shape {}", path.string(), shape);
  if (dtype != torch::kFloat32 && dtype != torch::kFloat16)
    fail("'{}': a .npy is written as float32 or float16, not {}", path.string(), c10::toString(dtype));
  item_bytes_ = dtype == torch::kFloat16 ? 2u : 4u;
  const std::string header = npy_header(sizes, dtype == torch::kFloat16 ? "<f2" : "<f4");
  data_offset_ = header.size();
  const uint64_t total = data_offset_ + static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols_) * item_bytes_;
  if (mode == Mode::Create) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("'{}': cannot create ({})", path.string(), std::strerror(errno));
    if (::pwrite(fd_, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
        ::ftruncate(fd_, static_cast<off_t>(total)) != 0)
      fail("'{}': cannot size the file to {} bytes ({})", path.string(), total, std::strerror(errno));
  } else {
    fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) fail("'{}': cannot open to continue it ({})", path.string(), std::strerror(errno));
    std::string have(header.size(), '\0');
    const auto size = ::lseek(fd_, 0, SEEK_END);
    if (::pread(fd_, have.data(), have.size(), 0) != static_cast<ssize_t>(have.size()) || have != header ||
        size != static_cast<off_t>(total))
      fail("'{}': not the partial .npy of shape {} this command writes (move it away to start over)",
           path.string(), shape);
  }
}

NpyRowWriter::~NpyRowWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void NpyRowWriter::write_rows(int64_t first_row, const torch::Tensor& block) {
  const int64_t n = block.dim() > 0 ? block.size(0) : 0;
  if (block.dim() < 1 || block.numel() != n * cols_ || first_row < 0 || first_row + n > rows_)
    fail("'{}': rows {}..{} of shape [{}] do not fit the array of {} rows of {} values", path_.string(), first_row,
         first_row + n, fmt::join(block.sizes(), ", "), rows_, cols_);
  auto c = block.detach().to(torch::kCPU, dtype_).contiguous();
  const char* p = static_cast<const char*>(c.data_ptr());
  size_t left = c.nbytes();
  auto off = static_cast<off_t>(data_offset_ + static_cast<uint64_t>(first_row) * static_cast<uint64_t>(cols_) * item_bytes_);
  while (left > 0) {
    ssize_t k = ::pwrite(fd_, p, left, off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) fail("'{}': write failed ({})", path_.string(), std::strerror(errno));
    p += k, off += k, left -= static_cast<size_t>(k);
  }
}

void NpyRowWriter::sync() {
  if (::fdatasync(fd_) != 0) fail("'{}': fdatasync failed ({}); the rows may not be on disk", path_.string(),
                                  std::strerror(errno));
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
