// Elementwise own kernels: binary arithmetic and comparisons with numpy broadcasting, the
// variadic Max/Min, Pow, PRelu, Where, Not, the activations and Clip. oneDNN runs the float32
// cases it can express; these run everything else (other element types, broadcasts oneDNN's
// binary primitive refuses, operators it lacks).
#include <cmath>

#include "hw/cpu/own_common.hpp"

namespace sparoa::hw::own {
namespace {

// ---- binary operations on the arithmetic type V -------------------------------------------

struct AddOp {
  template <class V> V operator()(V a, V b) const {
    if constexpr (std::is_integral_v<V>) return V(Wide<V>(a) + Wide<V>(b));
    else return a + b;
  }
};
struct SubOp {
  template <class V> V operator()(V a, V b) const {
    if constexpr (std::is_integral_v<V>) return V(Wide<V>(a) - Wide<V>(b));
    else return a - b;
  }
};
struct MulOp {
  template <class V> V operator()(V a, V b) const {
    if constexpr (std::is_integral_v<V>) return V(Wide<V>(a) * Wide<V>(b));
    else return a * b;
  }
};
struct DivOp {
  template <class V> V operator()(V a, V b) const {
    if constexpr (std::is_integral_v<V>) {
      // Integer division truncates toward zero (ONNX follows C). Division by zero is
      // undefined in ONNX and traps in C++: give 0. MIN / -1 overflows: wrap.
      if (b == 0) return V(0);
      if constexpr (std::is_signed_v<V>) {
        if (b == V(-1)) return V(Wide<V>(0) - Wide<V>(a));
      }
      return V(a / b);
    } else {
      return a / b;
    }
  }
};
// numpy's maximum/minimum: a NaN operand wins.
struct MaxOp {
  template <class V> V operator()(V a, V b) const {
    if constexpr (std::is_floating_point_v<V>) {
      if (a != a) return a;
      if (b != b) return b;
    }
    return a < b ? b : a;
  }
};
struct MinOp {
  template <class V> V operator()(V a, V b) const {
    if constexpr (std::is_floating_point_v<V>) {
      if (a != a) return a;
      if (b != b) return b;
    }
    return b < a ? b : a;
  }
};
struct PReluOp {
  template <class V> V operator()(V x, V slope) const { return x < V(0) ? MulOp{}(slope, x) : x; }
};
struct EqualOp {
  template <class V> bool operator()(V a, V b) const { return a == b; }
};
struct GreaterOp {
  template <class V> bool operator()(V a, V b) const { return a > b; }
};
struct GreaterOrEqualOp {
  template <class V> bool operator()(V a, V b) const { return a >= b; }
};
struct LessOp {
  template <class V> bool operator()(V a, V b) const { return a < b; }
};
struct LessOrEqualOp {
  template <class V> bool operator()(V a, V b) const { return a <= b; }
};
// Bools compared as bytes: any non-zero byte is true.
struct BoolEqualOp {
  bool operator()(std::uint8_t a, std::uint8_t b) const { return (a != 0) == (b != 0); }
};

using BinaryFn = void (*)(const Walk&, const void*, const void*, void*);

// out = op(a, b) over a two-operand walk; R is T for arithmetic, bool for comparisons. The
// last dimension's strides are 1 or 0 (broadcast), so each row is one of four plain loops.
template <class T, class R, class Op> void binary_loop(const Walk& w, const void* pa, const void* pb, void* pout) {
  const T* a = static_cast<const T*>(pa);
  const T* b = static_cast<const T*>(pb);
  R* out = static_cast<R*>(pout);
  const auto f = [](T x, T y) -> R {
    if constexpr (std::is_same_v<R, bool>) {
      return Op{}(Num<T>::load(x), Num<T>::load(y));
    } else {
      return Num<T>::store(Op{}(Num<T>::load(x), Num<T>::load(y)));
    }
  };
  const bool ca = w.inner[0] != 0, cb = w.inner[1] != 0;
  w.for_each_span([&](std::int64_t o, const std::array<std::int64_t, Walk::kOperands>& at, std::int64_t n) {
    const T* x = a + at[0];
    const T* y = b + at[1];
    R* z = out + o;
    if (ca && cb) {
      for (std::int64_t i = 0; i < n; ++i) z[i] = f(x[i], y[i]);
    } else if (ca) {
      const T yv = y[0];
      for (std::int64_t i = 0; i < n; ++i) z[i] = f(x[i], yv);
    } else if (cb) {
      const T xv = x[0];
      for (std::int64_t i = 0; i < n; ++i) z[i] = f(xv, y[i]);
    } else {
      std::fill(z, z + n, f(x[0], y[0]));
    }
  });
}

template <class Op, class TypeList> BinaryFn arithmetic_fn(DType t, TypeList types) {
  BinaryFn fn = nullptr;
  dispatch(t, types, [&](auto tag) {
    using T = typename decltype(tag)::type;
    fn = &binary_loop<T, T, Op>;
  });
  return fn;
}

template <class Op> BinaryFn comparison_fn(DType t) {
  BinaryFn fn = nullptr;
  dispatch(t, NumericTypes{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    fn = &binary_loop<T, bool, Op>;
  });
  return fn;
}

std::string dtype_list(const KernelContext& ctx) {
  std::string s;
  for (const auto& name : ctx.group.inputs) {
    if (!s.empty()) s += ", ";
    s += name.empty() ? "-" : std::string(graph::dtype_name(ctx.graph->tensor(name).dtype));
  }
  return s;
}

// Add, Sub, Mul, Div, the comparisons, PRelu and the variadic Max/Min: a chain of binary
// steps, the first over inputs 0 and 1, each further one folding input k into the output.
class BinaryKernel final : public OwnKernel {
 public:
  BinaryKernel(const KernelContext& ctx, BinaryFn fn) : OwnKernel(ctx, own_name(ctx.root().type)), fn_(fn) {
    const Shape& out = out_shapes_.at(0);
    if (in_shapes_.size() == 1) {
      // Max/Min of one tensor: a copy (broadcast to the output shape, which is its own).
      steps_.push_back(broadcast_walk(out, {in_shapes_[0]}, where_));
      return;
    }
    steps_.push_back(broadcast_walk(out, {in_shapes_[0], in_shapes_[1]}, where_));
    for (std::size_t k = 2; k < in_shapes_.size(); ++k) steps_.push_back(broadcast_walk(out, {out, in_shapes_[k]}, where_));
  }

  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (in.size() == 1) {
      strided_copy(steps_[0], in[0].data, out[0].data, graph::dtype_size(in[0].dtype));
      return;
    }
    fn_(steps_[0], in[0].data, in[1].data, out[0].data);
    for (std::size_t k = 2; k < in.size(); ++k) fn_(steps_[k - 1], out[0].data, in[k].data, out[0].data);
  }

