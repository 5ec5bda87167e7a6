// Operators that run on our own CUDA kernels (own_kernels.cu): elementwise and broadcasting
// binary operators, Where, Cast, data movement, Pad, Gather, reductions, LayerNormalization,
// Resize, and the pooling and softmax cases cuDNN declines. Parameters (axes, starts, pads,
// permutations) are constants after import and are read here, once; the few operators that
// could take them at run time refuse to, naming the input.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "hw/conv_geometry.hpp"
#include "hw/gpu/gpu_kernel_common.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {
namespace {

using own::normalize_axis;
using own::read_ints;

std::vector<std::int64_t> constant_ints(std::optional<TensorView> v, const std::string& where, const std::string& what) {
  if (!v) throw Error(where, what + " is computed at run time; the GPU kernels need it constant");
  return read_ints(*v, where, what);
}

// The bits of `v` stored as element type t (for fills).
std::uint64_t bits_of(DType t, double v) {
  std::uint64_t bits = 0;
  own::dispatch(t, own::NumericTypes{}, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T x = own::convert_from_double<T>(v);
    std::memcpy(&bits, &x, sizeof x);
  });
  if (t == DType::boolean) bits = v != 0 ? 1 : 0;
  return bits;
}

// ---------------------------------------------------------------------------------------
// Elementwise

class UnaryKernel final : public KernelBase {
 public:
  UnaryKernel(const KernelContext& ctx, Stream& s, UnaryParams p) : KernelBase(ctx, s, "own:" + ctx.root().type), p_(p) {
    t_ = elem(in_types_.at(0));
    const bool float_type = t_ == Elem::f32 || t_ == Elem::f64 || t_ == Elem::f16;
    const bool int_ok = p.op == Unary::relu || p.op == Unary::abs || p.op == Unary::neg;
    if (p.op == Unary::logical_not ? t_ != Elem::boolean : (!float_type && !(int_ok && t_ != Elem::boolean))) {
      throw Error(where_, "element type " + std::string(graph::dtype_name(in_types_[0])) + " is not supported on the GPU");
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    unary(t_, p_, in[0].data, out[0].data, out[0].elements(), stream());
    check_launch(where_.c_str());
  }

 private:
  UnaryParams p_;
  Elem t_ = Elem::f32;
};

std::optional<Binary> binary_of(const std::string& t) {
  if (t == "Add") return Binary::add;
  if (t == "Sub") return Binary::sub;
  if (t == "Mul") return Binary::mul;
  if (t == "Div") return Binary::div;
  if (t == "Pow") return Binary::pow;
  if (t == "Max") return Binary::max;
  if (t == "Min") return Binary::min;
  if (t == "Equal") return Binary::equal;
  if (t == "Greater") return Binary::greater;
  if (t == "GreaterOrEqual") return Binary::greater_equal;
  if (t == "Less") return Binary::less;
  if (t == "LessOrEqual") return Binary::less_equal;
  if (t == "PRelu") return Binary::prelu;
  return std::nullopt;
}

// Binary operators with numpy broadcasting; Max and Min fold any number of inputs into the
// output (the first step writes it, the next ones update it in place). Pow with an exponent
// of another type promotes as numpy does (pow_mixed).
class BinaryKernel final : public KernelBase {
 public:
  BinaryKernel(const KernelContext& ctx, Stream& s, Binary op) : KernelBase(ctx, s, "own:" + ctx.root().type), op_(op) {
    t_ = elem(in_types_.at(0));
    const Shape& out = out_shapes_.at(0);
    std::vector<std::size_t> inputs;
    for (std::size_t i = 0; i < in_types_.size(); ++i) {
      if (in_types_[i] != DType::undefined) inputs.push_back(i);
    }
    if (inputs.empty()) throw Error(where_, "has no inputs");
    for (std::size_t k = 1; k < inputs.size(); ++k) {
      const std::size_t i = inputs[k];
      if (in_types_[i] != in_types_[inputs[0]] && !(op == Binary::pow)) {
        throw Error(where_, "inputs of different element types");
      }
      Step step;
      step.a = k == 1 ? inputs[0] : std::size_t(-1);  // -1: the output itself
      step.b = i;
      step.walk = broadcast(out, {k == 1 ? in_shapes_[inputs[0]] : out, in_shapes_[i]}, where_);
      steps_.push_back(step);
    }
    if (steps_.empty()) single_ = inputs[0];
    if (op == Binary::pow && in_types_.size() > 1 && in_types_[1] != in_types_[0]) exponent_type_ = elem(in_types_[1]);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (single_) {
      check(cudaMemcpyAsync(out[0].data, in[*single_].data, out[0].size_bytes(), cudaMemcpyDeviceToDevice, stream()), where_);
      return;
    }
    for (const Step& s : steps_) {
      const void* a = s.a == std::size_t(-1) ? out[0].data : in[s.a].data;
      if (exponent_type_) {
        pow_mixed(t_, *exponent_type_, s.walk, a, in[s.b].data, out[0].data, stream());
      } else {
        binary(t_, op_, s.walk, a, in[s.b].data, out[0].data, stream());
      }
    }
    check_launch(where_.c_str());
  }

