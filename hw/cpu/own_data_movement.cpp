// Data-movement own kernels: they move elements by size, so every element type works. The
// view-like operators (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout) copy; the
// others are a strided walk (Transpose, Slice, Expand, Tile), block copies (Concat, Split),
// a row gather (Gather) or a per-axis index map (Pad). Whatever the graph's constants fix is
// planned once; only parameters computed at run time are planned in run().
#include <algorithm>
#include <cmath>
#include <numeric>

#include "hw/cpu/own_common.hpp"

namespace sparoa::hw::own {
namespace {

std::int64_t product(const Shape& s, std::size_t begin, std::size_t end) {
  std::int64_t p = 1;
  for (std::size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

// ---- copies -----------------------------------------------------------------------------

// Reshape, Flatten, Squeeze, Unsqueeze, Identity: the bytes do not change, only the shape.
class CopyKernel final : public OwnKernel {
 public:
  explicit CopyKernel(const KernelContext& ctx) : OwnKernel(ctx, own_name(ctx.root().type)) {
    if (out_shapes_.empty() || in_shapes_.empty() || in_types_[0] == DType::undefined) throw Error(where_, "needs an input and an output");
    if (out_types_[0] != in_types_[0] || graph::element_count(out_shapes_[0]) != graph::element_count(in_shapes_[0])) {
      throw Error(where_, "the output (" + graph::shape_string(out_shapes_[0]) + ") does not hold the input's elements (" +
                              graph::shape_string(in_shapes_[0]) + ")");
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    parallel_copy(out[0].data, in[0].data, in[0].size_bytes());
  }
};

// Inference Dropout: the identity, and a mask of all true. Training mode (opset 12's third
// input) with a non-zero ratio is random and not what a deployment runs: an Error.
class DropoutKernel final : public OwnKernel {
 public:
  explicit DropoutKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:dropout") {
    if (out_types_.empty() || out_types_[0] != in_types_.at(0) || out_shapes_[0] != in_shapes_[0]) {
      throw Error(where_, "the output must match the input");
    }
    ratio_ = op().attr_float("ratio", 0.5);
    if (auto r = constant_input(ctx, 1)) ratio_ = read_doubles(*r, where_, "ratio").at(0);
    if (auto t = constant_input(ctx, 2)) check_training(*static_cast<const std::uint8_t*>(t->data) != 0);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (in.size() > 1 && in[1].present() && in[1].elements() == 1) ratio_ = read_doubles(in[1], where_, "ratio")[0];
    if (in.size() > 2 && in[2].present() && in[2].elements() == 1) {
      check_training(*static_cast<const std::uint8_t*>(in[2].data) != 0);
    }
    parallel_copy(out[0].data, in[0].data, in[0].size_bytes());
    if (out.size() > 1 && out[1].present()) std::memset(out[1].data, 1, out[1].size_bytes());
  }

 private:
  void check_training(bool training) const {
    if (training && ratio_ != 0.0) {
      throw Error(where_, "training-mode Dropout (random) is not supported; export the model for inference");
    }
  }
  double ratio_ = 0.5;
};

// ---- strided walks ----------------------------------------------------------------------

// Operand 0 of a walk over `out` reading `in` with per-output-dimension strides.
Walk single_walk(const Shape& out, const std::vector<std::int64_t>& strides, std::int64_t offset) {
  std::vector<std::array<std::int64_t, Walk::kOperands>> s(out.size());
  for (std::size_t d = 0; d < out.size(); ++d) s[d][0] = strides[d];
  return Walk::make(out, s, 1, {offset, 0, 0});
}

// Transpose, Expand and Tile (and Slice, below): one strided copy planned at construction.
class WalkKernel : public OwnKernel {
 public:
  WalkKernel(const KernelContext& ctx, std::string name) : OwnKernel(ctx, std::move(name)) {
    if (out_types_.empty() || out_types_[0] != in_types_.at(0)) throw Error(where_, "the output's element type differs from the input's");
    element_size_ = graph::dtype_size(in_types_[0]);
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    strided_copy(walk_, in[0].data, out[0].data, element_size_);
  }

 protected:
  Walk walk_;
  std::size_t element_size_ = 0;
};

class TransposeKernel final : public WalkKernel {
 public:
  explicit TransposeKernel(const KernelContext& ctx) : WalkKernel(ctx, "own:transpose") {
    const Shape& in = in_shapes_[0];
    const auto rank = std::int64_t(in.size());
    std::vector<std::int64_t> perm(in.size());
    std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the axes
    perm = op().attr_ints("perm", perm);
    std::vector<bool> seen(in.size(), false);
    if (std::int64_t(perm.size()) != rank) throw Error(where_, "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
    for (auto& p : perm) {
      p = normalize_axis(p, rank, where_);
      if (seen[std::size_t(p)]) throw Error(where_, "perm repeats axis " + std::to_string(p));
      seen[std::size_t(p)] = true;
    }
    const auto in_strides = row_major_strides(in);
    Shape out(in.size());
    std::vector<std::int64_t> strides(in.size());
    for (std::size_t d = 0; d < in.size(); ++d) {
      out[d] = in[std::size_t(perm[d])];
      strides[d] = in_strides[std::size_t(perm[d])];
    }
    if (out != out_shapes_[0]) throw Error(where_, "the permuted shape " + graph::shape_string(out) + " differs from the graph's");
    walk_ = single_walk(out, strides, 0);
  }
};

class ExpandKernel final : public WalkKernel {
 public:
  explicit ExpandKernel(const KernelContext& ctx) : WalkKernel(ctx, "own:expand") {
    walk_ = broadcast_walk(out_shapes_[0], {in_shapes_[0]}, where_);
  }
};

// Tile: output dimension d is the input's repeated r_d times, i.e. (r_d, in_d) row-major
// with stride 0 over the repeats. The repeats follow from the static shapes, so a repeats
// input computed at run time needs no plan of its own.
class TileKernel final : public WalkKernel {
 public:
  explicit TileKernel(const KernelContext& ctx) : WalkKernel(ctx, "own:tile") {
    const Shape& in = in_shapes_[0];
    const Shape& out = out_shapes_[0];
    if (in.size() != out.size()) throw Error(where_, "the output rank differs from the input's");
    std::optional<std::vector<std::int64_t>> repeats;
    if (auto r = constant_input(ctx, 1)) repeats = read_ints(*r, where_, "repeats");
    const auto in_strides = row_major_strides(in);
    Shape dims;
    std::vector<std::int64_t> strides;
    for (std::size_t d = 0; d < in.size(); ++d) {
      std::int64_t r = in[d] == 0 ? 1 : out[d] / in[d];
      if (repeats && repeats->size() == in.size()) r = (*repeats)[d];
      if (r < 0 || in[d] * r != out[d]) throw Error(where_, "output dimension " + std::to_string(d) + " is not a repeat of the input's");
      dims.push_back(r);
      strides.push_back(0);
      dims.push_back(in[d]);
      strides.push_back(in_strides[d]);
    }
    walk_ = single_walk(dims, strides, 0);
  }
};

// Slice (opset >= 10: starts, ends, axes, steps as inputs; older: attributes).
class SliceKernel final : public WalkKernel {
 public:
  explicit SliceKernel(const KernelContext& ctx) : WalkKernel(ctx, "own:slice") {
    if (op().has_attr("starts")) {
      plan(op().attr_ints("starts", {}), op().attr_ints("ends", {}), op().attr_ints("axes", {}), {});
      planned_ = true;
      return;
    }
    bool constant = true;
    for (std::size_t i = 1; i < in_types_.size() && i < 5; ++i) constant = constant && (!has_input(ctx, i) || ctx.input_is_weight(i));
    if (!has_input(ctx, 1) || !has_input(ctx, 2)) throw Error(where_, "needs starts and ends");
    if (constant) {
      plan_from([&](std::size_t i) { return weight_view(ctx.input_tensor(i)); }, in_types_.size());
      planned_ = true;
    }
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (!planned_) plan_from([&](std::size_t i) { return in[i]; }, in.size());
    strided_copy(walk_, in[0].data, out[0].data, element_size_);
  }

 private:
  template <class ViewOf> void plan_from(ViewOf view_of, std::size_t count) {
    auto ints = [&](std::size_t i, const char* what) {
      if (i >= count || in_types_[i] == DType::undefined) return std::vector<std::int64_t>{};
      return read_ints(view_of(i), where_, what);
    };
    plan(ints(1, "starts"), ints(2, "ends"), ints(3, "axes"), ints(4, "steps"));
  }

  void plan(const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends, std::vector<std::int64_t> axes,
            std::vector<std::int64_t> steps) {
    const Shape& in = in_shapes_[0];
    const auto rank = std::int64_t(in.size());
    if (starts.size() != ends.size()) throw Error(where_, "starts and ends differ in length");
    if (axes.empty()) {
      axes.resize(starts.size());
      std::iota(axes.begin(), axes.end(), 0);
    }
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) throw Error(where_, "starts, ends, axes and steps differ in length");
    Shape out = in;
    std::vector<std::int64_t> first(in.size(), 0), step(in.size(), 1);
    std::vector<bool> seen(in.size(), false);
    for (std::size_t i = 0; i < starts.size(); ++i) {
      const auto a = std::size_t(normalize_axis(axes[i], rank, where_));
      if (seen[a]) throw Error(where_, "axis " + std::to_string(a) + " is sliced twice");
      seen[a] = true;
      const std::int64_t dim = in[a], s = steps[i];
      if (s == 0) throw Error(where_, "a step is 0");
      std::int64_t b = starts[i], e = ends[i];
      if (b < 0) b += dim;
      if (e < 0) e += dim;
      std::int64_t len;
      if (s > 0) {
        b = std::clamp<std::int64_t>(b, 0, dim);
        e = std::clamp<std::int64_t>(e, 0, dim);
        len = e > b ? (e - b + s - 1) / s : 0;
      } else {
        b = std::clamp<std::int64_t>(b, 0, dim - 1);
        e = std::clamp<std::int64_t>(e, -1, dim - 1);
        len = b > e ? (b - e + (-s) - 1) / (-s) : 0;
      }
      out[a] = len;
      first[a] = len > 0 ? b : 0;
      step[a] = s;
    }
    if (out != out_shapes_[0]) {
      throw Error(where_, "the slice gives " + graph::shape_string(out) + ", the graph promised " + graph::shape_string(out_shapes_[0]));
    }
    const auto in_strides = row_major_strides(in);
    std::vector<std::int64_t> strides(in.size());
    std::int64_t offset = 0;
    for (std::size_t d = 0; d < in.size(); ++d) {
      strides[d] = in_strides[d] * step[d];
      offset += first[d] * in_strides[d];
    }
    walk_ = single_walk(out, strides, offset);
  }

  bool planned_ = false;
};

// ---- Gather -----------------------------------------------------------------------------

// out[o, j, i] = data[o, index[j], i] over the axis; rows of `inner` elements move as blocks.
class GatherKernel final : public OwnKernel {
 public:
  explicit GatherKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:gather") {
    if (in_types_.size() != 2 || in_types_[1] == DType::undefined) throw Error(where_, "needs data and indices");
    if (in_types_[1] != DType::i64 && in_types_[1] != DType::i32) throw Error(where_, "indices must be int64 or int32");
    if (out_types_.at(0) != in_types_[0]) throw Error(where_, "the output's element type differs from the data's");
    const Shape& data = in_shapes_[0];
    const Shape& idx = in_shapes_[1];
    const auto rank = std::int64_t(data.size());
    if (rank == 0) throw Error(where_, "cannot gather from a scalar");
    const auto axis = std::size_t(normalize_axis(op().attr_int("axis", 0), rank, where_));
    Shape out(data.begin(), data.begin() + std::ptrdiff_t(axis));
    out.insert(out.end(), idx.begin(), idx.end());
    out.insert(out.end(), data.begin() + std::ptrdiff_t(axis) + 1, data.end());
    if (out != out_shapes_[0]) throw Error(where_, "gives " + graph::shape_string(out) + ", the graph promised " + graph::shape_string(out_shapes_[0]));
    outer_ = product(data, 0, axis);
    axis_len_ = data[axis];
    inner_ = product(data, axis + 1, data.size());
    element_size_ = graph::dtype_size(in_types_[0]);
    index_.resize(std::size_t(graph::element_count(idx)));
    if (auto w = constant_input(ctx, 1)) {
      normalize(*w);
      constant_ = true;
    }
  }

  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (!constant_) normalize(in[1]);
    const std::int64_t count = std::int64_t(index_.size());
    const std::size_t row = std::size_t(inner_) * element_size_;
    const auto* src = static_cast<const char*>(in[0].data);
    auto* dst = static_cast<char*>(out[0].data);
    const std::int64_t* index = index_.data();
    const std::int64_t items = outer_ * count;
    const bool parallel = out[0].elements() >= kParallelElements;
    if (inner_ == 1) {
      // One element per index (embedding of scalars, shape gathers): a typed loop.
      dispatch_size(element_size_, [&](auto tag) {
        using U = typename decltype(tag)::type;
        const U* s = reinterpret_cast<const U*>(src);
        U* d = reinterpret_cast<U*>(dst);
        parallel_ranges(items, parallel, [&](std::int64_t b, std::int64_t e) {
          std::int64_t o = b / count, j = b % count;
          for (std::int64_t w = b; w < e; ++w) {
            d[w] = s[o * axis_len_ + index[j]];
            if (++j == count) j = 0, ++o;
          }
        });
      });
      return;
    }
    parallel_ranges(items, parallel, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t w = b; w < e; ++w) {
        const std::int64_t o = w / count, j = w % count;
        std::memcpy(dst + std::size_t(w) * row, src + std::size_t(o * axis_len_ + index[j]) * row, row);
      }
    });
  }