 private:
  BinaryFn fn_;
  std::vector<Walk> steps_;
};

// ---- Pow --------------------------------------------------------------------------------

template <class V> V integer_pow(V base, std::int64_t e) {
  if (e < 0) {
    // Truncated 1 / base^|e|: only |base| == 1 survives.
    if (base == V(1)) return V(1);
    if constexpr (std::is_signed_v<V>) {
      if (base == V(-1)) return (e % 2 == 0) ? V(1) : V(-1);
    }
    return V(0);
  }
  Wide<V> result = 1, b = Wide<V>(base);
  for (auto u = std::uint64_t(e); u != 0; u >>= 1) {
    if (u & 1) result = Wide<V>(result * b);
    b = Wide<V>(b * b);
  }
  return V(result);
}

using PowFn = void (*)(const Walk&, const void*, const void*, void*);

// Base and exponent of the same floating type: pow in that type (numpy does the same).
template <class T> void pow_same(const Walk& w, const void* pa, const void* pb, void* pout) {
  using V = typename Num<T>::V;
  const T* a = static_cast<const T*>(pa);
  const T* b = static_cast<const T*>(pb);
  T* out = static_cast<T*>(pout);
  w.for_each_span([&](std::int64_t o, const std::array<std::int64_t, Walk::kOperands>& at, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      const V x = Num<T>::load(a[at[0] + i * w.inner[0]]), y = Num<T>::load(b[at[1] + i * w.inner[1]]);
      out[o + i] = Num<T>::store(y == V(2) ? x * x : std::pow(x, y));
    }
  });
}

