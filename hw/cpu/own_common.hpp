#pragma once
// Shared pieces of the own CPU kernels (own_*.cpp): the element types the ONNX suite uses
// beyond dtype_of's (float16, bfloat16, 16-bit and unsigned integers), dispatch over element
// types, operator helpers, and the strided walk that broadcasting, copies and gathers share.
//
// The kernels are portable C++ (the boards are aarch64): no intrinsics, loops written so
// that the compiler can vectorise the contiguous cases, OpenMP for the big ones.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "hw/cpu/cpu_kernel.hpp"
#include "hw/tensor.hpp"
#include "support/error.hpp"

namespace sparoa::hw::own {

// Ranks above this are refused when a kernel is built (ONNX models stay far below; fixed-size
// index arrays keep the hot loops free of allocations).
inline constexpr std::size_t kMaxRank = 16;
// Below this many elements a kernel stays on the calling thread: a parallel region costs a
// few microseconds, more than the work.
inline constexpr std::int64_t kParallelElements = 32768;

// IEEE binary16 and bfloat16, stored as their bits; arithmetic converts to float.
struct Half {
  std::uint16_t bits;
};
struct BFloat16 {
  std::uint16_t bits;
};
float half_to_float(std::uint16_t bits);
std::uint16_t half_from_double(double v);  // round to nearest even, overflow to infinity
float bfloat16_to_float(std::uint16_t bits);
std::uint16_t bfloat16_from_float(float v);  // round to nearest even

// How a kernel computes with a stored element type: V is the arithmetic type.
template <class T> struct Num {
  using V = T;
  static V load(T x) { return x; }
  static T store(V v) { return v; }
};
template <> struct Num<Half> {
  using V = float;
  static V load(Half x) { return half_to_float(x.bits); }
  static Half store(float v) { return Half{half_from_double(v)}; }
};
template <> struct Num<BFloat16> {
  using V = float;
  static V load(BFloat16 x) { return bfloat16_to_float(x.bits); }
  static BFloat16 store(float v) { return BFloat16{bfloat16_from_float(v)}; }
};

template <class T> constexpr DType dtype_id() {
  if constexpr (std::is_same_v<T, float>) return DType::f32;
  if constexpr (std::is_same_v<T, double>) return DType::f64;
  if constexpr (std::is_same_v<T, Half>) return DType::f16;
  if constexpr (std::is_same_v<T, BFloat16>) return DType::bf16;
  if constexpr (std::is_same_v<T, std::int8_t>) return DType::i8;
  if constexpr (std::is_same_v<T, std::int16_t>) return DType::i16;
  if constexpr (std::is_same_v<T, std::int32_t>) return DType::i32;
  if constexpr (std::is_same_v<T, std::int64_t>) return DType::i64;
  if constexpr (std::is_same_v<T, std::uint8_t>) return DType::u8;
  if constexpr (std::is_same_v<T, std::uint16_t>) return DType::u16;
  if constexpr (std::is_same_v<T, std::uint32_t>) return DType::u32;
  if constexpr (std::is_same_v<T, std::uint64_t>) return DType::u64;
  if constexpr (std::is_same_v<T, bool>) return DType::boolean;
  return DType::undefined;
}

template <class T> struct Tag {
  using type = T;
};
template <class... Ts> struct Types {};

using FloatTypes = Types<float, double, Half, BFloat16>;
using IntTypes = Types<std::int8_t, std::int16_t, std::int32_t, std::int64_t, std::uint8_t, std::uint16_t,
                       std::uint32_t, std::uint64_t>;
using SignedTypes = Types<float, double, Half, BFloat16, std::int8_t, std::int16_t, std::int32_t, std::int64_t>;
using NumericTypes = Types<float, double, Half, BFloat16, std::int8_t, std::int16_t, std::int32_t, std::int64_t,
                           std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t>;

// Calls f(Tag<T>{}) for the T of `t` in the list; false when `t` is not in it.
template <class F, class... Ts> bool dispatch(DType t, Types<Ts...>, F&& f) {
  return ((dtype_id<Ts>() == t ? (f(Tag<Ts>{}), true) : false) || ...);
}

// An unsigned integer of each element size, for kernels that only move elements.
template <std::size_t Bytes> struct Bits;
template <> struct Bits<1> { using type = std::uint8_t; };
template <> struct Bits<2> { using type = std::uint16_t; };
template <> struct Bits<4> { using type = std::uint32_t; };
template <> struct Bits<8> { using type = std::uint64_t; };

// Calls f(Tag<unsigned of that size>{}); false for other sizes.
template <class F> bool dispatch_size(std::size_t bytes, F&& f) {
  switch (bytes) {
    case 1: f(Tag<std::uint8_t>{}); return true;
    case 2: f(Tag<std::uint16_t>{}); return true;
    case 4: f(Tag<std::uint32_t>{}); return true;
    case 8: f(Tag<std::uint64_t>{}); return true;
    default: return false;
  }
}

// Integer arithmetic that wraps instead of overflowing (signed overflow is undefined in C++;
// small types would otherwise be promoted to int and overflow there).
template <class V> using Wide = std::conditional_t<(sizeof(V) < sizeof(unsigned)), unsigned, std::make_unsigned_t<V>>;

// A double converted to T as ONNX's Cast does for finite in-range values (truncation toward
// zero); NaN gives 0 and out-of-range values saturate, where C++ would be undefined.
template <class T> T convert_from_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0.0;
  } else if constexpr (std::is_integral_v<T>) {
    if (v != v) return T(0);
    if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(v);
  } else if constexpr (std::is_same_v<T, Half>) {
    return Half{half_from_double(v)};  // one rounding, as numpy does
  } else {
    return Num<T>::store(static_cast<typename Num<T>::V>(v));
  }
}

