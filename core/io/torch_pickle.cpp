#include "core/io/torch_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cstring>
#include <map>
#include <memory>
#include <variant>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace genlens::io {

namespace fs = std::filesystem;

// Reading: a restricted unpickler of our own. LibTorch 1.13's pickle_load turns every
// collections.OrderedDict (what nn.Module.state_dict() returns) into None, so it cannot
// read the state dicts torch.save writes; and a general unpickler would run whatever
// callables a file names. This one knows the opcodes torch.save emits (protocols 2-5)
// and only the callables those files use: OrderedDict, torch._utils._rebuild_tensor_v2,
// the typed storage classes and LibTorch's container tags. Anything else is refused.
namespace {

struct Val;
using ValP = std::shared_ptr<Val>;
struct Val {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Mark } kind = None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                                // Str; Global "module.name"
  std::vector<ValP> items;                      // Tuple, List
  std::vector<std::pair<ValP, ValP>> dict;      // Dict (insertion order)
  torch::Tensor t;                              // Storage (flat), Tensor
};

ValP make(Val::Kind k) {
  auto v = std::make_shared<Val>();
  v->kind = k;
  return v;
}

torch::ScalarType storage_dtype(const std::string& global, const std::string& src) {
  static const std::map<std::string, torch::ScalarType> m{
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  auto it = m.find(global);
  if (it == m.end()) fail("{}: unexpected storage type {} in the pickle", src, global);
  return it->second;
}

class Reader {
 public:
  Reader(const std::string& data, caffe2::serialize::PyTorchStreamReader& zip, std::string src)
      : d_(data), zip_(zip), src_(std::move(src)) {}

  ValP run() {
    while (true) {
      if (p_ >= d_.size()) bad("the pickle ends before its STOP opcode");
      const unsigned char op = static_cast<unsigned char>(d_[p_++]);
      switch (op) {
        case 0x80: take(1); break;  // PROTO
        case 0x95: take(8); break;  // FRAME
        case '.': return pop();     // STOP
        case '(': marks_.push_back(st_.size()); break;
        case '}': st_.push_back(make(Val::Dict)); break;
        case ']': st_.push_back(make(Val::List)); break;
        case ')': st_.push_back(make(Val::Tuple)); break;
        case 'N': st_.push_back(make(Val::None)); break;
        case 0x88: case 0x89: { auto v = make(Val::Bool); v->b = op == 0x88; st_.push_back(v); break; }
        case 'J': push_int(static_cast<int32_t>(le(4))); break;
        case 'K': push_int(static_cast<int64_t>(le(1))); break;
        case 'M': push_int(static_cast<int64_t>(le(2))); break;
        case 0x8a: {  // LONG1
          size_t n = le(1);
          if (n > 8) bad("integer too large");
          uint64_t u = le(n);
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t{0} << (8 * n);  // sign-extend
          push_int(static_cast<int64_t>(u));
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          std::string b = take(8);
          uint64_t u = 0;
          for (char c : b) u = (u << 8) | static_cast<unsigned char>(c);
          auto v = make(Val::Float);
          std::memcpy(&v->f, &u, 8);
          st_.push_back(v);
          break;
        }
        case 'X': case 'T': push_str(take(le(4))); break;
        case 0x8c: case 'U': push_str(take(le(1))); break;
        case 0x8d: push_str(take(le(8))); break;
        case 'c': {
          std::string mod = line(), name = line();
          auto v = make(Val::Global);
          v->s = mod + "." + name;
          st_.push_back(v);
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop(), mod = pop();
          if (name->kind != Val::Str || mod->kind != Val::Str) bad("STACK_GLOBAL without two strings");
          auto v = make(Val::Global);
          v->s = mod->s + "." + name->s;
          st_.push_back(v);
          break;
        }
        case 'q': memo_[le(1)] = top(); break;
        case 'r': memo_[le(4)] = top(); break;
        case 0x94: memo_[memo_.size()] = top(); break;
        case 'h': st_.push_back(get(le(1))); break;
        case 'j': st_.push_back(get(le(4))); break;
        case 't': { auto v = make(Val::Tuple); v->items = pop_mark(); st_.push_back(v); break; }
        case 0x85: case 0x86: case 0x87: {
          auto v = make(Val::Tuple);
          v->items.resize(op - 0x84);
          for (size_t k = v->items.size(); k-- > 0;) v->items[k] = pop();
          st_.push_back(v);
          break;
        }
        case 'a': { auto x = pop(); list_top()->items.push_back(x); break; }
        case 'e': { auto xs = pop_mark(); auto l = list_top(); l->items.insert(l->items.end(), xs.begin(), xs.end()); break; }
        case 's': { auto v = pop(); auto k = pop(); dict_top()->dict.emplace_back(k, v); break; }
        case 'u': {
          auto xs = pop_mark();
          if (xs.size() % 2) bad("SETITEMS with an odd number of items");
          auto dct = dict_top();
          for (size_t k = 0; k < xs.size(); k += 2) dct->dict.emplace_back(xs[k], xs[k + 1]);
          break;
        }
        case 'Q': st_.push_back(persistent(pop())); break;
        case 'R': { auto args = pop(); auto fn = pop(); st_.push_back(reduce(fn, args)); break; }
        case 'b': {  // BUILD: only an OrderedDict's attributes (state_dict()._metadata), dropped
          auto state = pop();
          if (top()->kind != Val::Dict) bad("BUILD on something other than a dict");
          break;
        }
        default: bad(fmt::format("unsupported pickle opcode 0x{:02x} (a class or callable genlens does not load)", op));
      }
    }
  }

 private:
  [[noreturn]] void bad(const std::string& what) const { fail("{}: unexpected pickle content: {}", src_, what); }
  std::string take(size_t n) {
    if (p_ + n > d_.size()) bad("truncated pickle");
    std::string s = d_.substr(p_, n);
    p_ += n;
    return s;
  }
  uint64_t le(size_t n) {
    std::string b = take(n);
    uint64_t u = 0;
    for (size_t k = n; k-- > 0;) u = (u << 8) | static_cast<unsigned char>(b[k]);
    return u;
  }
  std::string line() {
    auto e = d_.find('\n', p_);
    if (e == std::string::npos) bad("truncated GLOBAL");
    std::string s = d_.substr(p_, e - p_);
    p_ = e + 1;
    return s;
  }
  void push_int(int64_t x) { auto v = make(Val::Int); v->i = x; st_.push_back(v); }
  void push_str(std::string s) { auto v = make(Val::Str); v->s = std::move(s); st_.push_back(v); }
  ValP top() { if (st_.empty()) bad("stack underflow"); return st_.back(); }
  ValP pop() { auto v = top(); st_.pop_back(); return v; }
  ValP get(uint64_t k) { auto it = memo_.find(k); if (it == memo_.end()) bad("memo key missing"); return it->second; }
  std::vector<ValP> pop_mark() {
    if (marks_.empty()) bad("no MARK");
    size_t m = marks_.back();
    marks_.pop_back();
    if (m > st_.size()) bad("MARK beyond the stack");
    std::vector<ValP> xs(st_.begin() + static_cast<long>(m), st_.end());
    st_.resize(m);
    return xs;
  }
  ValP list_top() { auto l = top(); if (l->kind != Val::List) bad("APPEND to a non-list"); return l; }
  ValP dict_top() { auto d = top(); if (d->kind != Val::Dict) bad("SETITEM on a non-dict"); return d; }

  // ('storage', torch.FloatStorage, key, location, numel) -> the record data/<key>.
  ValP persistent(const ValP& pid) {
    if (pid->kind != Val::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Val::Str ||
        pid->items[0]->s != "storage" || pid->items[1]->kind != Val::Global || pid->items[2]->kind != Val::Str)
      bad("a persistent id other than a tensor storage");
    auto dtype = storage_dtype(pid->items[1]->s, src_);
    const std::string key = pid->items[2]->s;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const std::string rec = "data/" + key;
    if (!zip_.hasRecord(rec)) bad("storage " + rec + " is missing from the archive");
    auto [ptr, size] = zip_.getRecord(rec);
    const size_t esize = c10::elementSize(dtype);
    if (size % esize) bad("storage " + rec + " has a size that is not a whole number of elements");
    auto v = make(Val::Storage);
    v->t = torch::from_blob(ptr.get(), {static_cast<int64_t>(size / esize)}, torch::TensorOptions().dtype(dtype)).clone();
    storages_[key] = v;
    return v;
  }

  ValP reduce(const ValP& fn, const ValP& args) {
    if (fn->kind != Val::Global || args->kind != Val::Tuple) bad("REDUCE of something other than a known callable");
    if (fn->s == "collections.OrderedDict") {
      if (!args->items.empty()) bad("OrderedDict with arguments");
      return make(Val::Dict);
    }
    // LibTorch's own pickler (genlens export) tags typed containers with these helpers.
    if (fn->s == "torch.jit._pickle.restore_type_tag") {
      if (args->items.size() != 2) bad("restore_type_tag with unexpected arguments");
      return args->items[0];
    }
    if (fn->s == "torch.jit._pickle.build_intlist" || fn->s == "torch.jit._pickle.build_doublelist" ||
        fn->s == "torch.jit._pickle.build_boollist" || fn->s == "torch.jit._pickle.build_tensorlist") {
      if (args->items.size() != 1 || args->items[0]->kind != Val::List) bad(fn->s + " with unexpected arguments");
      return args->items[0];
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") {
      const auto& a = args->items;
      if (a.size() < 4 || a[0]->kind != Val::Storage || a[1]->kind != Val::Int || a[2]->kind != Val::Tuple ||
          a[3]->kind != Val::Tuple)
        bad("_rebuild_tensor_v2 with unexpected arguments");
      std::vector<int64_t> size, stride;
      for (auto& x : a[2]->items) { if (x->kind != Val::Int) bad("tensor size"); size.push_back(x->i); }
      for (auto& x : a[3]->items) { if (x->kind != Val::Int) bad("tensor stride"); stride.push_back(x->i); }
      if (size.size() != stride.size()) bad("tensor size and stride differ in rank");
      int64_t need = a[1]->i + 1;
      for (size_t k = 0; k < size.size(); ++k) {
        if (size[k] < 0 || stride[k] < 0) bad("negative tensor size or stride");
        if (size[k] == 0) need = 0;
        else if (need > 0) need += (size[k] - 1) * stride[k];
      }
      if (a[1]->i < 0 || need > a[0]->t.numel()) bad("tensor view outside its storage");
      auto v = make(Val::Tensor);
      v->t = a[0]->t.as_strided(size, stride, a[1]->i).clone();
      return v;
    }
    bad("a call to " + fn->s);
  }

  const std::string& d_;
  caffe2::serialize::PyTorchStreamReader& zip_;
  std::string src_;
  size_t p_ = 0;
  std::vector<ValP> st_;
  std::vector<size_t> marks_;
  std::map<uint64_t, ValP> memo_;
  std::map<std::string, ValP> storages_;
};

c10::IValue to_ivalue(const ValP& v, const std::string& src) {
  switch (v->kind) {
    case Val::None: return c10::IValue();
    case Val::Bool: return c10::IValue(v->b);
    case Val::Int: return c10::IValue(v->i);
    case Val::Float: return c10::IValue(v->f);
    case Val::Str: return c10::IValue(v->s);
    case Val::Tensor: return c10::IValue(v->t);
    case Val::Tuple: {
      std::vector<c10::IValue> xs;
      for (auto& x : v->items) xs.push_back(to_ivalue(x, src));
      return c10::IValue(c10::ivalue::Tuple::create(std::move(xs)));
    }
    case Val::List: {
      c10::impl::GenericList l(c10::AnyType::get());
      for (auto& x : v->items) l.push_back(to_ivalue(x, src));
      return c10::IValue(l);
    }
    case Val::Dict: {
      c10::impl::GenericDict d(c10::AnyType::get(), c10::AnyType::get());
      for (auto& [k, x] : v->dict) {
        if (k->kind != Val::Str && k->kind != Val::Int) fail("{}: unexpected pickle content: a dict key that is not a string", src);
        d.insert_or_assign(to_ivalue(k, src), to_ivalue(x, src));
      }
      return c10::IValue(d);
    }
    default: fail("{}: unexpected pickle content: a bare {} as a value", src, v->kind == Val::Global ? "class or function" : "storage");
  }
}

}  // namespace