// Mixed types: numpy promotes (to double when a float is involved) and ONNX casts the result
// back to the base type; two integers stay integers.
template <class T, class E> void pow_mixed(const Walk& w, const void* pa, const void* pb, void* pout) {
  const T* a = static_cast<const T*>(pa);
  const E* b = static_cast<const E*>(pb);
  T* out = static_cast<T*>(pout);
  w.for_each_span([&](std::int64_t o, const std::array<std::int64_t, Walk::kOperands>& at, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      const T x = a[at[0] + i * w.inner[0]];
      const E y = b[at[1] + i * w.inner[1]];
      if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
        std::int64_t e;
        if constexpr (std::is_unsigned_v<E> && sizeof(E) == 8) {
          e = y > std::uint64_t(INT64_MAX) ? INT64_MAX : std::int64_t(y);
        } else {
          e = std::int64_t(y);
        }
        out[o + i] = integer_pow<T>(x, e);
      } else {
        out[o + i] = convert_from_double<T>(std::pow(double(Num<T>::load(x)), double(Num<E>::load(y))));
      }
    }
  });
}

PowFn pow_fn(DType base, DType exponent) {
  PowFn fn = nullptr;
  dispatch(base, NumericTypes{}, [&](auto bt) {
    using T = typename decltype(bt)::type;
    if constexpr (!std::is_integral_v<T>) {
      if (base == exponent) {
        fn = &pow_same<T>;
        return;
      }
    }
    dispatch(exponent, NumericTypes{}, [&](auto et) {
      using E = typename decltype(et)::type;
      fn = &pow_mixed<T, E>;
    });
  });
  return fn;
}

class PowKernel final : public OwnKernel {
 public:
  PowKernel(const KernelContext& ctx, PowFn fn) : OwnKernel(ctx, "own:pow"), fn_(fn) {
    walk_ = broadcast_walk(out_shapes_.at(0), {in_shapes_.at(0), in_shapes_.at(1)}, where_);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    fn_(walk_, in[0].data, in[1].data, out[0].data);
  }

 private:
  PowFn fn_;
  Walk walk_;
};

// ---- Where, Not -------------------------------------------------------------------------

template <class U> void where_loop(const Walk& w, const std::uint8_t* cond, const U* x, const U* y, U* out) {
  const std::int64_t sc = w.inner[0], sx = w.inner[1], sy = w.inner[2];
  w.for_each_span([&](std::int64_t o, const std::array<std::int64_t, Walk::kOperands>& at, std::int64_t n) {
    const std::uint8_t* c = cond + at[0];
    const U* a = x + at[1];
    const U* b = y + at[2];
    U* z = out + o;
    if (sc == 1 && sx == 1 && sy == 1) {
      for (std::int64_t i = 0; i < n; ++i) z[i] = c[i] != 0 ? a[i] : b[i];
    } else {
      for (std::int64_t i = 0; i < n; ++i) z[i] = c[i * sc] != 0 ? a[i * sx] : b[i * sy];
    }
  });
}