 private:
  struct Step {
    std::size_t a = 0, b = 0;
    Walk walk;
  };
  Binary op_;
  Elem t_ = Elem::f32;
  std::vector<Step> steps_;
  std::optional<std::size_t> single_;
  std::optional<Elem> exponent_type_;  // Pow with an exponent of another type
};

// Clip with bounds computed at run time, or of a type the activation path does not run:
// y = min(max(x, lo), hi) as two broadcasting steps.
class ClipKernel final : public KernelBase {
 public:
  ClipKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:clip") {
    t_ = elem(in_types_.at(0));
    if (t_ == Elem::boolean) throw Error(where_, "Clip of bool");
    // Max(x, lo) reads x; Min(., hi) reads that result (the output) when there was a lower bound.
    if (present(1)) walks_[0] = broadcast(out_shapes_[0], {in_shapes_[0], in_shapes_[1]}, where_);
    if (present(2)) walks_[1] = broadcast(out_shapes_[0], {present(1) ? out_shapes_[0] : in_shapes_[0], in_shapes_[2]}, where_);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const void* src = in[0].data;
    if (!present(1) && !present(2)) {
      check(cudaMemcpyAsync(out[0].data, src, out[0].size_bytes(), cudaMemcpyDeviceToDevice, stream()), where_);
      return;
    }
    if (present(1)) {
      binary(t_, Binary::max, walks_[0], src, in[1].data, out[0].data, stream());
      src = out[0].data;
    }
    if (present(2)) binary(t_, Binary::min, walks_[1], src, in[2].data, out[0].data, stream());
    check_launch(where_.c_str());
  }

 private:
  Elem t_ = Elem::f32;
  Walk walks_[2];
};

class WhereKernel final : public KernelBase {
 public:
  WhereKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:where") {
    if (in_types_.at(0) != DType::boolean) throw Error(where_, "the condition must be bool");
    elem_bytes_ = int(graph::dtype_size(out_types_.at(0)));
    walk_ = broadcast(out_shapes_[0], {in_shapes_[0], in_shapes_[1], in_shapes_[2]}, where_);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    where(walk_, in[0].data, in[1].data, in[2].data, out[0].data, elem_bytes_, stream());
    check_launch(where_.c_str());
  }

 private:
  Walk walk_;
  int elem_bytes_ = 4;
};

class CastKernel final : public KernelBase {
 public:
  CastKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:cast") {
    from_ = elem(in_types_.at(0));
    to_ = elem(out_types_.at(0));
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    cast(from_, to_, in[0].data, out[0].data, out[0].elements(), stream());
    check_launch(where_.c_str());
  }

 private:
  Elem from_ = Elem::f32, to_ = Elem::f32;
};

// ---------------------------------------------------------------------------------------
// Data movement

