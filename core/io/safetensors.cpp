// safetensors reader (mmap, validated header, zero-copy views) and writer (streaming,
// atomic). Format: u64 little-endian header length N, N bytes of JSON, then the data
// section; each tensor's data_offsets are relative to the start of the data section.
#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/io/atomic_file.h"
#include "core/io/mapped_guard.h"
#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DtypeDesc {
  const char* name;
  torch::ScalarType type;
  size_t size;
};

const DtypeDesc kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeDesc* find_dtype(const std::string& name) {
  for (auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeDesc* find_dtype(torch::ScalarType t) {
  for (auto& d : kDtypes)
    if (t == d.type) return &d;
  return nullptr;
}

// The file mapping; tensors returned by get() hold a shared_ptr to it. The descriptor
// stays open so get() can notice a file that shrank since it was opened; the mapping is
// watched for SIGBUS (mapped_guard.h) for the accesses that come later.
struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  int fd = -1;
  ~Mapping() {
    if (addr && addr != MAP_FAILED) {
      unwatch_mapping(addr);
      ::munmap(addr, size);
    }
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly n bytes at `offset` (the header is read this way, not through the
// mapping, so a file truncated meanwhile gives an error instead of SIGBUS).
void pread_exact(int fd, void* buf, size_t n, uint64_t offset, const std::string& p) {
  auto* out = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("'{}': read failed at byte {}: {}", p, offset, std::strerror(errno));
    if (r == 0) fail("'{}': the file ends at byte {} while its header was being read (truncated?)", p, offset);
    out += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

}  // namespace

struct SafetensorsFile::Impl {
  fs::path path;
  std::shared_ptr<Mapping> map;
  uint64_t data_start = 0;  // 8 + header length
  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t> index;
  std::map<std::string, std::string> metadata;
};

SafetensorsFile::SafetensorsFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SafetensorsFile::~SafetensorsFile() = default;

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const std::string p = path.string();

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open safetensors file '{}': {}", p, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail("cannot stat '{}': {}", p, std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("'{}' is not a regular file", p);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail("'{}' is not a safetensors file: {} bytes, expected at least an 8-byte header length",
         p, file_size);
  }
  auto map = std::make_shared<Mapping>();
  map->fd = fd;  // closed by the Mapping from here on
  // The header, read with pread and validated against the file size first.
  std::string head(8, '\0');
  pread_exact(fd, head.data(), 8, 0, p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(head[static_cast<size_t>(i)]);
  if (n <= kMaxSafetensorsHeaderBytes && n <= file_size - 8) {
    head.resize(8 + n);
    pread_exact(fd, head.data() + 8, n, 8, p);
  }
  auto header = parse_safetensors_header(reinterpret_cast<const unsigned char*>(head.data()), file_size, p);
  impl->data_start = header.data_start;
  impl->tensors = std::move(header.tensors);
  impl->index = std::move(header.index);
  impl->metadata = std::move(header.metadata);

  // MAP_PRIVATE + writable: an accidental in-place write to a view changes only this
  // process's copy of that page (never the file, never a crash); reading costs nothing
  // beyond the page cache. MAP_NORESERVE: no commit charge for a model larger than
  // RAM + swap. Should the kernel still refuse, fall back to a read-only mapping.
  void* addr = ::mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
  if (addr == MAP_FAILED) addr = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (addr == MAP_FAILED) fail("cannot mmap '{}': {}", p, std::strerror(errno));
  map->addr = addr;
  map->size = file_size;
  watch_mapping(addr, file_size, p);
  impl->map = map;
  return std::make_shared<SafetensorsFile>(std::move(impl));
}

const fs::path& SafetensorsFile::path() const { return impl_->path; }
const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return impl_->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }
bool SafetensorsFile::contains(const std::string& name) const { return impl_->index.count(name) > 0; }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = impl_->index.find(name);
  if (it == impl_->index.end()) fail("'{}': no tensor named '{}'", impl_->path.string(), name);
  return impl_->tensors[it->second];
}

