#include "graph/onnx_constant_folding.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <type_traits>
#include <climits>
#include <unordered_set>

#include "support/error.hpp"

namespace sparoa::graph::detail {
namespace {

using onnx::TensorProto;
using Dims = std::vector<std::int64_t>;

// Shape computations are tiny; folding anything large would hide real work from the
// schedule, so only small tensors are evaluated (Constant nodes and ConstantOfShape masks
// have their own, larger bounds).
constexpr std::int64_t kMaxFoldElements = 1 << 16;
constexpr std::int64_t kMaxConstantOfShapeElements = 1 << 22;

// A constant being folded. long double holds every int64 exactly on x86-64 (64-bit
// mantissa) and on aarch64 (binary128), and every float and double, so one type suffices.
struct Value {
  int dtype = TensorProto::UNDEFINED;
  Dims shape;
  std::vector<long double> v;
};

bool is_integer(int dtype) {
  switch (dtype) {
    case TensorProto::INT8: case TensorProto::INT16: case TensorProto::INT32: case TensorProto::INT64:
    case TensorProto::UINT8: case TensorProto::UINT16: case TensorProto::UINT32: case TensorProto::UINT64:
    case TensorProto::BOOL:
      return true;
    default:
      return false;
  }
}

bool is_foldable_dtype(int dtype) {
  return is_integer(dtype) || dtype == TensorProto::FLOAT || dtype == TensorProto::DOUBLE;
}

// Element count, saturating at kTooMany (what we compare with limits); -1 for a negative
// dimension. Any zero dimension makes it 0, whatever the others hold.
constexpr std::int64_t kTooMany = std::int64_t{1} << 62;
std::int64_t count(const Dims& d) {
  std::int64_t n = 1;
  bool saturated = false;
  for (auto x : d) {
    if (x < 0) return -1;
    if (x == 0) return 0;
    if (saturated || __builtin_mul_overflow(n, x, &n) || n > kTooMany) saturated = true;
  }
  return saturated ? kTooMany : n;
}

// Thrown inside the evaluator when a result would exceed the folding limits: the node then
// simply stays a run-time operator (fold-only operators are rejected by the importer).
struct TooLargeToFold {};

// Long double to the integer bits of an ONNX integer type: out-of-range values saturate
// instead of being undefined behaviour, and narrowing then wraps as a cast in C would.
std::int64_t to_int64_bits(long double x) {
  if (!std::isfinite(x)) return 0;
  if (x >= 9223372036854775808.0L) {
    return static_cast<std::int64_t>(x >= 18446744073709551615.0L ? UINT64_MAX : static_cast<std::uint64_t>(x));
  }
  if (x < -9223372036854775808.0L) return INT64_MIN;
  return static_cast<std::int64_t>(x);
}

template <typename T>
void append_raw(std::vector<long double>& out, const std::string& raw, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    T x;
    std::memcpy(&x, raw.data() + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<long double>(x));
  }
}

std::size_t width(int dtype) {
  switch (dtype) {
    case TensorProto::INT8: case TensorProto::UINT8: case TensorProto::BOOL: return 1;
    case TensorProto::INT16: case TensorProto::UINT16: return 2;
    case TensorProto::INT32: case TensorProto::UINT32: case TensorProto::FLOAT: return 4;
    case TensorProto::INT64: case TensorProto::UINT64: case TensorProto::DOUBLE: return 8;
    default: return 0;
  }
}

// Reads a constant tensor; nullopt when its type is not one we fold or it is too large.
std::optional<Value> read(const TensorProto& t, std::int64_t limit) {
  Value val;
  val.dtype = t.data_type();
  if (!is_foldable_dtype(val.dtype) || t.data_location() == TensorProto::EXTERNAL) return std::nullopt;
  val.shape.assign(t.dims().begin(), t.dims().end());
  const std::int64_t n = count(val.shape);
  if (n < 0 || n > limit) return std::nullopt;
  val.v.reserve(static_cast<std::size_t>(n));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != static_cast<std::size_t>(n) * width(val.dtype)) return std::nullopt;
    switch (val.dtype) {
      case TensorProto::INT8: append_raw<std::int8_t>(val.v, t.raw_data(), n); break;
      case TensorProto::UINT8: case TensorProto::BOOL: append_raw<std::uint8_t>(val.v, t.raw_data(), n); break;
      case TensorProto::INT16: append_raw<std::int16_t>(val.v, t.raw_data(), n); break;
      case TensorProto::UINT16: append_raw<std::uint16_t>(val.v, t.raw_data(), n); break;
      case TensorProto::INT32: append_raw<std::int32_t>(val.v, t.raw_data(), n); break;
      case TensorProto::UINT32: append_raw<std::uint32_t>(val.v, t.raw_data(), n); break;
      case TensorProto::INT64: append_raw<std::int64_t>(val.v, t.raw_data(), n); break;
      case TensorProto::UINT64: append_raw<std::uint64_t>(val.v, t.raw_data(), n); break;
      case TensorProto::FLOAT: append_raw<float>(val.v, t.raw_data(), n); break;
      case TensorProto::DOUBLE: append_raw<double>(val.v, t.raw_data(), n); break;
      default: return std::nullopt;
    }
  } else {
    switch (val.dtype) {
      case TensorProto::FLOAT: for (float x : t.float_data()) val.v.push_back(x); break;
      case TensorProto::DOUBLE: for (double x : t.double_data()) val.v.push_back(x); break;
      case TensorProto::INT64: for (auto x : t.int64_data()) val.v.push_back(static_cast<long double>(x)); break;
      case TensorProto::UINT32: case TensorProto::UINT64:
        for (auto x : t.uint64_data()) val.v.push_back(static_cast<long double>(x));
        break;
      default: for (auto x : t.int32_data()) val.v.push_back(x); break;
    }
    if (static_cast<std::int64_t>(val.v.size()) != n) return std::nullopt;
  }
  return val;
}

