// Cast between the numeric element types and bool. Floats to integers truncate toward zero
// as ONNX (and C) do; NaN becomes 0 and out-of-range values saturate instead of being
// undefined. float16 and bfloat16 round to nearest even. Strings are not run-time types.
#include "hw/cpu/own_common.hpp"

namespace sparoa::hw::own {
namespace {

using CastFn = void (*)(const void*, void*, std::int64_t);

template <class From, class To> To convert(From x) {
  if constexpr (std::is_same_v<From, bool>) {
    return convert_from_double<To>(x ? 1.0 : 0.0);
  } else if constexpr (std::is_same_v<To, bool>) {
    return Num<From>::load(x) != typename Num<From>::V(0);
  } else if constexpr (std::is_integral_v<From> && std::is_integral_v<To>) {
    return To(x);  // C++20: modular, like numpy's astype
  } else if constexpr (std::is_same_v<From, To>) {
    return x;
  } else if constexpr (std::is_same_v<To, float> || std::is_same_v<To, double>) {
    return To(Num<From>::load(x));
  } else {
    return convert_from_double<To>(double(Num<From>::load(x)));
  }
}

template <class From, class To> void cast_loop(const void* in, void* out, std::int64_t n) {
  // bool is read as a byte: any non-zero value is true.
  using Stored = std::conditional_t<std::is_same_v<From, bool>, std::uint8_t, From>;
  const Stored* x = static_cast<const Stored*>(in);
  To* y = static_cast<To*>(out);
  parallel_ranges(n, n >= kParallelElements, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      if constexpr (std::is_same_v<From, bool>) {
        y[i] = convert<bool, To>(x[i] != 0);
      } else {
        y[i] = convert<From, To>(x[i]);
      }
    }
  });
}

using CastTypes = Types<float, double, Half, BFloat16, std::int8_t, std::int16_t, std::int32_t, std::int64_t,
                        std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t, bool>;

class CastKernel final : public OwnKernel {
 public:
  CastKernel(const KernelContext& ctx, CastFn fn) : OwnKernel(ctx, "own:cast"), fn_(fn) {}
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (in[0].dtype == out[0].dtype) {
      parallel_copy(out[0].data, in[0].data, in[0].size_bytes());
      return;
    }
    fn_(in[0].data, out[0].data, in[0].elements());
  }

 private:
  CastFn fn_;
};

}  // namespace

std::unique_ptr<CpuKernel> make_cast_kernel(const KernelContext& ctx) {
  const std::string where = op_where(ctx.root());
  if (!has_input(ctx, 0) || ctx.group.outputs.empty()) throw Error(where, "needs an input and an output");
  const DType from = ctx.input_tensor(0).dtype;
  const DType to = ctx.graph->tensor(ctx.group.outputs[0]).dtype;
  if (ctx.input_tensor(0).shape != ctx.graph->tensor(ctx.group.outputs[0]).shape) {
    throw Error(where, "the output's shape differs from the input's");
  }
  CastFn fn = nullptr;
  dispatch(from, CastTypes{}, [&](auto f) {
    dispatch(to, CastTypes{}, [&](auto t) { fn = &cast_loop<typename decltype(f)::type, typename decltype(t)::type>; });
  });
  if (!fn) {
    throw Error(where, "cannot cast " + std::string(graph::dtype_name(from)) + " to " + std::string(graph::dtype_name(to)) +
                           " on the CPU (numeric types and bool only; strings are not run-time types)");
  }
  return std::make_unique<CastKernel>(ctx, fn);
}

}  // namespace sparoa::hw::own