class WhereKernel final : public OwnKernel {
 public:
  explicit WhereKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:where") {
    if (in_types_.size() != 3) throw Error(where_, "Where needs 3 inputs");
    if (in_types_[0] != DType::boolean) throw Error(where_, "the condition must be bool");
    if (in_types_[1] != in_types_[2] || out_types_.at(0) != in_types_[1]) {
      throw Error(where_, "X, Y and the output must have one element type");
    }
    walk_ = broadcast_walk(out_shapes_.at(0), {in_shapes_[0], in_shapes_[1], in_shapes_[2]}, where_);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const auto* cond = static_cast<const std::uint8_t*>(in[0].data);
    const bool ok = dispatch_size(graph::dtype_size(in[1].dtype), [&](auto tag) {
      using U = typename decltype(tag)::type;
      where_loop<U>(walk_, cond, static_cast<const U*>(in[1].data), static_cast<const U*>(in[2].data),
                    static_cast<U*>(out[0].data));
    });
    if (!ok) throw Error(where_, "unsupported element type " + std::string(graph::dtype_name(in[1].dtype)));
  }

 private:
  Walk walk_;
};

class NotKernel final : public OwnKernel {
 public:
  explicit NotKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:not") {}
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const auto* x = static_cast<const std::uint8_t*>(in[0].data);
    auto* y = static_cast<std::uint8_t*>(out[0].data);
    const std::int64_t n = in[0].elements();
    parallel_ranges(n, n >= kParallelElements, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) y[i] = x[i] == 0 ? 1 : 0;
    });
  }
};

// ---- unary ------------------------------------------------------------------------------

using UnaryFn = void (*)(const EltwiseParams&, const void*, void*, std::int64_t);

template <class T, class F> void map_unary(const T* x, T* y, std::int64_t n, F f) {
  parallel_ranges(n, n >= kParallelElements, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) y[i] = Num<T>::store(f(Num<T>::load(x[i])));
  });
}

// The activations in the arithmetic type V. For float32 these are apply_eltwise's formulas
// (fusion.cpp) written out per algorithm, so that each loop is branch-free; a test checks
// that both give the same bits.
template <class T> void float_unary(const EltwiseParams& p, const void* px, void* py, std::int64_t n) {
  using V = typename Num<T>::V;
  const T* x = static_cast<const T*>(px);
  T* y = static_cast<T*>(py);
  const V alpha = V(p.alpha), beta = V(p.beta), zero = V(0), one = V(1);
  switch (p.alg) {
    case EltwiseAlg::relu: return map_unary(x, y, n, [=](V v) { return v > zero ? v : zero; });
    case EltwiseAlg::leaky_relu: return map_unary(x, y, n, [=](V v) { return v >= zero ? v : alpha * v; });
    case EltwiseAlg::clip: return map_unary(x, y, n, [=](V v) { return std::min(std::max(v, alpha), beta); });
    case EltwiseAlg::sigmoid: return map_unary(x, y, n, [=](V v) { return one / (one + std::exp(-v)); });
    case EltwiseAlg::tanh: return map_unary(x, y, n, [](V v) { return std::tanh(v); });
    case EltwiseAlg::hard_sigmoid:
      return map_unary(x, y, n, [=](V v) { return std::max(zero, std::min(one, alpha * v + beta)); });
    case EltwiseAlg::hard_swish:
      return map_unary(x, y, n, [=](V v) { return v * std::max(zero, std::min(one, v / V(6) + V(0.5))); });
    case EltwiseAlg::exp: return map_unary(x, y, n, [](V v) { return std::exp(v); });
    case EltwiseAlg::abs: return map_unary(x, y, n, [](V v) { return std::fabs(v); });
    case EltwiseAlg::sqrt: return map_unary(x, y, n, [](V v) { return std::sqrt(v); });
    case EltwiseAlg::log: return map_unary(x, y, n, [](V v) { return std::log(v); });
    case EltwiseAlg::neg: return map_unary(x, y, n, [](V v) { return -v; });
    case EltwiseAlg::reciprocal: return map_unary(x, y, n, [=](V v) { return one / v; });
    case EltwiseAlg::erf: return map_unary(x, y, n, [](V v) { return std::erf(v); });
  }
}