// "operator 'name' (Type)": where every own-kernel error points.
std::string op_where(const graph::Operator& op);
// "own:reducemean": the implementation name of an own kernel named after its operator type.
std::string own_name(const std::string& op_type);

// The ONNX axis convention: -rank <= axis < rank, negative counts from the end.
std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank, const std::string& where);

// Values of an integer (int64 or int32) tensor, e.g. a Reshape shape or Slice starts.
std::vector<std::int64_t> read_ints(const TensorView& v, const std::string& where, const std::string& what);
// Values of a numeric tensor as doubles (Resize scales, Pad constant, Clip bounds).
std::vector<double> read_doubles(const TensorView& v, const std::string& where, const std::string& what);

// Input i of the operator is given (present and non-empty name).
bool has_input(const KernelContext& ctx, std::size_t i);
// The weight view of input i when it is a constant; nullopt when omitted or run-time.
std::optional<TensorView> constant_input(const KernelContext& ctx, std::size_t i);

// The common part of every own kernel: names, and the check that the views the engine hands
// over are the ones the graph promised (count, element type, shape). The check is a few
// vector compares per run; it turns an engine bug or a bad caller into an Error instead of
// reads past a buffer.
class OwnKernel : public CpuKernel {
 public:
  std::string implementation() const override { return implementation_; }

 protected:
  OwnKernel(const KernelContext& ctx, std::string implementation);
  void check_views(std::span<const TensorView> inputs, std::span<const TensorView> outputs) const;
  const graph::Operator& op() const { return *op_; }

  std::string where_;
  std::vector<DType> in_types_, out_types_;
  std::vector<Shape> in_shapes_, out_shapes_;

 private:
  const graph::Operator* op_;
  std::string implementation_;
};

// Splits [0, n) into one contiguous range per OpenMP thread (when `parallel` and the team has
// more than one) and calls body(begin, end) for each.
template <class Body> void parallel_ranges(std::int64_t n, bool parallel, Body&& body) {
  if (n <= 0) return;
  if (!parallel || n == 1 || omp_get_max_threads() == 1) {
    body(std::int64_t(0), n);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t t = omp_get_thread_num(), teams = omp_get_num_threads();
    const std::int64_t begin = n * t / teams, end = n * (t + 1) / teams;
    if (begin < end) body(begin, end);
  }
}

// A row-major walk over a (coalesced) output shape with up to three operands, each with its
// own element strides (0 where broadcast, negative for reversed slices) and base offset.
// Rows (all but the last dimension) may further split into pieces so that a few long rows
// still spread over the team.
struct Walk {
  static constexpr int kOperands = 3;
  int operands = 0;
  std::vector<std::int64_t> dims;                                 // never empty
  std::vector<std::array<std::int64_t, kOperands>> strides;       // per dimension
  std::array<std::int64_t, kOperands> offset{};                   // of element 0
  std::int64_t elements = 0;
  std::int64_t rows = 1, row_len = 1;  // row_len = dims.back()
  std::array<std::int64_t, kOperands> inner{};  // strides of the last dimension

  // Builds the walk from uncoalesced dimensions and strides, merging dimensions that are
  // contiguous for every operand and dropping those of size 1.
  static Walk make(const Shape& dims, const std::vector<std::array<std::int64_t, kOperands>>& strides, int operands,
                   std::array<std::int64_t, kOperands> offset = {});