// Reshape, Flatten, Squeeze, Unsqueeze, Identity and inference Dropout: the bytes stay as
// they are (a device copy; Dropout's optional mask is all true).
class CopyKernel final : public KernelBase {
 public:
  CopyKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:copy") {
    if (ctx.root().type == "Dropout") {
      // Training mode with a non-zero ratio is random: refused as on the CPU.
      if (present(2)) {
        auto t = constant(2);
        if (!t) throw Error(where_, "training_mode is computed at run time");
        if (t->elements() == 1 && static_cast<const bool*>(t->data)[0]) {
          throw Error(where_, "training-mode Dropout is random and has no GPU kernel");
        }
      }
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (out[0].data != in[0].data) {
      check(cudaMemcpyAsync(out[0].data, in[0].data, out[0].size_bytes(), cudaMemcpyDeviceToDevice, stream()), where_);
    }
    if (out.size() > 1 && out[1].present()) check(cudaMemsetAsync(out[1].data, 1, out[1].size_bytes(), stream()), where_);
  }
};

// One strided copy per (source, destination) pair: Transpose, Expand, Tile, Slice use one;
// Concat one per input, Split one per output.
class StridedKernel final : public KernelBase {
 public:
  struct Piece {
    std::size_t input = 0, output = 0;
    Walk walk;  // operand 0: the output, operand 1: the input
  };
  StridedKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:" + ctx.root().type) {
    elem_bytes_ = int(graph::dtype_size(out_types_.at(0)));
    const std::string& t = ctx.root().type;
    const Shape& in = in_shapes_.at(0);
    const auto in_strides = row_major_strides(in);
    if (t == "Transpose") {
      std::vector<std::int64_t> perm = op().attr_ints("perm", {});
      if (perm.empty()) {
        perm.resize(in.size());
        std::iota(perm.rbegin(), perm.rend(), 0);
      }
      if (perm.size() != in.size()) throw Error(where_, "perm has the wrong length");
      std::vector<std::array<std::int64_t, own::Walk::kOperands>> strides(in.size());
      for (std::size_t d = 0; d < in.size(); ++d) strides[d][0] = in_strides[std::size_t(normalize_axis(perm[d], std::int64_t(in.size()), where_))];
      pieces_.push_back({0, 0, to_gpu_walk(own::Walk::make(out_shapes_[0], strides, 1), where_)});
    } else if (t == "Expand") {
      pieces_.push_back({0, 0, broadcast(out_shapes_[0], {in}, where_)});
    } else if (t == "Tile") {
      // out viewed as [repeat_0, in_0, repeat_1, in_1, ...] reading in with stride 0 on repeats.
      Shape dims;
      std::vector<std::array<std::int64_t, own::Walk::kOperands>> strides;
      for (std::size_t d = 0; d < in.size(); ++d) {
        if (in[d] == 0 || out_shapes_[0][d] % in[d] != 0) throw Error(where_, "the output is not a whole number of tiles");
        dims.push_back(out_shapes_[0][d] / in[d]);
        strides.push_back({0, 0, 0});
        dims.push_back(in[d]);
        strides.push_back({in_strides[d], 0, 0});
      }
      pieces_.push_back({0, 0, to_gpu_walk(own::Walk::make(dims, strides, 1), where_)});
    } else if (t == "Slice") {
      plan_slice(in, in_strides);
    } else if (t == "Concat") {
      const std::int64_t axis = normalize_axis(op().attr_int("axis", 0), std::int64_t(out_shapes_[0].size()), where_);
      const auto out_strides = row_major_strides(out_shapes_[0]);
      std::int64_t at = 0;
      for (std::size_t i = 0; i < in_shapes_.size(); ++i) {
        if (!present(i)) continue;
        const Shape& s = in_shapes_[i];
        Walk w;
        w.rank = int(s.size());
        if (w.rank > kMaxDims) throw Error(where_, "rank above " + std::to_string(kMaxDims));
        w.operands = 2;
        const auto src = row_major_strides(s);
        for (int d = 0; d < w.rank; ++d) {
          w.dims[d] = s[std::size_t(d)];
          w.strides[0][d] = out_strides[std::size_t(d)];
          w.strides[1][d] = src[std::size_t(d)];
        }
        w.offset[0] = at * out_strides[std::size_t(axis)];
        at += s[std::size_t(axis)];
        pieces_.push_back({i, 0, w});
      }
    } else if (t == "Split") {
      const std::int64_t axis = normalize_axis(op().attr_int("axis", 0), std::int64_t(in.size()), where_);
      std::int64_t at = 0;
      for (std::size_t o = 0; o < out_shapes_.size(); ++o) {
        const Shape& s = out_shapes_[o];
        Walk w;
        w.rank = int(s.size());
        if (w.rank > kMaxDims) throw Error(where_, "rank above " + std::to_string(kMaxDims));
        w.operands = 2;
        const auto dst = row_major_strides(s);
        for (int d = 0; d < w.rank; ++d) {
          w.dims[d] = s[std::size_t(d)];
          w.strides[0][d] = dst[std::size_t(d)];
          w.strides[1][d] = in_strides[std::size_t(d)];
        }
        w.offset[1] = at * in_strides[std::size_t(axis)];
        at += s[std::size_t(axis)];
        pieces_.push_back({0, o, w});
      }
      if (at != in[std::size_t(axis)]) throw Error(where_, "the outputs do not add up to the input along the axis");
    } else {
      throw Error(where_, "not a strided copy");
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    for (const Piece& p : pieces_) strided_copy(p.walk, in[p.input].data, out[p.output].data, elem_bytes_, stream());
    check_launch(where_.c_str());
  }

