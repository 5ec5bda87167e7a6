#include "hw/cpu/own_common.hpp"

#include <cctype>
#include <cmath>
#include <limits>

namespace sparoa::hw::own {

float half_to_float(std::uint16_t bits) {
  const int exponent = (bits >> 10) & 31, mantissa = bits & 1023;
  float v;
  if (exponent == 0) {
    v = std::ldexp(float(mantissa), -24);
  } else if (exponent == 31) {
    v = mantissa != 0 ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    v = std::ldexp(float(mantissa + 1024), exponent - 25);
  }
  return (bits & 0x8000) != 0 ? -v : v;
}

namespace {

// Rounds a non-negative value to an integer, ties to even (independent of the FPU mode).
double round_half_even(double m) {
  double f = std::floor(m);
  const double rest = m - f;
  if (rest > 0.5 || (rest == 0.5 && std::fmod(f, 2.0) != 0.0)) f += 1.0;
  return f;
}

}  // namespace

std::uint16_t half_from_double(double v) {
  const std::uint16_t sign = std::signbit(v) ? 0x8000 : 0;
  if (std::isnan(v)) return std::uint16_t(sign | 0x7E00);
  const double a = std::fabs(v);
  // 65504 is the largest half; from halfway to the next (unrepresentable) step on, infinity.
  if (a >= 65520.0) return std::uint16_t(sign | 0x7C00);
  // Subnormals are multiples of 2^-24; rounding up to 1024 of them gives the smallest
  // normal, whose bit pattern is the same number.
  if (a < 0x1p-14) return std::uint16_t(sign | std::uint16_t(round_half_even(a * 0x1p24)));
  int e = 0;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  int exponent = e - 1;
  double mantissa = round_half_even(std::ldexp(a, 10 - exponent));  // in [1024, 2048]
  if (mantissa == 2048.0) {
    mantissa = 1024.0;
    ++exponent;
  }
  if (exponent > 15) return std::uint16_t(sign | 0x7C00);
  return std::uint16_t(sign | ((exponent + 15) << 10) | (int(mantissa) - 1024));
}

float bfloat16_to_float(std::uint16_t bits) {
  const std::uint32_t u = std::uint32_t(bits) << 16;
  float v;
  std::memcpy(&v, &u, sizeof v);
  return v;
}

std::uint16_t bfloat16_from_float(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  if (std::isnan(v)) return std::uint16_t((u >> 16) | 0x40);  // stays a (quiet) NaN
  u += 0x7FFFu + ((u >> 16) & 1u);
  return std::uint16_t(u >> 16);
}

std::string op_where(const graph::Operator& op) { return "operator '" + op.name + "' (" + op.type + ")"; }

std::string own_name(const std::string& op_type) {
  std::string s = "own:";
  for (char c : op_type) s += char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank, const std::string& where) {
  if (axis < -rank || axis >= rank) {
    throw Error(where, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<std::int64_t> read_ints(const TensorView& v, const std::string& where, const std::string& what) {
  std::vector<std::int64_t> out(std::size_t(v.elements()));
  if (v.dtype == DType::i64) {
    if (!out.empty()) std::memcpy(out.data(), v.data, out.size() * sizeof(std::int64_t));
  } else if (v.dtype == DType::i32) {
    const auto* p = static_cast<const std::int32_t*>(v.data);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i];
  } else {
    throw Error(where, what + " must be int64 or int32, not " + std::string(graph::dtype_name(v.dtype)));
  }
  return out;
}

std::vector<double> read_doubles(const TensorView& v, const std::string& where, const std::string& what) {
  std::vector<double> out(std::size_t(v.elements()));
  const bool ok = dispatch(v.dtype, NumericTypes{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = static_cast<const T*>(v.data);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = double(Num<T>::load(p[i]));
  });
  if (!ok) throw Error(where, what + " has the unsupported element type " + std::string(graph::dtype_name(v.dtype)));
  return out;
}

bool has_input(const KernelContext& ctx, std::size_t i) {
  return i < ctx.group.inputs.size() && !ctx.group.inputs[i].empty();
}

std::optional<TensorView> constant_input(const KernelContext& ctx, std::size_t i) {
  if (!has_input(ctx, i) || !ctx.input_is_weight(i)) return std::nullopt;
  return weight_view(ctx.input_tensor(i));
}

OwnKernel::OwnKernel(const KernelContext& ctx, std::string implementation)
    : where_(op_where(ctx.root())), op_(&ctx.root()), implementation_(std::move(implementation)) {
  for (const auto& name : ctx.group.inputs) {
    const graph::Tensor* t = name.empty() ? nullptr : &ctx.graph->tensor(name);
    in_types_.push_back(t ? t->dtype : DType::undefined);
    in_shapes_.push_back(t ? t->shape : Shape{});
    if (t && t->shape.size() > kMaxRank) throw Error(where_, "tensors of rank above 16 are not supported");
  }
  for (const auto& name : ctx.group.outputs) {
    const graph::Tensor* t = name.empty() ? nullptr : &ctx.graph->tensor(name);
    out_types_.push_back(t ? t->dtype : DType::undefined);
    out_shapes_.push_back(t ? t->shape : Shape{});
    if (t && t->shape.size() > kMaxRank) throw Error(where_, "tensors of rank above 16 are not supported");
  }
}

void OwnKernel::check_views(std::span<const TensorView> inputs, std::span<const TensorView> outputs) const {
  auto check = [&](std::span<const TensorView> views, const std::vector<DType>& types, const std::vector<Shape>& shapes,
                   const char* what) {
    if (views.size() != types.size()) {
      throw Error(where_, "got " + std::to_string(views.size()) + " " + what + ", expected " + std::to_string(types.size()));
    }
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (types[i] == DType::undefined) continue;  // omitted optional tensor
      const TensorView& v = views[i];
      if (!v.present() || v.dtype != types[i] || v.shape != shapes[i]) {
        throw Error(where_, std::string(what) + " " + std::to_string(i) + " is " +
                                (v.present() ? std::string(graph::dtype_name(v.dtype)) + " " + graph::shape_string(v.shape)
                                             : std::string("missing")) +
                                ", the graph promised " + std::string(graph::dtype_name(types[i])) + " " +
                                graph::shape_string(shapes[i]));
      }
    }
  };
  check(inputs, in_types_, in_shapes_, "input");
  check(outputs, out_types_, out_shapes_, "output");
}

Walk Walk::make(const Shape& dims, const std::vector<std::array<std::int64_t, kOperands>>& strides, int operands,
                std::array<std::int64_t, kOperands> offset) {
  Walk w;
  w.operands = operands;
  w.offset = offset;
  w.elements = graph::element_count(dims);
  if (w.elements == 0) {
    w.dims = {0};
    w.strides = {{}};
    w.rows = 1;
    w.row_len = 0;
    return w;
  }
  for (std::size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    if (!w.dims.empty()) {
      bool merge = true;
      for (int k = 0; k < operands; ++k) {
        merge = merge && w.strides.back()[std::size_t(k)] == strides[d][std::size_t(k)] * dims[d];
      }
      if (merge) {
        w.dims.back() *= dims[d];
        w.strides.back() = strides[d];
        continue;
      }
    }
    w.dims.push_back(dims[d]);
    w.strides.push_back(strides[d]);
  }
  if (w.dims.empty()) {
    w.dims = {1};
    w.strides = {{}};
  }
  w.row_len = w.dims.back();
  w.rows = w.elements / w.row_len;
  w.inner = w.strides.back();
  return w;
}

Walk broadcast_walk(const Shape& out, const std::vector<Shape>& operands, const std::string& where) {
  if (operands.size() > std::size_t(Walk::kOperands)) throw Error(where, "too many broadcast operands");
  std::vector<std::array<std::int64_t, Walk::kOperands>> strides(out.size());
  for (std::size_t k = 0; k < operands.size(); ++k) {
    const Shape& s = operands[k];
    if (s.size() > out.size()) {
      throw Error(where, "input of shape " + graph::shape_string(s) + " does not broadcast to " + graph::shape_string(out));
    }
    std::int64_t stride = 1;
    for (std::size_t i = s.size(); i-- > 0;) {
      const std::size_t d = out.size() - s.size() + i;
      if (s[i] == out[d]) {
        strides[d][k] = stride;
      } else if (s[i] == 1) {
        strides[d][k] = 0;
      } else {
        throw Error(where, "input of shape " + graph::shape_string(s) + " does not broadcast to " + graph::shape_string(out));
      }
      stride *= s[i];
    }
  }
  return Walk::make(out, strides, int(operands.size()));
}

namespace {

// out[b][i][j] = src[b_offset + i + j * s]: a batch of matrix transposes, done in tiles so
// that both the reads and the writes stay within a few cache lines.
template <class U> void tiled_transpose(const Walk& w, const U* src, U* dst) {
  constexpr std::int64_t kTile = 16;
  const std::size_t r = w.dims.size();
  const std::int64_t rows = w.dims[r - 2], cols = w.dims[r - 1], s = w.inner[0];
  std::int64_t batch = 1;
  for (std::size_t d = 0; d + 2 < r; ++d) batch *= w.dims[d];
  const std::int64_t row_tiles = (rows + kTile - 1) / kTile;
  parallel_ranges(batch * row_tiles, w.elements >= kParallelElements, [&](std::int64_t t0, std::int64_t t1) {
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t b = t / row_tiles, i0 = (t % row_tiles) * kTile;
      std::int64_t base = w.offset[0];
      for (std::size_t d = r - 2, rest = std::size_t(b); d-- > 0;) {
        base += std::int64_t(rest % std::size_t(w.dims[d])) * w.strides[d][0];
        rest /= std::size_t(w.dims[d]);
      }
      const std::int64_t i1 = std::min(rows, i0 + kTile);
      U* out = dst + b * rows * cols;
      for (std::int64_t j0 = 0; j0 < cols; j0 += kTile) {
        const std::int64_t j1 = std::min(cols, j0 + kTile);
        for (std::int64_t j = j0; j < j1; ++j) {
          const U* in = src + base + j * s;
          for (std::int64_t i = i0; i < i1; ++i) out[i * cols + j] = in[i];
        }
      }
    }
  });
}

}  // namespace

void strided_copy(const Walk& w, const void* src, void* dst, std::size_t element_size) {
  const bool ok = dispatch_size(element_size, [&](auto tag) {
    using U = typename decltype(tag)::type;
    const U* s = static_cast<const U*>(src);
    U* d = static_cast<U*>(dst);
    const std::int64_t step = w.inner[0];
    const std::size_t r = w.dims.size();
    if (r >= 2 && step != 0 && step != 1 && w.strides[r - 2][0] == 1 && w.dims[r - 2] >= 4 && w.row_len >= 4) {
      tiled_transpose(w, s, d);
      return;
    }
    w.for_each_span([&](std::int64_t o, const std::array<std::int64_t, Walk::kOperands>& at, std::int64_t n) {
      const U* from = s + at[0];
      U* to = d + o;
      if (step == 1) {
        std::memcpy(to, from, std::size_t(n) * sizeof(U));
      } else if (step == 0) {
        std::fill(to, to + n, *from);
      } else {
        for (std::int64_t i = 0; i < n; ++i) to[i] = from[i * step];
      }
    });
  });
  if (!ok) throw Error("strided copy", "element size " + std::to_string(element_size) + " is not supported");
}

void parallel_copy(void* dst, const void* src, std::size_t bytes) {
  if (dst == src || bytes == 0) return;
  constexpr std::size_t kChunk = std::size_t(1) << 18;
  if (bytes < 4 * kChunk) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const std::int64_t chunks = std::int64_t((bytes + kChunk - 1) / kChunk);
  parallel_ranges(chunks, true, [&](std::int64_t c0, std::int64_t c1) {
    const std::size_t begin = std::size_t(c0) * kChunk, end = std::min(bytes, std::size_t(c1) * kChunk);
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin, end - begin);
  });
}

}  // namespace sparoa::hw::own