 private:
  // Validates every index before any is used: an index out of range is bad data, never a
  // read outside the table.
  void normalize(const TensorView& v) {
    const std::size_t n = index_.size();
    auto take = [&](auto* p) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t k = std::int64_t(p[i]);
        if (k < -axis_len_ || k >= axis_len_) {
          throw Error(where_, "index " + std::to_string(k) + " is out of range for an axis of " + std::to_string(axis_len_));
        }
        index_[i] = k < 0 ? k + axis_len_ : k;
      }
    };
    if (v.dtype == DType::i64) take(static_cast<const std::int64_t*>(v.data));
    else take(static_cast<const std::int32_t*>(v.data));
  }

  std::int64_t outer_ = 1, axis_len_ = 0, inner_ = 1;
  std::size_t element_size_ = 0;
  std::vector<std::int64_t> index_;
  bool constant_ = false;
};

// ---- Concat, Split ----------------------------------------------------------------------

// Concat and Split move blocks: for each of `outer` rows, piece k of (size_k x inner)
// elements. The sizes come from the graph's static shapes (Split's own split input or
// attribute only says what the shapes already do).
struct Blocks {
  std::int64_t outer = 1, inner = 1, axis_total = 0;
  std::vector<std::int64_t> sizes, starts;  // along the axis, per piece
  std::size_t element_size = 0;
};