  // fn(out_offset, operand_offsets, n): one piece of a row, n elements from out_offset on.
  template <class Fn> void for_each_span(Fn&& fn) const;
};

// numpy multidirectional broadcasting of operands onto `out` (shapes right-aligned, each
// dimension equal or 1). Throws sparoa::Error when an operand does not broadcast.
Walk broadcast_walk(const Shape& out, const std::vector<Shape>& operands, const std::string& where);

// Copies the elements `walk` addresses through operand 0 into dst, row-major (dst is
// contiguous). Elements are moved by size, so any element type works.
void strided_copy(const Walk& walk, const void* src, void* dst, std::size_t element_size);

// memcpy that splits large copies over the team.
void parallel_copy(void* dst, const void* src, std::size_t bytes);

template <class Fn> void Walk::for_each_span(Fn&& fn) const {
  if (elements == 0) return;
  // Pieces per row: enough work items for the team, each at least a few thousand elements.
  const bool parallel = elements >= kParallelElements;
  std::int64_t pieces = 1;
  if (parallel) {
    const std::int64_t want = 4 * std::int64_t(omp_get_max_threads());
    if (rows < want) pieces = std::max<std::int64_t>(1, std::min(want / rows, row_len / 4096));
  }
  const std::int64_t piece_len = (row_len + pieces - 1) / pieces;
  const std::size_t outer = dims.size() - 1;
  parallel_ranges(rows * pieces, parallel, [&](std::int64_t w0, std::int64_t w1) {
    std::int64_t row = w0 / pieces, piece = w0 % pieces;
    std::array<std::int64_t, kMaxRank> index{};
    std::array<std::int64_t, kOperands> base = offset;
    for (std::size_t d = outer, rest = std::size_t(row); d-- > 0;) {
      index[d] = std::int64_t(rest % std::size_t(dims[d]));
      rest /= std::size_t(dims[d]);
      for (int k = 0; k < operands; ++k) base[std::size_t(k)] += index[d] * strides[d][std::size_t(k)];
    }
    for (std::int64_t w = w0; w < w1; ++w) {
      const std::int64_t col = piece * piece_len;
      const std::int64_t n = std::min(piece_len, row_len - col);
      std::array<std::int64_t, kOperands> at = base;
      for (int k = 0; k < operands; ++k) at[std::size_t(k)] += col * inner[std::size_t(k)];
      fn(row * row_len + col, at, n);
      if (++piece == pieces) {
        piece = 0;
        ++row;
        // Odometer step over the outer dimensions.
        for (std::size_t d = outer; d-- > 0;) {
          for (int k = 0; k < operands; ++k) base[std::size_t(k)] += strides[d][std::size_t(k)];
          if (++index[d] < dims[d]) break;
          for (int k = 0; k < operands; ++k) base[std::size_t(k)] -= dims[d] * strides[d][std::size_t(k)];
          index[d] = 0;
        }
      }
    }
  });
}

// Factories of the own kernel families; each returns nullptr for a type it does not handle.
std::unique_ptr<CpuKernel> make_elementwise_kernel(const KernelContext& ctx);
std::unique_ptr<CpuKernel> make_data_movement_kernel(const KernelContext& ctx);
std::unique_ptr<CpuKernel> make_cast_kernel(const KernelContext& ctx);
std::unique_ptr<CpuKernel> make_reduce_kernel(const KernelContext& ctx);
std::unique_ptr<CpuKernel> make_resize_kernel(const KernelContext& ctx);

// Resize as tables: each output coordinate of an axis reads one or two input coordinates
// (element offsets) with weights. The CPU kernel applies them; the GPU kernel uploads the
// same tables, so both follow one implementation of ONNX's coordinate rules.
struct ResizeAxisTaps {
  bool two_taps = false;              // some output coordinate blends two inputs
  std::vector<std::int64_t> off0, off1;  // input element offsets (index x stride)
  std::vector<double> w0, w1;
  std::vector<unsigned char> outside;  // tf_crop_and_resize: coordinate outside the input
  bool any_outside = false;
};
struct ResizePlan {
  bool linear = false;  // blend two taps per axis; nearest otherwise (tap 0 only)
  double extrapolation = 0;
  std::vector<ResizeAxisTaps> axes;
};
// Throws sparoa::Error naming the operator for what the CPU kernel refuses, and when roi,
// scales or sizes are not constants.
ResizePlan plan_resize(const KernelContext& ctx);

}  // namespace sparoa::hw::own