 private:
  void plan_slice(const Shape& in, const std::vector<std::int64_t>& in_strides) {
    std::vector<std::int64_t> starts, ends, axes, steps;
    if (op().has_attr("starts")) {
      starts = op().attr_ints("starts", {});
      ends = op().attr_ints("ends", {});
      axes = op().attr_ints("axes", {});
    } else {
      starts = constant_ints(constant(1), where_, "starts");
      ends = constant_ints(constant(2), where_, "ends");
      if (present(3)) axes = constant_ints(constant(3), where_, "axes");
      if (present(4)) steps = constant_ints(constant(4), where_, "steps");
    }
    const auto rank = std::int64_t(in.size());
    if (axes.empty()) {
      axes.resize(starts.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
      throw Error(where_, "starts, ends, axes and steps differ in length");
    }
    std::vector<std::int64_t> first(in.size(), 0), step(in.size(), 1);
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const auto a = std::size_t(normalize_axis(axes[i], rank, where_));
      const std::int64_t dim = in[a], s = steps[i];
      if (s == 0) throw Error(where_, "a step is 0");
      std::int64_t b = starts[i];
      if (b < 0) b += dim;
      b = s > 0 ? std::clamp<std::int64_t>(b, 0, dim) : std::clamp<std::int64_t>(b, 0, dim - 1);
      first[a] = out_shapes_[0][a] > 0 ? b : 0;
      step[a] = s;
    }
    std::vector<std::array<std::int64_t, own::Walk::kOperands>> strides(in.size());
    std::array<std::int64_t, own::Walk::kOperands> offset{};
    for (std::size_t d = 0; d < in.size(); ++d) {
      strides[d][0] = in_strides[d] * step[d];
      offset[0] += first[d] * in_strides[d];
    }
    pieces_.push_back({0, 0, to_gpu_walk(own::Walk::make(out_shapes_[0], strides, 1, offset), where_)});
  }

  std::vector<Piece> pieces_;
  int elem_bytes_ = 4;
};