Blocks make_blocks(const std::vector<Shape>& pieces, const Shape& whole, std::int64_t axis_attr, DType t,
                   const std::string& where) {
  Blocks b;
  const auto rank = std::int64_t(whole.size());
  if (rank == 0) throw Error(where, "cannot concatenate or split scalars");
  const auto axis = std::size_t(normalize_axis(axis_attr, rank, where));
  b.outer = product(whole, 0, axis);
  b.inner = product(whole, axis + 1, whole.size());
  b.axis_total = whole[axis];
  b.element_size = graph::dtype_size(t);
  std::int64_t start = 0;
  for (const Shape& p : pieces) {
    if (p.size() != whole.size()) throw Error(where, "pieces differ in rank");
    for (std::size_t d = 0; d < p.size(); ++d) {
      if (d != axis && p[d] != whole[d]) {
        throw Error(where, "piece " + graph::shape_string(p) + " does not match " + graph::shape_string(whole) + " off the axis");
      }
    }
    b.sizes.push_back(p[axis]);
    b.starts.push_back(start);
    start += p[axis];
  }
  if (start != b.axis_total) throw Error(where, "the pieces do not add up to the axis (" + std::to_string(start) + " of " + std::to_string(b.axis_total) + ")");
  return b;
}

// Copies piece k of every row between `pieces[k]` and `whole`; to_whole selects the direction.
void move_blocks(const Blocks& b, std::span<char* const> pieces, char* whole, bool to_whole) {
  const auto count = std::int64_t(pieces.size());
  const std::size_t unit = std::size_t(b.inner) * b.element_size;
  const bool parallel = b.outer * b.axis_total * b.inner >= kParallelElements;
  parallel_ranges(b.outer * count, parallel, [&](std::int64_t w0, std::int64_t w1) {
    for (std::int64_t w = w0; w < w1; ++w) {
      const auto o = std::size_t(w / count), k = std::size_t(w % count);
      if (b.sizes[k] == 0 || pieces[k] == nullptr) continue;
      const std::size_t len = std::size_t(b.sizes[k]) * unit;
      char* p = pieces[k] + o * len;
      char* q = whole + (o * std::size_t(b.axis_total) + std::size_t(b.starts[k])) * unit;
      if (to_whole) std::memcpy(q, p, len);
      else std::memcpy(p, q, len);
    }
  });
}

