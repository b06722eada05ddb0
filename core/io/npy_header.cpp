// .npy header parser (see npy_header.h). The dict is read by looking up each key and
// parsing the literal after it; no regex (an adversarial header must not be able to
// make the parser recurse deeply or run long), every number checked for overflow.
#include "core/io/npy_header.h"

#include <limits>

#include "core/util/error.h"

namespace genlens::io {

namespace {

// The text right after `'key'` and its colon, or npos when the key is absent.
size_t value_of(const std::string& h, const char* key) {
  const std::string quoted = std::string("'") + key + "'";
  size_t at = h.find(quoted);
  if (at == std::string::npos) return at;
  at += quoted.size();
  while (at < h.size() && (h[at] == ' ' || h[at] == '\t')) ++at;
  if (at >= h.size() || h[at] != ':') return std::string::npos;
  ++at;
  while (at < h.size() && (h[at] == ' ' || h[at] == '\t')) ++at;
  return at;
}

}  // namespace

NpyHeader parse_npy_header(const std::string& b, uint64_t file_size, const std::string& p) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) fail("'{}': not a .npy file (missing \\x93NUMPY magic)", p);
  auto u8 = [&](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(b[i])); };
  const uint64_t major = u8(6);
  uint64_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = u8(8) | (u8(9) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) fail("'{}': truncated .npy header", p);
    hlen = u8(8) | (u8(9) << 8) | (u8(10) << 16) | (u8(11) << 24);
    hstart = 12;
  } else {
    fail("'{}': unsupported .npy format version {}.{}", p, major, u8(7));
  }
  if (hlen > kMaxNpyHeaderBytes)
    fail("'{}': .npy header length {} is larger than genlens accepts ({} bytes)", p, hlen, kMaxNpyHeaderBytes);
  if (hstart + hlen > file_size || hstart + hlen > b.size())
    fail("'{}': .npy header length {} exceeds the file size ({} bytes)", p, hlen, file_size);
  const std::string h = b.substr(hstart, hlen);
  NpyHeader out;
  out.data_offset = hstart + hlen;

  size_t at = value_of(h, "descr");
  if (at == std::string::npos || at >= h.size() || h[at] != '\'')
    fail("'{}': .npy header has no 'descr' field: {}", p, h);
  size_t close = h.find('\'', at + 1);
  if (close == std::string::npos) fail("'{}': .npy header: 'descr' is not a quoted string", p);
  out.descr = h.substr(at + 1, close - at - 1);
  if (out.descr == "<f4" || out.descr == "<i4") out.element_size = 4;
  else if (out.descr == "<f8" || out.descr == "<i8") out.element_size = 8;
  else fail("'{}': .npy dtype '{}' is not supported (expected '<f4', '<f8', '<i4' or '<i8')", p, out.descr);

  at = value_of(h, "fortran_order");
  if (at != std::string::npos && h.compare(at, 4, "True") == 0) out.fortran_order = true;
  else if (at != std::string::npos && h.compare(at, 5, "False") == 0) out.fortran_order = false;
  else fail("'{}': .npy header has no 'fortran_order' field (True or False)", p);

  at = value_of(h, "shape");
  if (at == std::string::npos || at >= h.size() || h[at] != '(') fail("'{}': .npy header has no 'shape' field", p);
  close = h.find(')', at);
  if (close == std::string::npos) fail("'{}': .npy header: 'shape' is not a closed tuple", p);
  const std::string dims = h.substr(at + 1, close - at - 1);
  uint64_t numel = 1;
  for (size_t i = 0; i < dims.size();) {
    const char c = dims[i];
    if (c == ' ' || c == ',' || c == 'L') {  // 'L': Python 2 longs
      ++i;
      continue;
    }
    if (c < '0' || c > '9') fail("'{}': .npy header: 'shape' must be a tuple of integers, found ({})", p, dims);
    uint64_t d = 0;
    for (; i < dims.size() && dims[i] >= '0' && dims[i] <= '9'; ++i) {
      if (d > (std::numeric_limits<uint64_t>::max() - 9) / 10)
        fail("'{}': .npy header: 'shape' dimension does not fit in 64 bits: ({})", p, dims);
      d = d * 10 + static_cast<uint64_t>(dims[i] - '0');
    }
    if (d > (1ull << 48)) fail("'{}': .npy header: 'shape' dimension {} is out of range", p, d);
    if (d != 0 && numel > std::numeric_limits<uint64_t>::max() / d)
      fail("'{}': .npy header: 'shape' ({}) overflows", p, dims);
    numel *= d;
    out.shape.push_back(static_cast<int64_t>(d));
    if (out.shape.size() > 32) fail("'{}': .npy header: 'shape' has more than 32 dimensions", p);
  }
  if (numel > std::numeric_limits<uint64_t>::max() / out.element_size)
    fail("'{}': .npy header: 'shape' ({}) overflows", p, dims);
  out.data_bytes = numel * out.element_size;
  if (file_size - out.data_offset != out.data_bytes)
    fail("'{}': .npy data has {} bytes, shape ({}) and dtype '{}' need {}", p, file_size - out.data_offset, dims,
         out.descr, out.data_bytes);
  return out;
}

}  // namespace genlens::io