class PadKernel final : public KernelBase {
 public:
  PadKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:pad") {
    const std::string mode = op().attr_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge") throw Error(where_, "mode '" + mode + "' is not supported");
    if (present(3)) throw Error(where_, "the axes input (opset 18) is not supported");
    const Shape& in = in_shapes_.at(0);
    if (in.size() > std::size_t(kMaxDims)) throw Error(where_, "rank above " + std::to_string(kMaxDims));
    const auto pads = op().has_attr("pads") ? op().attr_ints("pads", {}) : constant_ints(constant(1), where_, "pads");
    if (pads.size() != 2 * in.size()) throw Error(where_, "pads has the wrong length");
    g_.rank = int(in.size());
    g_.mode = mode == "constant" ? 0 : mode == "edge" ? 1 : 2;
    for (std::size_t d = 0; d < in.size(); ++d) {
      g_.in_dims[d] = in[d];
      g_.out_dims[d] = out_shapes_[0][d];
      g_.begin[d] = pads[d];
      if (in[d] == 0 && g_.out_dims[d] > 0 && g_.mode != 0) throw Error(where_, "cannot " + mode + "-pad an empty axis");
    }
    elem_bytes_ = int(graph::dtype_size(in_types_[0]));
    double value = op().attr_float("value", 0.0);
    if (present(2)) {
      auto c = constant(2);
      if (!c) throw Error(where_, "constant_value is computed at run time; the GPU kernel needs it constant");
      value = own::read_doubles(*c, where_, "constant_value").at(0);
    }
    g_.bits = bits_of(in_types_[0], value);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    pad(g_, in[0].data, out[0].data, elem_bytes_, stream());
    check_launch(where_.c_str());
  }

 private:
  PadGeometry g_;
  int elem_bytes_ = 4;
};

class GatherKernel final : public KernelBase {
 public:
  GatherKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:gather"), error_(MemoryKind::mapped, sizeof(int)) {
    const Shape& in = in_shapes_.at(0);
    if (in_types_.at(1) != DType::i64 && in_types_.at(1) != DType::i32) throw Error(where_, "indices must be int64 or int32");
    const std::int64_t axis = normalize_axis(op().attr_int("axis", 0), std::int64_t(in.size()), where_);
    outer_ = 1;
    for (std::int64_t d = 0; d < axis; ++d) outer_ *= in[std::size_t(d)];
    axis_ = in[std::size_t(axis)];
    inner_ = 1;
    for (std::size_t d = std::size_t(axis) + 1; d < in.size(); ++d) inner_ *= in[d];
    count_ = graph::element_count(in_shapes_[1]);
    elem_bytes_ = int(graph::dtype_size(in_types_[0]));
    if (auto c = constant(1)) {
      for (std::int64_t j : read_ints(*c, where_, "indices")) {
        if (j < -axis_ || j >= axis_) throw Error(where_, "index " + std::to_string(j) + " is out of range for an axis of " + std::to_string(axis_));
      }
    }
    *static_cast<int*>(error_.host()) = 0;
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    gather(in[0].data, in[1].data, in_types_[1] == DType::i64, out[0].data, outer_, axis_, count_, inner_, elem_bytes_,
           static_cast<int*>(error_.device()), stream());
    check_launch(where_.c_str());
  }
  void check_after_sync() override {
    int& e = *static_cast<int*>(error_.host());
    if (e != 0) {
      const int at = e;
      e = 0;
      throw Error(where_, "index number " + std::to_string(at - 1) + " is out of range for an axis of " + std::to_string(axis_));
    }
  }

 private:
  Buffer error_;
  std::int64_t outer_ = 1, axis_ = 1, inner_ = 1, count_ = 0;
  int elem_bytes_ = 4;
};

// ---------------------------------------------------------------------------------------
// Reductions and normalisation