class ConcatKernel final : public OwnKernel {
 public:
  explicit ConcatKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:concat") {
    if (!op().has_attr("axis")) throw Error(where_, "needs the axis attribute");
    for (DType t : in_types_) {
      if (t != out_types_.at(0)) throw Error(where_, "inputs and output must have one element type");
    }
    blocks_ = make_blocks(in_shapes_, out_shapes_[0], op().attr_int("axis", 0), out_types_[0], where_);
    pointers_.resize(in_shapes_.size());
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    for (std::size_t k = 0; k < in.size(); ++k) pointers_[k] = static_cast<char*>(in[k].data);  // read only
    move_blocks(blocks_, pointers_, static_cast<char*>(out[0].data), true);
  }

 private:
  Blocks blocks_;
  std::vector<char*> pointers_;
};

class SplitKernel final : public OwnKernel {
 public:
  explicit SplitKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:split") {
    for (DType t : out_types_) {
      if (t != DType::undefined && t != in_types_.at(0)) throw Error(where_, "outputs must have the input's element type");
    }
    // An omitted output still takes its share of the axis: its shape is not known here, so
    // all outputs must be named (exporters name them all).
    for (DType t : out_types_) {
      if (t == DType::undefined) throw Error(where_, "an omitted Split output is not supported");
    }
    blocks_ = make_blocks(out_shapes_, in_shapes_[0], op().attr_int("axis", 0), in_types_[0], where_);
    pointers_.resize(out_shapes_.size());
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    for (std::size_t k = 0; k < out.size(); ++k) pointers_[k] = static_cast<char*>(out[k].data);
    move_blocks(blocks_, pointers_, static_cast<char*>(in[0].data), false);
  }

 private:
  Blocks blocks_;
  std::vector<char*> pointers_;
};