c10::IValue load_torch_pickle(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("{}: missing (expected a file written by torch.save)", path.string());
  std::string bytes = read_file(path);
  // torch.save has written a zip archive since PyTorch 1.6; the older raw-pickle format
  // is refused plainly.
  if (bytes.size() < 4 || bytes.compare(0, 4, "PK\x03\x04") != 0)
    fail("{}: not a torch.save zip archive ({} bytes, no zip signature); re-save it with torch.save from "
         "PyTorch >= 1.6", path.string(), bytes.size());
  try {
    caffe2::serialize::PyTorchStreamReader zip(path.string());
    if (!zip.hasRecord("data.pkl")) fail("{}: the archive has no data.pkl (not written by torch.save)", path.string());
    auto [ptr, size] = zip.getRecord("data.pkl");
    std::string pkl(static_cast<const char*>(ptr.get()), size);
    Reader r(pkl, zip, path.string());
    return to_ivalue(r.run(), path.string());
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    fail("{}: cannot read the archive: {}", path.string(), msg.substr(0, msg.find('\n')));
  }
}

// Writing: LibTorch's own pickler in the zip container, which torch.load reads. Its
// aggregate tags are off: with them a typed dict is wrapped in
// torch.jit._pickle.restore_type_tag, a global that torch.load(weights_only=True) (the
// default from torch 2.6) refuses. Without them the file holds only plain dicts,
// strings, numbers and tensors (torch._utils._rebuild_tensor_v2 over typed storages).
void save_torch_pickle(const fs::path& path, const c10::IValue& value) {
  std::string bytes;
  try {
    std::vector<char> pkl;
    torch::jit::Pickler pickler([&](const char* buf, size_t n) { pkl.insert(pkl.end(), buf, buf + n); },
                                /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                                /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(value);
    pickler.stop();
    {
      caffe2::serialize::PyTorchStreamWriter writer([&](const void* p, size_t n) {
        bytes.append(static_cast<const char*>(p), n);
        return n;
      });
      torch::jit::writeArchiveAndTensors("data", pkl.data(), pkl.size(), pickler.tensorData(), writer);
    }  // the writer finishes the zip (central directory) when it goes
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    fail("{}: cannot pickle: {}", path.string(), msg.substr(0, msg.find('\n')));
  }
  write_file_atomic(path, bytes);
}

}  // namespace genlens::io
