// ReduceMean, ReduceSum, ReduceMax, ReduceMin over any set of axes. The input is viewed as
// alternating kept and reduced blocks (adjacent axes of the same kind merged); each output
// element is a reduction over the reduced blocks. When the last block is kept, a whole row of
// outputs accumulates at once so that the inner loop runs over contiguous memory.
#include <algorithm>
#include <cmath>
#include <limits>

#include "hw/cpu/own_common.hpp"

namespace sparoa::hw::own {
namespace {

enum class Reduction { sum, mean, max, min };

struct ReducePlan {
  // Kept dimensions above the inner kept row, with their input strides.
  std::vector<std::int64_t> kept_dims, kept_strides;
  // Reduced dimensions, with their input strides.
  std::vector<std::int64_t> red_dims, red_strides;
  std::int64_t inner = 1;    // contiguous kept elements per output row (1 when the last axis is reduced)
  std::int64_t outputs = 0;  // output elements
  std::int64_t count = 1;    // elements reduced into each output
};

ReducePlan make_plan(const Shape& in, const std::vector<bool>& reduced) {
  // Merge adjacent axes of the same kind; drop size-1 axes (they change nothing).
  std::vector<std::int64_t> dims;
  std::vector<bool> kinds;
  for (std::size_t d = 0; d < in.size(); ++d) {
    if (in[d] == 1) continue;
    if (!dims.empty() && kinds.back() == reduced[d]) {
      dims.back() *= in[d];
    } else {
      dims.push_back(in[d]);
      kinds.push_back(reduced[d]);
    }
  }
  ReducePlan p;
  std::vector<std::int64_t> strides(dims.size(), 1);
  for (std::size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  std::size_t end = dims.size();
  if (end > 0 && !kinds.back()) {
    p.inner = dims.back();
    --end;
  }
  for (std::size_t d = 0; d < end; ++d) {
    if (kinds[d]) {
      p.red_dims.push_back(dims[d]);
      p.red_strides.push_back(strides[d]);
      p.count *= dims[d];
    } else {
      p.kept_dims.push_back(dims[d]);
      p.kept_strides.push_back(strides[d]);
    }
  }
  p.outputs = p.inner;
  for (auto d : p.kept_dims) p.outputs *= d;
  return p;
}

template <class V, Reduction R> V combine(V a, V b) {
  if constexpr (R == Reduction::max) {
    if constexpr (std::is_floating_point_v<V>) {
      if (a != a || b != b) return std::numeric_limits<V>::quiet_NaN();
    }
    return a < b ? b : a;
  } else if constexpr (R == Reduction::min) {
    if constexpr (std::is_floating_point_v<V>) {
      if (a != a || b != b) return std::numeric_limits<V>::quiet_NaN();
    }
    return b < a ? b : a;
  } else {
    if constexpr (std::is_integral_v<V>) return V(Wide<V>(a) + Wide<V>(b));
    else return a + b;
  }
}

template <class V, Reduction R> V identity() {
  if constexpr (R == Reduction::max) {
    return std::numeric_limits<V>::has_infinity ? -std::numeric_limits<V>::infinity() : std::numeric_limits<V>::lowest();
  } else if constexpr (R == Reduction::min) {
    return std::numeric_limits<V>::has_infinity ? std::numeric_limits<V>::infinity() : std::numeric_limits<V>::max();
  } else {
    return V(0);
  }
}

// Floats accumulate in double (a long float sum would lose digits; max/min are exact either
// way), integers in their own type (wrapping). `scratch` holds inner accumulators per thread
// when they cannot live in the output itself.
template <class T, Reduction R> void reduce_loop(const ReducePlan& p, const void* pin, void* pout, double* scratch) {
  using A = std::conditional_t<std::is_integral_v<T>, T, double>;
  const T* in = static_cast<const T*>(pin);
  T* out = static_cast<T*>(pout);
  const std::int64_t rows = p.inner == 0 ? 0 : p.outputs / p.inner;
  const std::size_t nk = p.kept_dims.size(), nr = p.red_dims.size();
  const bool parallel = p.outputs * std::max<std::int64_t>(p.count, 1) >= kParallelElements;
  const auto load = [](T x) { return A(Num<T>::load(x)); };
  const auto finish = [&](A acc) -> T {
    if constexpr (R == Reduction::mean) {
      if constexpr (std::is_integral_v<A>) return p.count == 0 ? T(0) : T(acc / A(p.count));
      else return convert_from_double<T>(acc / double(p.count));
    } else if constexpr (std::is_integral_v<A>) {
      return acc;
    } else {
      return convert_from_double<T>(acc);
    }
  };
  // The innermost reduced block is contiguous when the last axis is reduced.
  const bool contiguous_tail = p.inner == 1 && nr > 0 && p.red_strides[nr - 1] == 1;
  const std::size_t odometer_dims = contiguous_tail ? nr - 1 : nr;
  const std::int64_t tail = contiguous_tail ? p.red_dims[nr - 1] : 1;
  parallel_ranges(rows, parallel, [&](std::int64_t r0, std::int64_t r1) {
    std::array<std::int64_t, kMaxRank> idx{};
    for (std::int64_t row = r0; row < r1; ++row) {
      T* dst = out + row * p.inner;
      A* acc;
      if constexpr (std::is_same_v<A, T>) {
        acc = dst;
      } else {
        acc = scratch + std::int64_t(omp_get_thread_num()) * p.inner;
      }
      std::int64_t base = 0;
      for (std::size_t d = nk, rest = std::size_t(row); d-- > 0;) {
        base += std::int64_t(rest % std::size_t(p.kept_dims[d])) * p.kept_strides[d];
        rest /= std::size_t(p.kept_dims[d]);
      }
      std::fill(acc, acc + p.inner, identity<A, R>());
      std::fill(idx.begin(), idx.begin() + std::ptrdiff_t(nr), 0);
      std::int64_t off = 0;
      while (p.count > 0) {
        const T* src = in + base + off;
        if (contiguous_tail) {
          // Four independent chains: one would wait on each add's latency.
          A a0 = acc[0], a1 = identity<A, R>(), a2 = a1, a3 = a1;
          std::int64_t i = 0;
          for (; i + 4 <= tail; i += 4) {
            a0 = combine<A, R>(a0, load(src[i]));
            a1 = combine<A, R>(a1, load(src[i + 1]));
            a2 = combine<A, R>(a2, load(src[i + 2]));
            a3 = combine<A, R>(a3, load(src[i + 3]));
          }
          for (; i < tail; ++i) a0 = combine<A, R>(a0, load(src[i]));
          acc[0] = combine<A, R>(combine<A, R>(a0, a1), combine<A, R>(a2, a3));
        } else {
          for (std::int64_t i = 0; i < p.inner; ++i) acc[i] = combine<A, R>(acc[i], load(src[i]));
        }
        std::size_t d = odometer_dims;
        for (; d-- > 0;) {
          off += p.red_strides[d];
          if (++idx[d] < p.red_dims[d]) break;
          off -= p.red_dims[d] * p.red_strides[d];
          idx[d] = 0;
        }
        if (d == std::size_t(-1)) break;  // every reduced index visited
      }
      for (std::int64_t i = 0; i < p.inner; ++i) dst[i] = finish(acc[i]);
    }
  });
}

using ReduceFn = void (*)(const ReducePlan&, const void*, void*, double*);

template <Reduction R> ReduceFn pick(DType t) {
  ReduceFn fn = nullptr;
  dispatch(t, NumericTypes{}, [&](auto tag) { fn = &reduce_loop<typename decltype(tag)::type, R>; });
  return fn;
}

class ReduceKernel final : public OwnKernel {
 public:
  ReduceKernel(const KernelContext& ctx, ReduceFn fn) : OwnKernel(ctx, own_name(ctx.root().type)), fn_(fn) {
    if (out_types_.at(0) != in_types_.at(0)) throw Error(where_, "the output's element type differs from the input's");
    keepdims_ = op().attr_int("keepdims", 1) != 0;
    noop_ = op().attr_int("noop_with_empty_axes", 0) != 0;
    if (op().has_attr("axes")) {
      plan(op().attr_ints("axes", {}));
    } else if (!has_input(ctx, 1)) {
      plan({});
    } else if (auto a = constant_input(ctx, 1)) {
      plan(read_ints(*a, where_, "axes"));
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (!planned_) plan(read_ints(in[1], where_, "axes"));
    if (copy_) {
      parallel_copy(out[0].data, in[0].data, in[0].size_bytes());
      return;
    }
    const std::size_t need = std::size_t(omp_get_max_threads()) * std::size_t(plan_.inner);
    if (scratch_.size() < need) scratch_.resize(need);  // only when the team grew
    fn_(plan_, in[0].data, out[0].data, scratch_.data());
  }

 private:
  void plan(const std::vector<std::int64_t>& axes) {
    const Shape& in = in_shapes_[0];
    const auto rank = std::int64_t(in.size());
    std::vector<bool> reduced(in.size(), axes.empty());
    if (axes.empty() && noop_) {
      copy_ = true;
    } else {
      for (auto a : axes) reduced[std::size_t(normalize_axis(a, rank, where_))] = true;
    }
    Shape out;
    for (std::size_t d = 0; d < in.size(); ++d) {
      if (!reduced[d] || copy_) out.push_back(in[d]);
      else if (keepdims_) out.push_back(1);
    }
    if (out != out_shapes_[0]) {
      throw Error(where_, "reducing gives " + graph::shape_string(out) + ", the graph promised " + graph::shape_string(out_shapes_[0]));
    }
    plan_ = make_plan(in, reduced);
    scratch_.resize(std::size_t(std::max(1, omp_get_max_threads())) * std::size_t(plan_.inner));
    planned_ = true;
  }

  ReduceFn fn_;
  ReducePlan plan_;
  std::vector<double> scratch_;
  bool keepdims_ = true, noop_ = false, planned_ = false, copy_ = false;
};

}  // namespace

std::unique_ptr<CpuKernel> make_reduce_kernel(const KernelContext& ctx) {
  const std::string& type = ctx.root().type;
  const std::string where = op_where(ctx.root());
  if (!has_input(ctx, 0) || ctx.group.outputs.empty()) throw Error(where, "needs an input and an output");
  const DType t = ctx.input_tensor(0).dtype;
  ReduceFn fn = nullptr;
  if (type == "ReduceSum") fn = pick<Reduction::sum>(t);
  else if (type == "ReduceMean") fn = pick<Reduction::mean>(t);
  else if (type == "ReduceMax") fn = pick<Reduction::max>(t);
  else if (type == "ReduceMin") fn = pick<Reduction::min>(t);
  else return nullptr;
  if (!fn) throw Error(where, "element type " + std::string(graph::dtype_name(t)) + " is not supported");
  return std::make_unique<ReduceKernel>(ctx, fn);
}

}  // namespace sparoa::hw::own