// ---- Pad --------------------------------------------------------------------------------

// Per output dimension, which input index each output index reads (-1: the constant). Rows
// (the last dimension) copy their in-range middle in one block.
class PadKernel final : public OwnKernel {
 public:
  explicit PadKernel(const KernelContext& ctx) : OwnKernel(ctx, "own:pad") {
    if (out_types_.at(0) != in_types_.at(0)) throw Error(where_, "the output's element type differs from the input's");
    mode_ = op().attr_string("mode", "constant");
    if (mode_ != "constant" && mode_ != "reflect" && mode_ != "edge") throw Error(where_, "mode '" + mode_ + "' is not supported");
    if (in_types_.size() > 3 && in_types_[3] != DType::undefined) throw Error(where_, "the axes input (opset 18) is not supported");
    element_size_ = graph::dtype_size(in_types_[0]);
    // The fill value's bits in the element type; zero unless given.
    constant_.assign(element_size_, 0);
    if (op().has_attr("value")) {
      const double v = op().attr_float("value", 0.0);
      dispatch(in_types_[0], NumericTypes{}, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T x = convert_from_double<T>(v);
        std::memcpy(constant_.data(), &x, sizeof x);
      });
    }
    if (in_types_.size() > 2 && in_types_[2] != DType::undefined) {
      if (in_types_[2] != in_types_[0] || graph::element_count(in_shapes_[2]) != 1) {
        throw Error(where_, "constant_value must be a scalar of the input's element type");
      }
    }
    if (op().has_attr("pads")) {
      plan(op().attr_ints("pads", {}));
    } else if (!has_input(ctx, 1)) {
      throw Error(where_, "needs pads");
    } else if (auto p = constant_input(ctx, 1)) {
      plan(read_ints(*p, where_, "pads"));
    }
  }

  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    if (!planned_) plan(read_ints(in[1], where_, "pads"));
    if (in.size() > 2 && in[2].present()) std::memcpy(constant_.data(), in[2].data, element_size_);
    dispatch_size(element_size_, [&](auto tag) {
      using U = typename decltype(tag)::type;
      pad(static_cast<const U*>(in[0].data), static_cast<U*>(out[0].data));
    });
  }

 private:
  void plan(const std::vector<std::int64_t>& pads) {
    const Shape& in = in_shapes_[0];
    const std::size_t r = in.size();
    if (pads.size() != 2 * r) throw Error(where_, "pads has " + std::to_string(pads.size()) + " values for rank " + std::to_string(r));
    Shape out(r);
    for (std::size_t d = 0; d < r; ++d) out[d] = in[d] + pads[d] + pads[d + r];
    if (out != out_shapes_[0]) throw Error(where_, "pads give " + graph::shape_string(out) + ", the graph promised " + graph::shape_string(out_shapes_[0]));
    map_.assign(r, {});
    for (std::size_t d = 0; d < r; ++d) {
      if (in[d] == 0 && out[d] > 0 && mode_ != "constant") throw Error(where_, "cannot " + mode_ + "-pad an empty axis");
      for (std::int64_t i = 0; i < out[d]; ++i) map_[d].push_back(source(i - pads[d], in[d]));
    }
    in_strides_ = row_major_strides(in);
    // The run of the last dimension where output index i reads input index i - pad: one
    // block copy per row.
    if (r > 0) {
      const std::int64_t begin = pads[r - 1];
      lo_ = std::clamp<std::int64_t>(begin, 0, out[r - 1]);
      hi_ = std::clamp<std::int64_t>(begin + in[r - 1], lo_, out[r - 1]);
    }
    planned_ = true;
  }

  std::int64_t source(std::int64_t s, std::int64_t n) const {
    if (s >= 0 && s < n) return s;
    if (mode_ == "constant") return -1;
    if (mode_ == "edge") return s < 0 ? 0 : n - 1;
    if (n == 1) return 0;  // reflect: numpy repeats the single element
    const std::int64_t period = 2 * (n - 1);
    std::int64_t m = s % period;
    if (m < 0) m += period;
    return m < n ? m : period - m;
  }

  template <class U> void pad(const U* src, U* dst) const {
    const Shape& out = out_shapes_[0];
    const std::size_t r = out.size();
    U fill;
    std::memcpy(&fill, constant_.data(), sizeof fill);
    if (r == 0) {
      dst[0] = src[0];
      return;
    }
    const std::int64_t len = out[r - 1];
    const std::int64_t rows = len == 0 ? 0 : graph::element_count(out) / len;
    const std::vector<std::int64_t>& last = map_[r - 1];
    const std::int64_t lo = lo_, hi = hi_;
    parallel_ranges(rows, graph::element_count(out) >= kParallelElements, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t row = b; row < e; ++row) {
        U* to = dst + row * len;
        std::int64_t base = 0;
        bool inside = true;
        for (std::size_t d = r - 1, rest = std::size_t(row); d-- > 0;) {
          const std::int64_t s = map_[d][rest % std::size_t(out[d])];
          rest /= std::size_t(out[d]);
          if (s < 0) {
            inside = false;
            break;
          }
          base += s * in_strides_[d];
        }
        if (!inside) {
          std::fill(to, to + len, fill);
          continue;
        }
        const U* from = src + base;
        for (std::int64_t i = 0; i < lo; ++i) to[i] = last[std::size_t(i)] < 0 ? fill : from[last[std::size_t(i)]];
        if (hi > lo) std::memcpy(to + lo, from + last[std::size_t(lo)], std::size_t(hi - lo) * sizeof(U));
        for (std::int64_t i = hi; i < len; ++i) to[i] = last[std::size_t(i)] < 0 ? fill : from[last[std::size_t(i)]];
      }
    });
  }

  std::string mode_;
  std::size_t element_size_ = 0;
  std::vector<unsigned char> constant_;
  std::vector<std::vector<std::int64_t>> map_;
  std::vector<std::int64_t> in_strides_;
  std::int64_t lo_ = 0, hi_ = 0;
  bool planned_ = false;
};

}  // namespace