torch::Tensor SafetensorsFile::get(const std::string& name) const {
  const TensorInfo& t = info(name);
  const DtypeDesc* d = find_dtype(t.dtype);
  if (!d)
    fail("'{}': tensor '{}' has dtype {}, which genlens does not read (supported: F64, F32, F16, "
         "BF16, I64, I32, I16, I8, U8, BOOL)", impl_->path.string(), name, t.dtype);
  struct stat st {};
  if (::fstat(impl_->map->fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < impl_->map->size)
    fail("'{}': the file shrank from {} to {} bytes since genlens opened it (truncated or rewritten in place); "
         "tensor '{}' cannot be read", impl_->path.string(), impl_->map->size, st.st_size, name);
  auto* base = static_cast<char*>(impl_->map->addr) + impl_->data_start + t.begin;
  auto opts = torch::TensorOptions().dtype(d->type).device(torch::kCPU);
  if (reinterpret_cast<uintptr_t>(base) % d->size != 0) {
    // Misaligned for its element type: copy (rare; writers pad the header to 8 bytes).
    auto out = torch::empty(t.shape, opts);
    std::memcpy(out.data_ptr(), base, t.end - t.begin);
    return out;
  }
  auto keep = impl_->map;
  return torch::from_blob(base, t.shape, [keep](void*) mutable { keep.reset(); }, opts);
}

void SafetensorsFile::release(const std::string& name, uint64_t begin, uint64_t end) const {
  const TensorInfo& t = info(name);
  end = std::min(end, t.end - t.begin);
  if (begin >= end) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t base = reinterpret_cast<uintptr_t>(impl_->map->addr);
  uintptr_t lo = base + impl_->data_start + t.begin + begin;
  uintptr_t hi = base + impl_->data_start + t.begin + end;
  lo = lo / page * page;  // whole pages (the mapping starts on a page boundary)
  hi = std::min<uintptr_t>((hi + page - 1) / page * page, base + impl_->map->size);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

void save_safetensors_lazy(const fs::path& path, const std::vector<TensorSpec>& specs,
                           const std::function<torch::Tensor(size_t)>& produce,
                           const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  std::map<std::string, int> seen;
  for (auto& s : specs) {
    if (s.name == "__metadata__" || seen[s.name]++)
      fail("'{}': tensor name '{}' is reserved or given twice", path.string(), s.name);
    const DtypeDesc* d = find_dtype(s.dtype);
    if (!d) fail("'{}': tensor '{}': cannot store type {}", path.string(), s.name, c10::toString(s.dtype));
    uint64_t numel = 1;
    for (auto x : s.shape) {
      if (x < 0) fail("'{}': tensor '{}': negative dimension", path.string(), s.name);
      numel *= static_cast<uint64_t>(x);
    }
    uint64_t nbytes = numel * d->size;
    header[s.name] = {{"dtype", d->name}, {"shape", s.shape}, {"data_offsets", {offset, offset + nbytes}}};
    sizes.push_back(nbytes);
    offset += nbytes;
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // data section 8-byte aligned
  write_file_atomic_with(path, [&](const fs::path& tmp) {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("cannot open '{}' for writing: {}", tmp.string(), std::strerror(errno));
    unsigned char len[8];
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    f.write(reinterpret_cast<const char*>(len), 8);
    f.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (size_t i = 0; i < specs.size(); ++i) {
      torch::Tensor t = produce(i);
      if (!t.defined() || t.scalar_type() != specs[i].dtype ||
          t.sizes().vec() != specs[i].shape)
        fail("'{}': tensor '{}' does not match its declared dtype/shape", path.string(), specs[i].name);
      t = t.to(torch::kCPU).contiguous();
      if (static_cast<uint64_t>(t.nbytes()) != sizes[i])
        fail("'{}': tensor '{}': byte size mismatch", path.string(), specs[i].name);
      f.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(sizes[i]));
    }
    f.flush();
    if (!f) fail("short write to '{}' (disk full?)", tmp.string());
  });
}

void save_safetensors(const fs::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (auto& [name, t] : tensors) {
    if (!t.defined()) fail("'{}': tensor '{}' is undefined", path.string(), name);
    specs.push_back({name, t.scalar_type(), t.sizes().vec()});
  }
  save_safetensors_lazy(path, specs, [&](size_t i) { return tensors[i].second.detach(); }, metadata);
}

std::map<std::string, torch::Tensor> load_safetensors(const fs::path& path) {
  auto f = SafetensorsFile::open(path);
  std::map<std::string, torch::Tensor> out;
  for (auto& t : f->tensors()) out[t.name] = f->get(t.name).clone();
  return out;
}

}  // namespace genlens::io