class ReduceKernel final : public KernelBase {
 public:
  ReduceKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:" + ctx.root().type) {
    const std::string& t = ctx.root().type;
    t_ = elem(in_types_.at(0));
    if (t_ == Elem::boolean) throw Error(where_, "reduction of bool");
    const Shape& in = in_shapes_.at(0);
    const auto rank = std::int64_t(in.size());
    std::vector<bool> reduce(in.size(), false);
    op_ = t == "ReduceMax" || t == "GlobalMaxPool" ? Reduce::max
        : t == "ReduceMin"                         ? Reduce::min
        : t == "ReduceSum"                         ? Reduce::sum
                                                   : Reduce::mean;
    if (t == "GlobalAveragePool" || t == "GlobalMaxPool") {
      for (std::size_t d = 2; d < in.size(); ++d) reduce[d] = true;
    } else {
      std::vector<std::int64_t> axes = op().attr_ints("axes", {});
      if (!op().has_attr("axes") && present(1)) axes = constant_ints(constant(1), where_, "axes");
      if (axes.empty()) {
        if (op().attr_int("noop_with_empty_axes", 0) != 0) {
          copy_ = true;
          return;
        }
        std::fill(reduce.begin(), reduce.end(), true);
      }
      for (auto a : axes) reduce[std::size_t(normalize_axis(a, rank, where_))] = true;
    }
    const auto strides = row_major_strides(in);
    kept_.operands = 2;
    reduced_.operands = 2;
    std::vector<std::size_t> kept_axes;
    for (std::size_t d = 0; d < in.size(); ++d) {
      Walk& w = reduce[d] ? reduced_ : kept_;
      if (w.rank == kMaxDims) throw Error(where_, "more than " + std::to_string(kMaxDims) + " kept or reduced axes");
      w.dims[w.rank] = in[d];
      w.strides[1][w.rank] = strides[d];
      ++w.rank;
      if (!reduce[d]) kept_axes.push_back(d);
    }
    // The output holds the kept axes in order (with or without the reduced ones as 1s).
    std::int64_t stride = 1;
    for (int d = kept_.rank - 1; d >= 0; --d) {
      kept_.strides[0][d] = stride;
      stride *= kept_.dims[d];
    }
    if (kept_.rank == 0) {  // everything reduced: one output element
      kept_.rank = 1;
      kept_.dims[0] = 1;
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (copy_) {
      check(cudaMemcpyAsync(out[0].data, in[0].data, out[0].size_bytes(), cudaMemcpyDeviceToDevice, stream()), where_);
      return;
    }
    reduce(t_, op_, kept_, reduced_, in[0].data, out[0].data, stream());
    check_launch(where_.c_str());
  }

 private:
  Elem t_ = Elem::f32;
  Reduce op_ = Reduce::sum;
  Walk kept_, reduced_;
  bool copy_ = false;
};

class LayerNormKernel final : public KernelBase {
 public:
  LayerNormKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:layernormalization") {
    if (in_types_.at(0) != DType::f32) throw Error(where_, "LayerNormalization on the GPU runs float32 only");
    const Shape& in = in_shapes_[0];
    const std::int64_t axis = normalize_axis(op().attr_int("axis", -1), std::int64_t(in.size()), where_);
    eps_ = float(op().attr_float("epsilon", 1e-5));
    rows_ = 1;
    for (std::int64_t d = 0; d < axis; ++d) rows_ *= in[std::size_t(d)];
    cols_ = 1;
    for (std::size_t d = std::size_t(axis); d < in.size(); ++d) cols_ *= in[d];
    for (std::size_t i = 1; i < 3; ++i) {
      if (!present(i)) continue;
      const std::int64_t n = graph::element_count(in_shapes_[i]);
      if (n != cols_ && n != 1) throw Error(where_, "scale and bias must cover the normalised axes (or be one value)");
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    auto f = [](const TensorView& v) { return static_cast<float*>(v.data); };
    layer_norm(f(in[0]), present(1) ? f(in[1]) : nullptr, present(1) ? in[1].elements() : 0, present(2) ? f(in[2]) : nullptr,
               present(2) ? in[2].elements() : 0, f(out[0]), out.size() > 1 && out[1].present() ? f(out[1]) : nullptr,
               out.size() > 2 && out[2].present() ? f(out[2]) : nullptr, rows_, cols_, eps_, stream());
    check_launch(where_.c_str());
  }

 private:
  std::int64_t rows_ = 1, cols_ = 1;
  float eps_ = 1e-5f;
};