// Integer Abs, Neg and Relu (the others have no integer version in ONNX).
template <class T> void integer_unary(const EltwiseParams& p, const void* px, void* py, std::int64_t n) {
  const T* x = static_cast<const T*>(px);
  T* y = static_cast<T*>(py);
  switch (p.alg) {
    case EltwiseAlg::relu: return map_unary(x, y, n, [](T v) { return v > T(0) ? v : T(0); });
    case EltwiseAlg::abs:
      return map_unary(x, y, n, [](T v) {
        if constexpr (std::is_signed_v<T>) return v < T(0) ? T(Wide<T>(0) - Wide<T>(v)) : v;
        else return v;
      });
    case EltwiseAlg::neg: return map_unary(x, y, n, [](T v) { return T(Wide<T>(0) - Wide<T>(v)); });
    default: return;
  }
}

class UnaryKernel final : public OwnKernel {
 public:
  UnaryKernel(const KernelContext& ctx, EltwiseParams p, UnaryFn fn)
      : OwnKernel(ctx, own_name(ctx.root().type)), params_(p), fn_(fn) {}
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    fn_(params_, in[0].data, out[0].data, in[0].elements());
  }

 private:
  EltwiseParams params_;
  UnaryFn fn_;
};

// ---- Clip -------------------------------------------------------------------------------

using ClipFn = void (*)(const void* x, const void* lo, const void* hi, double attr_lo, double attr_hi, void* y,
                        std::int64_t n);

// Bounds come from the optional inputs (opset >= 11; constant or computed at run time) or,
// in older models, from the attributes; a missing bound is the type's extreme.
template <class T> void clip_loop(const void* px, const void* plo, const void* phi, double attr_lo, double attr_hi,
                                  void* py, std::int64_t n) {
  using V = typename Num<T>::V;
  const V lo = plo ? Num<T>::load(*static_cast<const T*>(plo)) : Num<T>::load(convert_from_double<T>(attr_lo));
  const V hi = phi ? Num<T>::load(*static_cast<const T*>(phi)) : Num<T>::load(convert_from_double<T>(attr_hi));
  map_unary(static_cast<const T*>(px), static_cast<T*>(py), n, [=](V v) { return std::min(std::max(v, lo), hi); });
}

class ClipKernel final : public OwnKernel {
 public:
  ClipKernel(const KernelContext& ctx, ClipFn fn) : OwnKernel(ctx, "own:clip"), fn_(fn) {
    attr_lo_ = op().attr_float("min", -INFINITY);
    attr_hi_ = op().attr_float("max", INFINITY);
    for (std::size_t i = 1; i < in_types_.size() && i < 3; ++i) {
      if (in_types_[i] == DType::undefined) continue;
      if (in_types_[i] != in_types_[0] || graph::element_count(in_shapes_[i]) != 1) {
        throw Error(where_, "bound " + std::to_string(i) + " must be a scalar of the input's element type");
      }
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const void* lo = in.size() > 1 && in[1].present() ? in[1].data : nullptr;
    const void* hi = in.size() > 2 && in[2].present() ? in[2].data : nullptr;
    fn_(in[0].data, lo, hi, attr_lo_, attr_hi_, out[0].data, in[0].elements());
  }

 private:
  ClipFn fn_;
  double attr_lo_ = 0, attr_hi_ = 0;
};

}  // namespace