template <typename T>
void put_raw(std::string& raw, long double x) {
  T y;
  if constexpr (std::is_integral_v<T>) {
    y = static_cast<T>(to_int64_bits(x));
  } else {
    y = static_cast<T>(x);
  }
  raw.append(reinterpret_cast<const char*>(&y), sizeof(T));
}

TensorProto write(const Value& val, const std::string& name) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(val.dtype);
  for (auto d : val.shape) t.add_dims(d);
  std::string raw;
  raw.reserve(val.v.size() * width(val.dtype));
  for (long double x : val.v) {
    switch (val.dtype) {
      case TensorProto::INT8: put_raw<std::int8_t>(raw, x); break;
      case TensorProto::UINT8: put_raw<std::uint8_t>(raw, x); break;
      case TensorProto::BOOL: put_raw<std::uint8_t>(raw, x != 0 ? 1 : 0); break;
      case TensorProto::INT16: put_raw<std::int16_t>(raw, x); break;
      case TensorProto::UINT16: put_raw<std::uint16_t>(raw, x); break;
      case TensorProto::INT32: put_raw<std::int32_t>(raw, x); break;
      case TensorProto::UINT32: put_raw<std::uint32_t>(raw, x); break;
      case TensorProto::INT64: put_raw<std::int64_t>(raw, x); break;
      case TensorProto::UINT64: put_raw<std::uint64_t>(raw, x); break;
      case TensorProto::FLOAT: put_raw<float>(raw, x); break;
      case TensorProto::DOUBLE: put_raw<double>(raw, x); break;
      default: break;
    }
  }
  t.set_raw_data(std::move(raw));
  return t;
}

// Converts to the integer or float semantics of `dtype` (integer results truncate).
long double cast_to(int dtype, long double x) {
  if (dtype == TensorProto::BOOL) return x != 0 ? 1 : 0;
  if (is_integer(dtype)) return std::trunc(x);
  if (dtype == TensorProto::FLOAT) return static_cast<float>(x);
  if (dtype == TensorProto::DOUBLE) return static_cast<double>(x);
  return x;
}