class ResizeKernel final : public KernelBase {
 public:
  ResizeKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:resize") {
    const own::ResizePlan plan = own::plan_resize(ctx);
    t_ = elem(in_types_.at(0));
    elem_bytes_ = int(graph::dtype_size(in_types_[0]));
    const Shape& out = out_shapes_.at(0);
    if (out.size() > std::size_t(kMaxDims)) throw Error(where_, "rank above " + std::to_string(kMaxDims));
    std::vector<std::int64_t> off0, off1;
    std::vector<double> w0, w1;
    std::vector<unsigned char> outside;
    r_.rank = int(out.size());
    for (std::size_t d = 0; d < out.size(); ++d) {
      const auto& a = plan.axes[d];
      r_.out_dims[d] = out[d];
      r_.axis_begin[d] = std::int64_t(off0.size());
      r_.two_taps[d] = plan.linear && a.two_taps;
      off0.insert(off0.end(), a.off0.begin(), a.off0.end());
      off1.insert(off1.end(), a.off1.begin(), a.off1.end());
      w0.insert(w0.end(), a.w0.begin(), a.w0.end());
      w1.insert(w1.end(), a.w1.begin(), a.w1.end());
      outside.insert(outside.end(), a.outside.begin(), a.outside.end());
    }
    tables_[0] = upload(off0);
    tables_[1] = upload(off1);
    tables_[2] = upload(w0);
    tables_[3] = upload(w1);
    tables_[4] = upload(outside);
    r_.off0 = static_cast<const std::int64_t*>(tables_[0].device());
    r_.off1 = static_cast<const std::int64_t*>(tables_[1].device());
    r_.w0 = static_cast<const double*>(tables_[2].device());
    r_.w1 = static_cast<const double*>(tables_[3].device());
    r_.outside = static_cast<const unsigned char*>(tables_[4].device());
    r_.linear = plan.linear;
    r_.fill = plan.extrapolation;
    r_.fill_bits = bits_of(in_types_[0], plan.extrapolation);
    if (plan.linear && t_ != Elem::f32 && t_ != Elem::f64 && t_ != Elem::f16) {
      throw Error(where_, "linear resize of " + std::string(graph::dtype_name(in_types_[0])) + " on the GPU");
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    resize(t_, r_, in[0].data, out[0].data, elem_bytes_, stream());
    check_launch(where_.c_str());
  }

 private:
  Elem t_ = Elem::f32;
  int elem_bytes_ = 4;
  ResizeTables r_;
  Buffer tables_[5];
};

}  // namespace

// Pooling that cuDNN declines (dilations, ceil_mode beyond the end, asymmetric pads,
// MaxPool's Indices): our direct kernel. Defined here, used by the cuDNN pool kernel's factory.
class OwnPoolKernel final : public KernelBase {
 public:
  OwnPoolKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "own:" + ctx.root().type) {
    if (in_types_.at(0) != DType::f32) throw Error(where_, "pooling on the GPU runs float32 only");
    const Shape& x = in_shapes_[0];
    const Shape& y = out_shapes_.at(0);
    if (x.size() < 3 || x.size() > 5) throw Error(where_, "pooling of 1 to 3 spatial dimensions only");
    const std::size_t sd = x.size() - 2;
    g_.spatial = int(sd);
    g_.n = x[0];
    g_.c = x[1];
    g_.max = ctx.root().type == "MaxPool";
    g_.count_include_pad = op().attr_int("count_include_pad", 0) != 0;
    const auto kernel = attr_per_dim(op(), "kernel_shape", sd, 1);
    const auto strides = attr_per_dim(op(), "strides", sd, 1);
    const auto dil = attr_per_dim(op(), "dilations", sd, 1);
    const auto pads = attr_per_dim(op(), "pads", 2 * sd, 0);
    const std::string auto_pad = op().attr_string("auto_pad", "NOTSET");
    if (op().attr_int("storage_order", 0) != 0) throw Error(where_, "storage_order 1 is not supported");
    for (std::size_t d = 0; d < sd; ++d) {
      g_.in[d] = x[2 + d];
      g_.out[d] = y[2 + d];
      g_.kernel[d] = kernel[d];
      g_.stride[d] = strides[d];
      g_.dilation[d] = dil[d];
      std::int64_t pl = pads[d], pr = pads[d + sd];
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        const std::int64_t total = std::max<std::int64_t>(0, (g_.out[d] - 1) * strides[d] + (kernel[d] - 1) * dil[d] + 1 - g_.in[d]);
        pl = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pr = total - pl;
      } else if (auto_pad == "VALID") {
        pl = pr = 0;
      }
      g_.pad_begin[d] = pl;
      g_.pad_end[d] = pr;
    }
    if (out_types_.size() > 1 && out_types_[1] != DType::undefined && out_types_[1] != DType::i64) {
      throw Error(where_, "Indices must be int64");
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    std::int64_t* indices = out.size() > 1 && out[1].present() ? static_cast<std::int64_t*>(out[1].data) : nullptr;
    pool(g_, static_cast<const float*>(in[0].data), static_cast<float*>(out[0].data), indices, stream());
    check_launch(where_.c_str());
  }

 private:
  PoolGeometry g_;
};

