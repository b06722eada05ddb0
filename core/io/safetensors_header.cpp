// Validation of a safetensors header (see safetensors_header.h); no LibTorch here.
#include "core/io/safetensors_header.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/util/error.h"

namespace genlens::io {

using nlohmann::json;

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::pair<const char*, size_t> kSizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                          {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                                          {"U8", 1},  {"BOOL", 1}};
  for (auto& [name, size] : kSizes)
    if (dtype == name) return size;
  return 0;
}

SafetensorsHeader parse_safetensors_header(const unsigned char* bytes, uint64_t file_size, const std::string& p) {
  SafetensorsHeader out;
  if (file_size < 8)
    fail("'{}' is not a safetensors file: {} bytes, expected at least an 8-byte header length", p, file_size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxSafetensorsHeaderBytes || n > file_size - 8)
    fail("'{}': header length {} is out of range (file has {} bytes after the length field)",
         p, n, file_size - 8);
  out.data_start = 8 + n;
  const uint64_t data_size = file_size - out.data_start;

  json header;
  try {
    header = json::parse(reinterpret_cast<const char*>(bytes) + 8,
                         reinterpret_cast<const char*>(bytes) + 8 + n);
  } catch (const json::exception& e) {
    fail("'{}': header is not valid JSON: {}", p, e.what());
  }
  if (!header.is_object()) fail("'{}': header must be a JSON object, found {}", p, header.type_name());

  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) fail("'{}': __metadata__ must be an object of strings", p);
      for (auto& [k, mv] : v.items()) {
        if (!mv.is_string())
          fail("'{}': __metadata__ field '{}' must be a string, found {}", p, k, mv.type_name());
        out.metadata[k] = mv.get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) fail("'{}': tensor '{}': entry must be an object", p, name);
    TensorInfo t;
    t.name = name;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail("'{}': tensor '{}': missing string field 'dtype'", p, name);
    t.dtype = dt->get<std::string>();
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) fail("'{}': tensor '{}': missing array field 'shape'", p, name);
    uint64_t numel = 1;
    for (auto& d : *sh) {
      if (!d.is_number_unsigned())
        fail("'{}': tensor '{}': shape entries must be non-negative integers, found {}", p, name, d.dump());
      uint64_t x = d.get<uint64_t>();
      if (x > (1ull << 48)) fail("'{}': tensor '{}': dimension {} is out of range", p, name, x);
      t.shape.push_back(static_cast<int64_t>(x));
      if (x != 0 && numel > std::numeric_limits<uint64_t>::max() / x)
        fail("'{}': tensor '{}': shape {} overflows", p, name, shape_str(t.shape));
      numel *= x;
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail("'{}': tensor '{}': 'data_offsets' must be two non-negative integers", p, name);
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size)
      fail("'{}': tensor '{}': data_offsets [{}, {}] out of range (data section has {} bytes)", p,
           name, t.begin, t.end, data_size);
    if (const size_t esize = safetensors_dtype_size(t.dtype)) {
      if (numel > std::numeric_limits<uint64_t>::max() / esize)
        fail("'{}': tensor '{}': {} x {} overflows", p, name, t.dtype, shape_str(t.shape));
      if (numel * esize != t.end - t.begin)
        fail("'{}': tensor '{}': {} x {} needs {} bytes but data_offsets span {} bytes", p, name,
             t.dtype, shape_str(t.shape), numel * esize, t.end - t.begin);
    }
    // Unknown dtypes (F8_*, ...) are listed; get() refuses them by name.
    out.index[name] = out.tensors.size();
    out.tensors.push_back(std::move(t));
  }
  // No two tensors may share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (auto& t : out.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail("'{}': tensors '{}' and '{}' overlap in the data section", p, by_offset[i - 1]->name,
           by_offset[i]->name);
  return out;
}

}  // namespace genlens::io