std::unique_ptr<CpuKernel> make_data_movement_kernel(const KernelContext& ctx) {
  const std::string& type = ctx.root().type;
  if (ctx.group.inputs.empty() || !has_input(ctx, 0) || ctx.group.outputs.empty()) {
    throw Error(op_where(ctx.root()), "needs an input and an output");
  }
  if (graph::dtype_size(ctx.input_tensor(0).dtype) == 0 || ctx.input_tensor(0).dtype == DType::string) {
    throw Error(op_where(ctx.root()), "element type " + std::string(graph::dtype_name(ctx.input_tensor(0).dtype)) +
                                          " is not supported on the CPU");
  }
  if (type == "Reshape" || type == "Flatten" || type == "Squeeze" || type == "Unsqueeze" || type == "Identity") {
    return std::make_unique<CopyKernel>(ctx);
  }
  if (type == "Dropout") return std::make_unique<DropoutKernel>(ctx);
  if (type == "Transpose") return std::make_unique<TransposeKernel>(ctx);
  if (type == "Expand") return std::make_unique<ExpandKernel>(ctx);
  if (type == "Tile") return std::make_unique<TileKernel>(ctx);
  if (type == "Slice") return std::make_unique<SliceKernel>(ctx);
  if (type == "Gather") return std::make_unique<GatherKernel>(ctx);
  if (type == "Concat") return std::make_unique<ConcatKernel>(ctx);
  if (type == "Split") return std::make_unique<SplitKernel>(ctx);
  if (type == "Pad") return std::make_unique<PadKernel>(ctx);
  return nullptr;
}

}  // namespace sparoa::hw::own