std::unique_ptr<GpuKernel> make_own_pool_kernel(const KernelContext& ctx, Stream& stream) {
  return std::make_unique<OwnPoolKernel>(ctx, stream);
}

class OwnSoftmaxKernel final : public KernelBase {
 public:
  OwnSoftmaxKernel(const KernelContext& ctx, Stream& s, std::int64_t outer, std::int64_t axis, std::int64_t inner)
      : KernelBase(ctx, s, "own:softmax"), outer_(outer), axis_(axis), inner_(inner) {}
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    softmax(static_cast<const float*>(in[0].data), static_cast<float*>(out[0].data), outer_, axis_, inner_, stream());
    check_launch(where_.c_str());
  }

 private:
  std::int64_t outer_, axis_, inner_;
};

std::unique_ptr<GpuKernel> make_own_softmax_kernel(const KernelContext& ctx, Stream& stream, std::int64_t outer,
                                                   std::int64_t axis, std::int64_t inner) {
  return std::make_unique<OwnSoftmaxKernel>(ctx, stream, outer, axis, inner);
}

std::unique_ptr<GpuKernel> make_own_gpu_kernel(const KernelContext& ctx, Stream& stream) {
  const graph::Operator& op = ctx.root();
  const std::string& t = op.type;
  if (ctx.group.fused()) return nullptr;
  if (t == "Not") return std::make_unique<UnaryKernel>(ctx, stream, UnaryParams{Unary::logical_not, 0, 0});
  if (t == "Clip") {
    // Constant float32 bounds run as an activation; anything else as max/min steps.
    const graph::Tensor& x = ctx.input_tensor(0);
    bool constant_bounds = true;
    for (std::size_t i = 1; i < 3; ++i) constant_bounds = constant_bounds && (!own::has_input(ctx, i) || ctx.input_is_weight(i));
    if (x.dtype == DType::f32 && constant_bounds) {
      if (auto p = eltwise_of(*ctx.graph, op)) return std::make_unique<UnaryKernel>(ctx, stream, unary_of(*p));
    }
    return std::make_unique<ClipKernel>(ctx, stream);
  }
  if (auto p = eltwise_of(*ctx.graph, op)) return std::make_unique<UnaryKernel>(ctx, stream, unary_of(*p));
  if (auto b = binary_of(t)) return std::make_unique<BinaryKernel>(ctx, stream, *b);
  if (t == "Where") return std::make_unique<WhereKernel>(ctx, stream);
  if (t == "Cast") return std::make_unique<CastKernel>(ctx, stream);
  if (t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze" || t == "Identity" || t == "Dropout") {
    return std::make_unique<CopyKernel>(ctx, stream);
  }
  if (t == "Transpose" || t == "Expand" || t == "Tile" || t == "Slice" || t == "Concat" || t == "Split") {
    return std::make_unique<StridedKernel>(ctx, stream);
  }
  if (t == "Pad") return std::make_unique<PadKernel>(ctx, stream);
  if (t == "Gather") return std::make_unique<GatherKernel>(ctx, stream);
  if (t == "ReduceSum" || t == "ReduceMean" || t == "ReduceMax" || t == "ReduceMin" || t == "GlobalAveragePool" ||
      t == "GlobalMaxPool") {
    return std::make_unique<ReduceKernel>(ctx, stream);
  }
  if (t == "LayerNormalization") return std::make_unique<LayerNormKernel>(ctx, stream);
  if (t == "Resize") return std::make_unique<ResizeKernel>(ctx, stream);
  if (t == "MaxPool" || t == "AveragePool") return std::make_unique<OwnPoolKernel>(ctx, stream);
  return nullptr;
}

}  // namespace sparoa::hw::gpu