Dims strides_of(const Dims& shape) {
  Dims s(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

class Folder {
 public:
  Folder(const onnx::NodeProto& node, const std::string& origin) : node_(node), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(origin_ + ": node '" + node_.name() + "' (" + node_.op_type() + ")", what);
  }

  const onnx::AttributeProto* attr(const std::string& name) const {
    for (const auto& a : node_.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  std::int64_t attr_int(const std::string& name, std::int64_t fallback) const {
    const auto* a = attr(name);
    return a ? a->i() : fallback;
  }
  std::optional<Dims> attr_ints(const std::string& name) const {
    const auto* a = attr(name);
    if (!a) return std::nullopt;
    return Dims(a->ints().begin(), a->ints().end());
  }

  std::int64_t norm_axis(std::int64_t axis, std::size_t rank) const {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= std::max<std::int64_t>(r, 1)) fail("axis " + std::to_string(axis) + " out of range");
    return axis < 0 ? axis + r : axis;
  }

  Dims ints_of(const Value& v) const {
    Dims out;
    for (auto x : v.v) out.push_back(to_int64_bits(x));
    return out;
  }

  // Refuses to materialise more than the folding limit.
  static std::int64_t bounded(std::int64_t n, std::int64_t limit = kMaxFoldElements) {
    if (n < 0 || n > limit) throw TooLargeToFold{};
    return n;
  }

  Dims broadcast(const Dims& a, const Dims& b) const {
    Dims out(std::max(a.size(), b.size()), 1);
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
      std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
      if (da != db && da != 1 && db != 1) fail("shapes cannot be broadcast");
      out[i] = da == 1 ? db : da;
    }
    return out;
  }

  // Element of `v` read at the multi-index of `out_index` in a broadcast result of `out`.
  long double at_broadcast(const Value& v, const Dims& out, std::int64_t out_index) const {
    const Dims os = strides_of(out);
    const Dims vs = strides_of(v.shape);
    std::int64_t idx = 0;
    const std::size_t off = out.size() - v.shape.size();
    for (std::size_t i = 0; i < out.size(); ++i) {
      std::int64_t coord = (out_index / os[i]) % out[i];
      if (i >= off && v.shape[i - off] != 1) idx += coord * vs[i - off];
    }
    return v.v[static_cast<std::size_t>(idx)];
  }

  Value nary(const std::vector<const Value*>& in, int out_dtype,
             const std::function<long double(const std::vector<long double>&)>& f) const {
    Dims shape = in[0]->shape;
    for (std::size_t i = 1; i < in.size(); ++i) shape = broadcast(shape, in[i]->shape);
    Value out{out_dtype, shape, {}};
    const std::int64_t n = bounded(count(shape));
    std::vector<long double> args(in.size());
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::size_t k = 0; k < in.size(); ++k) args[k] = at_broadcast(*in[k], shape, i);
      out.v.push_back(cast_to(out_dtype, f(args)));
    }
    return out;
  }

  Value gather(const Value& data, const Value& indices) const {
    if (data.shape.empty()) fail("Gather on a scalar");
    const std::int64_t axis = norm_axis(attr_int("axis", 0), data.shape.size());
    Dims shape(data.shape.begin(), data.shape.begin() + axis);
    shape.insert(shape.end(), indices.shape.begin(), indices.shape.end());
    shape.insert(shape.end(), data.shape.begin() + axis + 1, data.shape.end());
    std::int64_t outer = 1, inner = 1;
    for (std::int64_t i = 0; i < axis; ++i) outer *= data.shape[i];
    for (std::size_t i = axis + 1; i < data.shape.size(); ++i) inner *= data.shape[i];
    const std::int64_t dim = data.shape[axis];
    bounded(count(shape));
    Value out{data.dtype, shape, {}};
    for (std::int64_t o = 0; o < outer; ++o) {
      for (long double raw : indices.v) {
        auto k = static_cast<std::int64_t>(raw);
        if (k < 0) k += dim;
        if (k < 0 || k >= dim) fail("Gather index " + std::to_string(static_cast<std::int64_t>(raw)) + " out of range");
        for (std::int64_t i = 0; i < inner; ++i) out.v.push_back(data.v[(o * dim + k) * inner + i]);
      }
    }
    return out;
  }

  Value slice(const Value& data, const Dims& starts, const Dims& ends, Dims axes, Dims steps) const {
    const std::size_t rank = data.shape.size();
    if (axes.empty()) for (std::size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
      fail("starts, ends, axes and steps differ in length");
    }
    Dims begin(rank, 0), step(rank, 1), shape = data.shape;
    for (std::size_t k = 0; k < starts.size(); ++k) {
      const std::int64_t a = norm_axis(axes[k], rank);
      const std::int64_t dim = data.shape[a];
      if (steps[k] == 0) fail("Slice step 0");
      // ONNX: negative indices count from the end; then starts clamp to [0, dim] going
      // forward and [0, dim-1] going backward, ends to [0, dim] and [-1, dim-1].
      auto clamp = [&](std::int64_t x, std::int64_t lo, std::int64_t hi) {
        if (x < 0) x = x < -dim ? -dim - 1 : x + dim;
        return std::clamp<std::int64_t>(x, lo, hi);
      };
      const bool fwd = steps[k] > 0;
      const std::int64_t s = fwd ? clamp(starts[k], 0, dim) : clamp(starts[k], 0, dim - 1);
      const std::int64_t e = fwd ? clamp(ends[k], 0, dim) : clamp(ends[k], -1, dim - 1);
      begin[a] = s;
      step[a] = steps[k];
      // Lengths in unsigned arithmetic: a step of INT64_MAX or INT64_MIN must not overflow.
      const std::uint64_t magnitude = fwd ? static_cast<std::uint64_t>(steps[k])
                                          : static_cast<std::uint64_t>(-(steps[k] + 1)) + 1;
      const std::int64_t span = fwd ? e - s : s - e;
      shape[a] = span > 0 ? static_cast<std::int64_t>((static_cast<std::uint64_t>(span) - 1) / magnitude + 1) : 0;
    }
    Value out{data.dtype, shape, {}};
    const std::int64_t n = bounded(count(shape));
    const Dims os = strides_of(shape), is = strides_of(data.shape);
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t src = 0;
      for (std::size_t d = 0; d < rank; ++d) src += (begin[d] + ((i / os[d]) % shape[d]) * step[d]) * is[d];
      out.v.push_back(data.v[static_cast<std::size_t>(src)]);
    }
    return out;
  }

  Value concat(const std::vector<const Value*>& in) const {
    const std::size_t rank = in[0]->shape.size();
    const std::int64_t axis = norm_axis(attr_int("axis", 0), rank);
    Dims shape = in[0]->shape;
    shape[axis] = 0;
    for (const Value* v : in) {
      if (v->shape.size() != rank) fail("Concat inputs differ in rank");
      shape[axis] += v->shape[axis];
    }
    bounded(count(shape));
    std::int64_t outer = 1;
    for (std::int64_t i = 0; i < axis; ++i) outer *= shape[i];
    Value out{in[0]->dtype, shape, {}};
    for (std::int64_t o = 0; o < outer; ++o) {
      for (const Value* v : in) {
        const std::int64_t chunk = count(v->shape) / std::max<std::int64_t>(outer, 1);
        for (std::int64_t i = 0; i < chunk; ++i) out.v.push_back(v->v[o * chunk + i]);
      }
    }
    return out;
  }

  Dims axes_from(const std::vector<const Value*>& in, std::size_t input_index) const {
    if (auto a = attr_ints("axes")) return *a;
    if (in.size() > input_index && in[input_index]) return ints_of(*in[input_index]);
    return {};
  }

  Value reduce(const Value& data, const std::vector<const Value*>& in, bool axes_as_input) const {
    const std::size_t rank = data.shape.size();
    Dims axes = axes_as_input ? axes_from(in, 1) : attr_ints("axes").value_or(Dims{});
    std::vector<bool> reduced(rank, axes.empty() && !(axes_as_input && attr_int("noop_with_empty_axes", 0)));
    for (auto a : axes) reduced[norm_axis(a, rank)] = true;
    const bool keep = attr_int("keepdims", 1) != 0;
    Dims shape, kept_shape;
    for (std::size_t i = 0; i < rank; ++i) {
      kept_shape.push_back(reduced[i] ? 1 : data.shape[i]);
      if (!reduced[i] || keep) shape.push_back(reduced[i] ? 1 : data.shape[i]);
    }
    const std::string& t = node_.op_type();
    const long double init = t == "ReduceProd" ? 1 : t == "ReduceMin" ? INFINITY : t == "ReduceMax" ? -INFINITY : 0;
    std::vector<long double> acc(static_cast<std::size_t>(count(kept_shape)), init);
    const Dims ds = strides_of(data.shape), ks = strides_of(kept_shape);
    for (std::size_t i = 0; i < data.v.size(); ++i) {
      std::int64_t dst = 0;
      for (std::size_t d = 0; d < rank; ++d) {
        if (!reduced[d]) dst += ((static_cast<std::int64_t>(i) / ds[d]) % data.shape[d]) * ks[d];
      }
      long double& a = acc[static_cast<std::size_t>(dst)];
      const long double x = data.v[i];
      if (t == "ReduceProd") a *= x;
      else if (t == "ReduceMin") a = std::min(a, x);
      else if (t == "ReduceMax") a = std::max(a, x);
      else a += x;
    }
    if (t == "ReduceMean") {
      const long double n = static_cast<long double>(data.v.size()) / static_cast<long double>(std::max<std::size_t>(acc.size(), 1));
      for (auto& a : acc) a /= n;
    }
    Value out{data.dtype, shape, {}};
    for (auto a : acc) out.v.push_back(cast_to(data.dtype, a));
    return out;
  }

  Value transpose(const Value& data) const {
    const std::size_t rank = data.shape.size();
    Dims perm = attr_ints("perm").value_or(Dims{});
    if (perm.empty()) for (std::size_t i = rank; i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
    if (perm.size() != rank) fail("perm has the wrong length");
    Dims shape(rank);
    for (std::size_t i = 0; i < rank; ++i) shape[i] = data.shape[norm_axis(perm[i], rank)];
    const Dims os = strides_of(shape), is = strides_of(data.shape);
    Value out{data.dtype, shape, {}};
    for (std::size_t i = 0; i < data.v.size(); ++i) {
      std::int64_t src = 0;
      for (std::size_t d = 0; d < rank; ++d) src += ((static_cast<std::int64_t>(i) / os[d]) % shape[d]) * is[perm[d]];
      out.v.push_back(data.v[static_cast<std::size_t>(src)]);
    }
    return out;
  }

  // Evaluates the node; nullopt when it is not one we fold.
  std::optional<Value> eval(const std::vector<const Value*>& in, const Dims* static_input_shape, int out_dtype) const {
    const std::string& t = node_.op_type();
    auto need = [&](std::size_t k) {
      if (in.size() < k) fail("expects " + std::to_string(k) + " inputs");
      for (std::size_t i = 0; i < k; ++i) if (!in[i]) fail("missing required input " + std::to_string(i));
    };
    auto binary = [&](auto f, int dtype) {
      need(2);
      return nary({in[0], in[1]}, dtype, [&](const std::vector<long double>& a) { return f(a[0], a[1]); });
    };
    auto unary = [&](auto f) {
      need(1);
      return nary({in[0]}, in[0]->dtype, [&](const std::vector<long double>& a) { return f(a[0]); });
    };
    const int boolean = TensorProto::BOOL;
    if (t == "Shape" || t == "Size") {
      const Dims& s = *static_input_shape;
      if (t == "Size") {
        std::int64_t n = 1;
        for (auto d : s) {
          if (__builtin_mul_overflow(n, d, &n)) fail("element count overflows 64 bits");
        }
        return Value{TensorProto::INT64, {}, {static_cast<long double>(n)}};
      }
      const auto rank = static_cast<std::int64_t>(s.size());
      auto clampi = [&](std::int64_t x) { return std::clamp<std::int64_t>(x < 0 ? x + rank : x, 0, rank); };
      const std::int64_t b = clampi(attr_int("start", 0)), e = clampi(attr_int("end", rank));
      Value out{TensorProto::INT64, {std::max<std::int64_t>(0, e - b)}, {}};
      for (std::int64_t i = b; i < e; ++i) out.v.push_back(static_cast<long double>(s[i]));
      return out;
    }
    if (t == "Identity") { need(1); return *in[0]; }
    if (t == "Cast") {
      need(1);
      Value out = *in[0];
      out.dtype = static_cast<int>(attr_int("to", TensorProto::UNDEFINED));
      if (!is_foldable_dtype(out.dtype)) return std::nullopt;
      for (auto& x : out.v) x = cast_to(out.dtype, x);
      return out;
    }
    if (t == "Reshape" || t == "Unsqueeze" || t == "Squeeze" || t == "Flatten") {
      need(1);
      Value out = *in[0];
      if (out_shape_.has_value()) {
        out.shape = *out_shape_;
        if (count(out.shape) != static_cast<std::int64_t>(out.v.size())) fail("element count changes");
        return out;
      }
      return std::nullopt;
    }
    if (t == "Gather") { need(2); return gather(*in[0], *in[1]); }
    if (t == "Concat") {
      for (const Value* v : in) if (!v) fail("missing input");
      return concat(in);
    }
    if (t == "Slice") {
      need(3);
      Dims axes = in.size() > 3 && in[3] ? ints_of(*in[3]) : Dims{};
      Dims steps = in.size() > 4 && in[4] ? ints_of(*in[4]) : Dims{};
      return slice(*in[0], ints_of(*in[1]), ints_of(*in[2]), axes, steps);
    }
    if (t == "Transpose") { need(1); return transpose(*in[0]); }
    // ReduceSum's axes became an input in opset 13; an attribute, when present, wins.
    if (t == "ReduceSum") return reduce((need(1), *in[0]), in, true);
    if (t == "ReduceProd" || t == "ReduceMin" || t == "ReduceMax" || t == "ReduceMean") {
      need(1);
      return reduce(*in[0], in, false);
    }
    const int same = in.empty() || !in[0] ? TensorProto::UNDEFINED : in[0]->dtype;
    if (t == "Add") return binary([](long double a, long double b) { return a + b; }, same);
    if (t == "Sub") return binary([](long double a, long double b) { return a - b; }, same);
    if (t == "Mul") return binary([](long double a, long double b) { return a * b; }, same);
    if (t == "Div") {
      need(2);
      if (is_integer(same)) {
        for (auto x : in[1]->v) if (x == 0) fail("integer division by zero");
      }
      return binary([](long double a, long double b) { return a / b; }, same);
    }
    if (t == "Mod") {
      need(2);
      for (auto x : in[1]->v) if (x == 0) fail("modulo by zero");
      const bool fmod = attr_int("fmod", 0) != 0;
      return binary([fmod](long double a, long double b) {
        long double r = std::fmod(a, b);
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
      }, same);
    }
    if (t == "Pow") return binary([](long double a, long double b) { return std::pow(a, b); }, same);
    if (t == "Max" || t == "Min") {  // variadic
      need(1);
      for (const Value* v : in) if (!v) fail("missing input");
      const bool is_max = t == "Max";
      return nary(in, same, [is_max](const std::vector<long double>& a) {
        long double r = a[0];
        for (long double x : a) r = is_max ? std::max(r, x) : std::min(r, x);
        return r;
      });
    }
    if (t == "Equal") return binary([](long double a, long double b) { return a == b ? 1.0L : 0.0L; }, boolean);
    if (t == "Less") return binary([](long double a, long double b) { return a < b ? 1.0L : 0.0L; }, boolean);
    if (t == "Greater") return binary([](long double a, long double b) { return a > b ? 1.0L : 0.0L; }, boolean);
    if (t == "LessOrEqual") return binary([](long double a, long double b) { return a <= b ? 1.0L : 0.0L; }, boolean);
    if (t == "GreaterOrEqual") return binary([](long double a, long double b) { return a >= b ? 1.0L : 0.0L; }, boolean);
    if (t == "And") return binary([](long double a, long double b) { return (a != 0 && b != 0) ? 1.0L : 0.0L; }, boolean);
    if (t == "Or") return binary([](long double a, long double b) { return (a != 0 || b != 0) ? 1.0L : 0.0L; }, boolean);
    if (t == "Not") return unary([](long double a) { return a == 0 ? 1.0L : 0.0L; });
    if (t == "Neg") return unary([](long double a) { return -a; });
    if (t == "Abs") return unary([](long double a) { return std::fabs(a); });
    if (t == "Floor") return unary([](long double a) { return std::floor(a); });
    if (t == "Ceil") return unary([](long double a) { return std::ceil(a); });
    if (t == "Sqrt") return unary([](long double a) { return std::sqrt(a); });
    if (t == "Where") {
      need(3);
      return nary({in[0], in[1], in[2]}, in[1]->dtype,
                  [](const std::vector<long double>& a) { return a[0] != 0 ? a[1] : a[2]; });
    }
    if (t == "Expand") {
      need(2);
      const Dims target = ints_of(*in[1]);
      for (auto d : target) if (d < 0) fail("negative dimension in the target shape");
      const Dims shape = broadcast(in[0]->shape, target);
      const std::int64_t n = bounded(count(shape));
      Value out{in[0]->dtype, shape, {}};
      for (std::int64_t i = 0; i < n; ++i) out.v.push_back(at_broadcast(*in[0], shape, i));
      return out;
    }
    if (t == "Range") {
      need(3);
      const long double start = in[0]->v.at(0), limit = in[1]->v.at(0), delta = in[2]->v.at(0);
      if (delta == 0) fail("Range with delta 0");
      const long double steps = std::max<long double>(0, std::ceil((limit - start) / delta));
      if (steps > kMaxFoldElements) throw TooLargeToFold{};
      Value out{in[0]->dtype, {static_cast<std::int64_t>(steps)}, {}};
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(steps); ++i) out.v.push_back(start + i * delta);
      return out;
    }
    if (t == "ConstantOfShape") {
      need(1);
      Value out{TensorProto::FLOAT, ints_of(*in[0]), {}};
      long double fill = 0;
      if (const auto* a = attr("value")) {
        auto v = read(a->t(), 1);
        if (!v || v->v.size() != 1) fail("'value' must be a one-element tensor of a numeric type");
        out.dtype = v->dtype;
        fill = v->v[0];
      }
      const std::int64_t n = count(out.shape);
      if (n < 0) fail("negative dimension");
      bounded(n, kMaxConstantOfShapeElements);
      out.v.assign(static_cast<std::size_t>(n), fill);
      return out;
    }
    (void)out_dtype;
    return std::nullopt;
  }

  void set_out_shape(std::optional<Dims> s) { out_shape_ = std::move(s); }

 private:
  const onnx::NodeProto& node_;
  const std::string& origin_;
  std::optional<Dims> out_shape_;
};