std::unique_ptr<CpuKernel> make_elementwise_kernel(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  const std::string& type = op.type;
  const std::string where = op_where(op);
  if (ctx.group.inputs.empty() || !has_input(ctx, 0) || ctx.group.outputs.empty()) {
    throw Error(where, "needs an input and an output");
  }
  const DType t = ctx.input_tensor(0).dtype;
  const DType out_t = ctx.graph->tensor(ctx.group.outputs[0]).dtype;
  auto unsupported = [&]() -> std::unique_ptr<CpuKernel> {
    throw Error(where, "the own CPU kernel does not support inputs of type (" + dtype_list(ctx) + ")");
  };
  auto same_input_types = [&](std::size_t first) {
    for (std::size_t i = first; i < ctx.group.inputs.size(); ++i) {
      if (!has_input(ctx, i) || ctx.input_tensor(i).dtype != t) {
        throw Error(where, "all inputs must have one element type, got (" + dtype_list(ctx) + ")");
      }
    }
  };

  if (type == "Add" || type == "Sub" || type == "Mul" || type == "Div" || type == "Max" || type == "Min" ||
      type == "PRelu") {
    same_input_types(0);
    if (out_t != t) throw Error(where, "the output's element type differs from the inputs'");
    if (type != "Max" && type != "Min" && ctx.group.inputs.size() != 2) throw Error(where, "needs 2 inputs");
    BinaryFn fn = nullptr;
    if (type == "Add") fn = arithmetic_fn<AddOp>(t, NumericTypes{});
    if (type == "Sub") fn = arithmetic_fn<SubOp>(t, NumericTypes{});
    if (type == "Mul") fn = arithmetic_fn<MulOp>(t, NumericTypes{});
    if (type == "Div") fn = arithmetic_fn<DivOp>(t, NumericTypes{});
    if (type == "Max") fn = arithmetic_fn<MaxOp>(t, NumericTypes{});
    if (type == "Min") fn = arithmetic_fn<MinOp>(t, NumericTypes{});
    if (type == "PRelu") fn = arithmetic_fn<PReluOp>(t, NumericTypes{});
    if (!fn) return unsupported();
    return std::make_unique<BinaryKernel>(ctx, fn);
  }
  if (type == "Equal" || type == "Greater" || type == "GreaterOrEqual" || type == "Less" || type == "LessOrEqual") {
    same_input_types(0);
    if (ctx.group.inputs.size() != 2) throw Error(where, "needs 2 inputs");
    if (out_t != DType::boolean) throw Error(where, "the output must be bool");
    BinaryFn fn = nullptr;
    if (type == "Equal") fn = t == DType::boolean ? &binary_loop<std::uint8_t, bool, BoolEqualOp> : comparison_fn<EqualOp>(t);
    if (type == "Greater") fn = comparison_fn<GreaterOp>(t);
    if (type == "GreaterOrEqual") fn = comparison_fn<GreaterOrEqualOp>(t);
    if (type == "Less") fn = comparison_fn<LessOp>(t);
    if (type == "LessOrEqual") fn = comparison_fn<LessOrEqualOp>(t);
    if (!fn) return unsupported();
    return std::make_unique<BinaryKernel>(ctx, fn);
  }
  if (type == "Pow") {
    if (ctx.group.inputs.size() != 2 || !has_input(ctx, 1)) throw Error(where, "needs 2 inputs");
    if (out_t != t) throw Error(where, "the output's element type differs from the base's");
    PowFn fn = pow_fn(t, ctx.input_tensor(1).dtype);
    if (!fn) return unsupported();
    return std::make_unique<PowKernel>(ctx, fn);
  }
  if (type == "Where") return std::make_unique<WhereKernel>(ctx);
  if (type == "Not") {
    if (t != DType::boolean || out_t != DType::boolean) return unsupported();
    return std::make_unique<NotKernel>(ctx);
  }
  if (out_t != t) throw Error(where, "the output's element type differs from the input's");
  if (type == "Clip") {
    ClipFn fn = nullptr;
    dispatch(t, NumericTypes{}, [&](auto tag) { fn = &clip_loop<typename decltype(tag)::type>; });
    if (!fn) return unsupported();
    return std::make_unique<ClipKernel>(ctx, fn);
  }
  const auto params = eltwise_of(*ctx.graph, op);
  if (!params) return nullptr;
  UnaryFn fn = nullptr;
  dispatch(t, FloatTypes{}, [&](auto tag) { fn = &float_unary<typename decltype(tag)::type>; });
  const EltwiseAlg alg = params->alg;
  if (!fn && (alg == EltwiseAlg::abs || alg == EltwiseAlg::neg || alg == EltwiseAlg::relu)) {
    dispatch(t, IntTypes{}, [&](auto tag) { fn = &integer_unary<typename decltype(tag)::type>; });
  }
  if (!fn) return unsupported();
  return std::make_unique<UnaryKernel>(ctx, *params, fn);
}

}  // namespace sparoa::hw::own