std::optional<Dims> static_shape(const onnx::TypeProto* type) {
  if (!type || !type->has_tensor_type() || !type->tensor_type().has_shape()) return std::nullopt;
  Dims d;
  for (const auto& dim : type->tensor_type().shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0) return std::nullopt;
    d.push_back(dim.dim_value());
  }
  return d;
}

std::optional<Value> constant_node_value(const onnx::NodeProto& node) {
  for (const auto& a : node.attribute()) {
    if (a.name() == "value") {
      auto v = read(a.t(), INT64_MAX);
      return v;
    }
    if (a.name() == "value_float") return Value{TensorProto::FLOAT, {}, {a.f()}};
    if (a.name() == "value_int") return Value{TensorProto::INT64, {}, {static_cast<long double>(a.i())}};
    if (a.name() == "value_floats") {
      Value v{TensorProto::FLOAT, {a.floats_size()}, {}};
      for (float f : a.floats()) v.v.push_back(f);
      return v;
    }
    if (a.name() == "value_ints") {
      Value v{TensorProto::INT64, {a.ints_size()}, {}};
      for (auto i : a.ints()) v.v.push_back(static_cast<long double>(i));
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& fold_only_types() {
  static const std::vector<std::string> k{"And", "Ceil", "Constant", "ConstantOfShape", "Floor", "Mod",
                                          "Or", "Range", "ReduceProd", "Shape", "Size"};
  return k;
}

namespace {

const std::unordered_set<std::string>& fold_only() {
  static const std::unordered_set<std::string> k(fold_only_types().begin(), fold_only_types().end());
  return k;
}

}  // namespace

bool is_fold_only_type(const std::string& op_type) { return fold_only().count(op_type) != 0; }

namespace {

bool is_parameter_like(const TensorProto& t) {
  if (t.data_type() != TensorProto::FLOAT && t.data_type() != TensorProto::DOUBLE &&
      t.data_type() != TensorProto::FLOAT16 && t.data_type() != TensorProto::BFLOAT16) {
    return false;
  }
  return count(Dims(t.dims().begin(), t.dims().end())) > 1;
}

}  // namespace

FoldState initial_fold_state(const onnx::GraphProto& graph) {
  FoldState state;
  for (const auto& init : graph.initializer()) {
    if (is_parameter_like(init)) state.parameters.insert(init.name());
  }
  return state;
}

int fold_constants(onnx::GraphProto& graph, const TypeMap& types, const std::string& origin, FoldState& state) {
  std::unordered_map<std::string, Value> constants;
  std::unordered_map<std::string, const TensorProto*> initializers;
  for (const auto& init : graph.initializer()) initializers.emplace(init.name(), &init);
  std::unordered_set<std::string> graph_outputs;
  for (const auto& o : graph.output()) graph_outputs.insert(o.name());

  auto lookup = [&](const std::string& name) -> const Value* {
    if (name.empty()) return nullptr;
    if (auto it = constants.find(name); it != constants.end()) return &it->second;
    if (auto it = initializers.find(name); it != initializers.end()) {
      if (auto v = read(*it->second, kMaxFoldElements)) return &constants.emplace(name, std::move(*v)).first->second;
    }
    return nullptr;
  };

  int folded = 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  std::vector<TensorProto> new_initializers;
  for (auto& node : *graph.mutable_node()) {
    const std::string& t = node.op_type();
    std::optional<Value> result;
    bool handled = false;
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      // custom domains are rejected elsewhere; never evaluate them
    } else if (t == "Constant") {
      handled = true;
      if (node.output_size() != 1) throw Error(origin + ": node '" + node.name() + "' (Constant)", "must have one output");
      // Constants of any size become weights; a type we cannot evaluate is copied as is.
      for (const auto& a : node.attribute()) {
        if (a.name() == "sparse_value" || a.name() == "value_string" || a.name() == "value_strings") {
          throw Error(origin + ": node '" + node.name() + "' (Constant)", "attribute '" + a.name() + "' is not supported");
        }
      }
      const onnx::AttributeProto* tensor_attr = nullptr;
      for (const auto& a : node.attribute()) if (a.name() == "value") tensor_attr = &a;
      if (tensor_attr) {
        TensorProto tp = tensor_attr->t();
        tp.set_name(node.output(0));
        if (is_parameter_like(tp)) state.parameters.insert(tp.name());
        if (auto v = read(tp, kMaxFoldElements)) constants.emplace(node.output(0), std::move(*v));
        new_initializers.push_back(std::move(tp));
      } else if (auto v = constant_node_value(node)) {
        new_initializers.push_back(write(*v, node.output(0)));
        if (is_parameter_like(new_initializers.back())) state.parameters.insert(node.output(0));
        constants.emplace(node.output(0), std::move(*v));
      } else {
        throw Error(origin + ": node '" + node.name() + "' (Constant)", "has no value attribute");
      }
    } else {
      Folder folder(node, origin);
      std::vector<const Value*> in;
      bool all_constant = true;
      for (const auto& name : node.input()) {
        const Value* v = state.parameters.count(name) ? nullptr : lookup(name);
        if (!name.empty() && !v) all_constant = false;
        in.push_back(v);
      }
      std::optional<Dims> in_shape;
      if ((t == "Shape" || t == "Size") && node.input_size() == 1) {
        auto it = types.find(node.input(0));
        in_shape = static_shape(it == types.end() ? nullptr : it->second);
        if (auto init = initializers.find(node.input(0)); !in_shape && init != initializers.end()) {
          in_shape = Dims(init->second->dims().begin(), init->second->dims().end());  // IR >= 4: not an input
        }
      }
      const bool shape_op = (t == "Shape" || t == "Size") && in_shape.has_value();
      if (node.output_size() == 1 && (shape_op || (all_constant && t != "Shape" && t != "Size" && !in.empty()))) {
        auto out_type = types.find(node.output(0));
        folder.set_out_shape(static_shape(out_type == types.end() ? nullptr : out_type->second));
        const int out_dtype = out_type == types.end() ? 0 : out_type->second->tensor_type().elem_type();
        try {
          result = folder.eval(in, in_shape ? &*in_shape : nullptr, out_dtype);
        } catch (const TooLargeToFold&) {
          result.reset();
        }
        if (result) {
          handled = true;
          state.derived.insert(node.output(0));
          new_initializers.push_back(write(*result, node.output(0)));
          constants.emplace(node.output(0), std::move(*result));
        }
      }
    }
    if (handled) {
      ++folded;
      if (graph_outputs.count(node.output(0))) {
        // A graph output that is a constant would lose its producer; keep it computed.
        --folded;
        new_initializers.pop_back();
        *kept.Add() = std::move(node);
      }
    } else {
      *kept.Add() = std::move(node);
    }
  }
  graph.mutable_node()->Swap(&kept);  // every node was moved into `kept`
  if (folded == 0) return 0;
  for (auto& t : new_initializers) {
    if (graph_outputs.count(t.name())) continue;
    *graph.add_initializer() = std::move(t);
  }
  // Value infos of folded tensors now describe initializers; drop them so that a later
  // shape-inference pass cannot disagree with the constant.
  std::unordered_set<std::string> init_names;
  for (const auto& init : graph.initializer()) init_names.insert(init.name());
  auto* vi = graph.mutable_value_info();
  vi->erase(std::remove_if(vi->begin(), vi->end(), [&](const onnx::ValueInfoProto& v) { return init_names.count(v.name()) != 0; }),
            vi->end());
  return folded;
}

}  // namespace sparoa::graph::detail
