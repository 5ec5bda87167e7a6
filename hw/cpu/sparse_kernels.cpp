// The sparse kernel family: operators with a constant weight (Gemm, MatMul, Conv,
// ConvTranspose) computed as CSR(weight) x dense activations (hw/cpu/sparse_spmm.hpp), with
// the fused group's BatchNormalization folded into the CSR values and its post-operations
// applied in the product's epilogue.
//
// Orientation: the weight is always the CSR operand A, so the product runs over the
// activations' columns:
//   Gemm / MatMul, weight second:  Y^T (N x M) = W^T (CSR) * X^T   (X^T packed per panel,
//                                  Y written through a transposed tile)
//   Gemm / MatMul, weight first:   Y (M x N)   = W (CSR) * X
//   Conv:                          Y_img (Cout x OH*OW) = W (CSR over input offsets) * X_img,
//                                  read straight from a padded copy of the input (below)
//   ConvTranspose:                 cols (Cout*KH*KW x H*W) = W^T (CSR) * X_img, then col2im.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>

#include "hw/cpu/cpu_kernel.hpp"
#include "hw/cpu/sparse_spmm.hpp"
#include "support/error.hpp"

namespace sparoa::hw {
namespace {

std::string where_of(const graph::Operator& op) { return "operator '" + op.name + "' (" + op.type + ")"; }

std::string density_text(const CsrMatrix& a) {
  std::ostringstream s;
  s.precision(3);
  s << "density " << a.density() << ", " << sparse::best_kernel_set().isa;
  return s.str();
}

// A weight's floats, read where they are when suitably aligned, else from a copy (graph
// data may point anywhere into a mapped model file).
class WeightFloats {
 public:
  WeightFloats(const graph::Tensor& t, const std::string& where) {
    if (t.dtype != graph::DType::f32) throw Error(where, "weight '" + t.name + "' is not float32");
    const TensorView v = weight_view(t);
    if (reinterpret_cast<std::uintptr_t>(v.data) % alignof(float) == 0) {
      data_ = static_cast<const float*>(v.data);
    } else {
      copy_.resize(std::size_t(v.elements()));
      std::memcpy(copy_.data(), v.data, copy_.size() * sizeof(float));
      data_ = copy_.data();
    }
  }
  const float* data() const { return data_; }
  const float& operator[](std::size_t i) const { return data_[i]; }

 private:
  const float* data_ = nullptr;
  std::vector<float> copy_;
};

void require_f32(const KernelContext& ctx, std::size_t input, const std::string& where) {
  const std::string& name = ctx.group.inputs.at(input);
  if (name.empty()) return;
  const graph::Tensor& t = ctx.graph->tensor(name);
  if (t.dtype != graph::DType::f32) {
    throw Error(where, "the sparse kernels compute in float32; input '" + name + "' is " + std::string(graph::dtype_name(t.dtype)));
  }
}

void require_weight(const KernelContext& ctx, std::size_t input, const std::string& where) {
  if (!ctx.input_is_weight(input)) {
    throw Error(where, "sparse kernels need constant weights: input '" + ctx.group.inputs.at(input) + "' is computed at run time");
  }
}

// ---------------------------------------------------------------------------------------
// Broadcast operands seen through the product's (unit, row, column) coordinates.

// Strides of `shape` broadcast to `out` (numpy rules, right-aligned), 0 where it broadcasts.
std::vector<std::int64_t> broadcast_strides(const graph::Shape& shape, const graph::Shape& out, const std::string& where,
                                            const std::string& what) {
  if (shape.size() > out.size()) throw Error(where, what + " has more dimensions than the output");
  const auto strides = row_major_strides(shape);
  std::vector<std::int64_t> bs(out.size(), 0);
  const std::size_t lead = out.size() - shape.size();
  for (std::size_t d = 0; d < shape.size(); ++d) {
    const std::int64_t s = shape[d], o = out[lead + d];
    if (s == o && s != 1) {
      bs[lead + d] = strides[d];
    } else if (s != 1) {
      throw Error(where, what + " of shape " + graph::shape_string(shape) + " does not broadcast to the output " + graph::shape_string(out));
    }
  }
  return bs;
}

// The stride of the flattened index of out's dimensions [d0, d1) in the operand: 0 when the
// operand is broadcast over all of them, s when they are contiguous with innermost stride s;
// nullopt otherwise (e.g. broadcast over some of them only).
std::optional<std::int64_t> group_stride(const std::vector<std::int64_t>& bs, const graph::Shape& out, std::size_t d0,
                                         std::size_t d1) {
  bool all_zero = true;
  for (std::size_t d = d0; d < d1; ++d) all_zero = all_zero && (out[d] == 1 || bs[d] == 0);
  if (all_zero) return 0;
  std::int64_t s = -1, span = 1;
  for (std::size_t d = d1; d-- > d0;) {
    if (out[d] == 1) continue;
    if (s < 0) {
      if (bs[d] == 0) return std::nullopt;
      s = bs[d];
      span = out[d];
    } else {
      if (bs[d] != s * span) return std::nullopt;
      span *= out[d];
    }
  }
  return s;
}

struct DimRange {
  std::size_t begin, end;
};

DenseOperand operand_layout(const graph::Shape& shape, const graph::Shape& out, DimRange units, DimRange rows,
                            DimRange cols, const std::string& where, const std::string& what) {
  const auto bs = broadcast_strides(shape, out, where, what);
  auto stride = [&](DimRange r) {
    auto s = group_stride(bs, out, r.begin, r.end);
    if (!s) {
      throw Error(where, what + " of shape " + graph::shape_string(shape) + " broadcasts to the output " + graph::shape_string(out) +
                             " in a way the sparse kernel's epilogue cannot read (it must be complete or broadcast over whole "
                             "batch, channel/row or spatial/column groups)");
    }
    return *s;
  };
  DenseOperand o;
  o.unit_stride = stride(units);
  o.row_stride = stride(rows);
  o.col_stride = stride(cols);
  return o;
}

// The fused post-operations as epilogue steps; the add operands' data pointers are filled in
// at run time from the inputs (add_inputs[k] = input index of step k, or npos).
struct EpilogueTemplate {
  SpmmEpilogue epilogue;
  std::vector<std::size_t> add_inputs;

  void add(const DenseOperand& layout, std::size_t input, float scale) {
    SpmmEpilogue::Step s;
    s.kind = SpmmEpilogue::Step::Kind::add;
    s.operand = layout;
    s.scale = scale;
    epilogue.steps.push_back(s);
    add_inputs.push_back(input);
  }
  void eltwise(const EltwiseParams& e) {
    SpmmEpilogue::Step s;
    s.kind = SpmmEpilogue::Step::Kind::eltwise;
    s.eltwise = e;
    epilogue.steps.push_back(s);
    add_inputs.push_back(std::size_t(-1));
  }
  // The post-ops of the group; `layout(shape)` maps an added tensor's shape to its layout.
  template <class Layout>
  void post_ops(const KernelContext& ctx, Layout&& layout) {
    for (const PostOp& p : ctx.group.post_ops) {
      if (p.kind == PostOp::Kind::eltwise) {
        eltwise(p.eltwise);
      } else {
        const graph::Tensor& t = ctx.input_tensor(p.add_input);
        if (t.dtype != graph::DType::f32) throw Error(where_of(ctx.graph->op(p.op)), "can only fuse a float32 addition");
        add(layout(t.shape, "the added tensor '" + t.name + "'"), p.add_input, 1.0f);
      }
    }
  }
  SpmmEpilogue bind(std::span<const TensorView> inputs) const {
    SpmmEpilogue e = epilogue;
    for (std::size_t k = 0; k < e.steps.size(); ++k) {
      if (add_inputs[k] != std::size_t(-1)) e.steps[k].operand.data = inputs[add_inputs[k]].as<float>();
    }
    return e;
  }
};

// ---------------------------------------------------------------------------------------
// Gemm and MatMul: one SpMM over (units x columns).

// What a Gemm or MatMul computes, as one product over (units x columns).
struct SpmmSetup {
  CsrMatrix a;
  std::int64_t units = 1, n = 0;
  std::size_t b_input = 0;  // the activations' input index
  DenseOperand b_layout;    // data filled at run time
  DenseResult c_layout;
  EpilogueTemplate epilogue;
  int threads = 1;
  std::string what;
};

class SpmmKernel final : public CpuKernel {
 public:
  explicit SpmmKernel(SpmmSetup setup) : s_(std::move(setup)) {}

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    DenseOperand b = s_.b_layout;
    b.data = inputs[s_.b_input].as<float>();
    DenseResult c = s_.c_layout;
    c.data = outputs[0].as<float>();
    spmm(s_.a, s_.units, s_.n, b, c, s_.epilogue.bind(inputs), s_.threads, scratch_);
  }
  std::string implementation() const override { return "sparse:csr-spmm (" + s_.what + ", " + density_text(s_.a) + ")"; }

 private:
  SpmmSetup s_;
  SpmmScratch scratch_;
};

std::unique_ptr<CpuKernel> make_gemm(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  const std::string where = where_of(op);
  for (std::size_t i = 0; i < std::min<std::size_t>(3, op.inputs.size()); ++i) require_f32(ctx, i, where);
  const graph::Tensor& ta = ctx.input_tensor(0);
  const graph::Tensor& tb = ctx.input_tensor(1);
  const graph::Tensor& ty = ctx.graph->tensor(ctx.root().outputs.at(0));
  if (ta.shape.size() != 2 || tb.shape.size() != 2) throw Error(where, "Gemm needs 2-D A and B");
  const bool trans_a = op.attr_int("transA", 0) != 0, trans_b = op.attr_int("transB", 0) != 0;
  const float alpha = float(op.attr_float("alpha", 1.0)), beta = float(op.attr_float("beta", 1.0));
  const std::int64_t m = trans_a ? ta.shape[1] : ta.shape[0], k = trans_a ? ta.shape[0] : ta.shape[1];
  const std::int64_t n = trans_b ? tb.shape[0] : tb.shape[1];
  if ((trans_b ? tb.shape[1] : tb.shape[0]) != k) throw Error(where, "A and B have different inner dimensions");
  const graph::Shape out = {m, n};
  if (ty.shape != out) throw Error(where, "output shape " + graph::shape_string(ty.shape) + " is not " + graph::shape_string(out));

  SpmmSetup setup;
  setup.threads = std::max(1, ctx.threads);
  // The orientation that makes the weight the CSR operand (B when both are constant).
  const bool weight_b = ctx.input_is_weight(1);
  if (!weight_b && !ctx.input_is_weight(0)) {
    throw Error(where, "sparse kernels need constant weights: neither A nor B is a constant");
  }
  DimRange rows{0, 1}, cols{1, 2};
  if (weight_b) {
    // Y^T = op(B)^T op(A)^T: CSR rows are Y's columns n, the product's columns are Y's rows m.
    const WeightFloats w(tb, where);
    setup.a = trans_b ? CsrMatrix::from_dense(w.data(), n, k) : CsrMatrix::from_dense_transposed(w.data(), k, n);
    setup.b_input = 0;
    setup.b_layout = trans_a ? DenseOperand{nullptr, m, 1, 0} : DenseOperand{nullptr, 1, k, 0};
    setup.c_layout = DenseResult{nullptr, 1, n, 0};
    setup.n = m;
    std::swap(rows, cols);
    setup.what = "gemm, weight B";
  } else {
    const WeightFloats w(ta, where);
    setup.a = trans_a ? CsrMatrix::from_dense_transposed(w.data(), k, m) : CsrMatrix::from_dense(w.data(), m, k);
    setup.b_input = 1;
    setup.b_layout = trans_b ? DenseOperand{nullptr, 1, k, 0} : DenseOperand{nullptr, n, 1, 0};
    setup.c_layout = DenseResult{nullptr, n, 1, 0};
    setup.n = n;
    setup.what = "gemm, weight A";
  }
  if (alpha != 1.0f) setup.a.scale(alpha);
  auto layout = [&](const graph::Shape& s, const std::string& what) {
    return operand_layout(s, out, DimRange{0, 0}, rows, cols, where, what);
  };
  // The root's own inputs only: group.inputs continues with the tensors post-ops add.
  if (op.inputs.size() > 2 && !op.inputs[2].empty() && beta != 0.0f) {
    setup.epilogue.add(layout(ctx.input_tensor(2).shape, "C"), 2, beta);
  }
  setup.epilogue.post_ops(ctx, layout);
  return std::make_unique<SpmmKernel>(std::move(setup));
}

std::unique_ptr<CpuKernel> make_matmul(const KernelContext& ctx) {
  const graph::Operator& op = ctx.root();
  const std::string where = where_of(op);
  require_f32(ctx, 0, where);
  require_f32(ctx, 1, where);
  const graph::Tensor& ta = ctx.input_tensor(0);
  const graph::Tensor& tb = ctx.input_tensor(1);
  const graph::Shape& out = ctx.graph->tensor(op.outputs.at(0)).shape;
  const std::size_t r = out.size();
  SpmmSetup setup;
  setup.threads = std::max(1, ctx.threads);
  if (ctx.input_is_weight(1)) {
    // X [..., M, K] x W [K, N] (or W [K]): all of X's leading dimensions are rows of Y.
    if (tb.shape.empty() || tb.shape.size() > 2) throw Error(where, "the sparse MatMul needs a 1-D or 2-D constant operand");
    if (ta.shape.empty()) throw Error(where, "MatMul of a scalar");
    const std::int64_t k = ta.shape.back();
    const std::int64_t n = tb.shape.size() == 2 ? tb.shape[1] : 1;
    if (tb.shape[0] != k) throw Error(where, "the operands have different inner dimensions");
    const std::int64_t m = ta.elements() / std::max<std::int64_t>(k, 1);
    if (graph::element_count(out) != m * n) throw Error(where, "unexpected output shape " + graph::shape_string(out));
    const WeightFloats w(tb, where);
    setup.a = CsrMatrix::from_dense_transposed(w.data(), k, n);
    setup.b_input = 0;
    setup.b_layout = DenseOperand{nullptr, 1, k, 0};
    setup.c_layout = DenseResult{nullptr, 1, n, 0};
    setup.n = m;
    setup.what = "matmul, weight B";
    // Product rows = Y's last dimension (none when W is 1-D), columns = everything before it.
    const DimRange rows = tb.shape.size() == 2 ? DimRange{r - 1, r} : DimRange{r, r};
    const DimRange cols = tb.shape.size() == 2 ? DimRange{0, r - 1} : DimRange{0, r};
    setup.epilogue.post_ops(ctx, [&](const graph::Shape& s, const std::string& what) {
      return operand_layout(s, out, DimRange{0, 0}, rows, cols, where, what);
    });
  } else if (ctx.input_is_weight(0)) {
    // W [M, K] (or W [K]) x X [..., K, N] (or X [K]): one product per leading index of X.
    if (ta.shape.empty() || ta.shape.size() > 2) throw Error(where, "the sparse MatMul needs a 1-D or 2-D constant operand");
    if (tb.shape.empty()) throw Error(where, "MatMul of a scalar");
    const std::int64_t m = ta.shape.size() == 2 ? ta.shape[0] : 1;
    const std::int64_t k = ta.shape.back();
    const bool x_vector = tb.shape.size() == 1;
    const std::int64_t n = x_vector ? 1 : tb.shape.back();
    if ((x_vector ? tb.shape[0] : tb.shape[tb.shape.size() - 2]) != k) {
      throw Error(where, "the operands have different inner dimensions");
    }
    const std::int64_t units = tb.elements() / std::max<std::int64_t>(k * n, 1);
    if (graph::element_count(out) != units * m * n) throw Error(where, "unexpected output shape " + graph::shape_string(out));
    const WeightFloats w(ta, where);
    setup.a = CsrMatrix::from_dense(w.data(), m, k);
    setup.b_input = 1;
    setup.b_layout = DenseOperand{nullptr, n, 1, k * n};
    setup.c_layout = DenseResult{nullptr, n, 1, m * n};
    setup.units = units;
    setup.n = n;
    setup.what = "matmul, weight A";
    // Y's dimensions: [batch..., M, N] with M absent when W is 1-D and N absent when X is.
    const std::size_t n_dims = x_vector ? 0 : 1, m_dims = ta.shape.size() == 2 ? 1 : 0;
    const std::size_t batch_end = r - n_dims - m_dims;
    setup.epilogue.post_ops(ctx, [&](const graph::Shape& s, const std::string& what) {
      return operand_layout(s, out, DimRange{0, batch_end}, DimRange{batch_end, batch_end + m_dims}, DimRange{batch_end + m_dims, r},
                            where, what);
    });
  } else {
    throw Error(where, "sparse kernels need constant weights: neither operand is a constant");
  }
  return std::make_unique<SpmmKernel>(std::move(setup));
}

// ---------------------------------------------------------------------------------------
// Convolution geometry (1-D convolutions are 2-D ones with height 1).

struct SparseConvShape {
  std::int64_t batch = 0, c = 0, h = 0, w = 0;  // input
  std::int64_t m = 0, oh = 0, ow = 0;           // output
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  std::int64_t groups = 1;
};

// Begin pads of each spatial axis from pads / auto_pad (resolved from the shapes).
SparseConvShape sparse_conv_shape(const KernelContext& ctx, bool transposed, const std::string& where) {
  const graph::Operator& op = ctx.root();
  const graph::Shape& xs = ctx.input_tensor(0).shape;
  const graph::Shape& ws = ctx.input_tensor(1).shape;
  const graph::Shape& ys = ctx.graph->tensor(op.outputs.at(0)).shape;
  if (xs.size() != 3 && xs.size() != 4) {
    throw Error(where, "the sparse kernels support 1-D and 2-D convolutions; the input has shape " + graph::shape_string(xs));
  }
  if (ws.size() != xs.size() || ys.size() != xs.size()) throw Error(where, "weight, input and output ranks differ");
  const std::size_t spatial = xs.size() - 2;
  SparseConvShape g;
  g.groups = op.attr_int("group", 1);
  g.batch = xs[0];
  g.c = xs[1];
  g.m = ys[1];
  if (g.groups < 1 || g.c % g.groups != 0 || g.m % g.groups != 0) throw Error(where, "channels do not divide into the groups");
  auto attr = [&](const char* key, std::int64_t fallback) {
    auto v = op.attr_ints(key, std::vector<std::int64_t>(spatial, fallback));
    if (v.size() != spatial) throw Error(where, std::string("attribute ") + key + " has the wrong length");
    return v;
  };
  const auto strides = attr("strides", 1), dilations = attr("dilations", 1);
  std::vector<std::int64_t> kernel(ws.begin() + 2, ws.end());
  std::vector<std::int64_t> pads = op.attr_ints("pads", std::vector<std::int64_t>(2 * spatial, 0));
  if (pads.size() != 2 * spatial) throw Error(where, "attribute pads has the wrong length");
  const std::string auto_pad = op.attr_string("auto_pad", "NOTSET");
  const bool output_shape = op.has_attr("output_shape");
  const auto out_pad = transposed ? attr("output_padding", 0) : std::vector<std::int64_t>(spatial, 0);
  for (std::size_t d = 0; d < spatial; ++d) {
    const std::int64_t in = xs[2 + d], outd = ys[2 + d], k = kernel[d], s = strides[d], dil = dilations[d];
    if (s < 1 || dil < 1) throw Error(where, "strides and dilations must be positive");
    if (auto_pad == "VALID") {
      pads[d] = 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" || (transposed && output_shape)) {
      const std::int64_t total = transposed ? s * (in - 1) + out_pad[d] + (k - 1) * dil + 1 - outd
                                            : std::max<std::int64_t>(0, (outd - 1) * s + (k - 1) * dil + 1 - in);
      // ONNX: SAME_UPPER puts the odd pad at the end, SAME_LOWER (and ConvTranspose's
      // output_shape without auto_pad) at the beginning.
      pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad != "NOTSET") {
      throw Error(where, "unknown auto_pad '" + auto_pad + "'");
    }
  }
  const bool one_d = spatial == 1;
  g.h = one_d ? 1 : xs[2];
  g.w = xs.back();
  g.oh = one_d ? 1 : ys[2];
  g.ow = ys.back();
  g.kh = one_d ? 1 : kernel[0];
  g.kw = kernel.back();
  g.sh = one_d ? 1 : strides[0];
  g.sw = strides.back();
  g.dh = one_d ? 1 : dilations[0];
  g.dw = dilations.back();
  g.pt = one_d ? 0 : pads[0];
  g.pl = pads[spatial - 1];
  if (g.pt < 0 || g.pl < 0) throw Error(where, "negative pads are not supported");
  return g;
}

// Bias (input 2, a weight or a run-time tensor) and a folded BatchNormalization as one
// per-output-channel vector: bias * scale + shift.
struct ChannelBias {
  std::vector<float> scale, shift;  // scale empty: no BatchNormalization
  std::vector<float> constant;      // the whole bias when it is known at construction
  std::optional<std::size_t> runtime_input;
  std::vector<float> scratch;
  bool any = false;

  void init(const KernelContext& ctx, std::int64_t channels, const std::string& where) {
    if (ctx.group.batch_norm) {
      scale = ctx.group.batch_norm->scale;
      shift = ctx.group.batch_norm->shift;
      any = true;
    }
    const bool has_bias = ctx.root().inputs.size() > 2 && !ctx.root().inputs[2].empty();
    if (has_bias) {
      require_f32(ctx, 2, where);
      if (ctx.input_tensor(2).elements() != channels) throw Error(where, "the bias must have one value per output channel");
      any = true;
    }
    if (!any) return;
    if (has_bias && !ctx.input_is_weight(2)) {
      runtime_input = 2;
      return;
    }
    if (has_bias) {
      constant = fold(WeightFloats(ctx.input_tensor(2), where).data(), channels);
    } else {
      const std::vector<float> zero(std::size_t(channels), 0.0f);
      constant = fold(zero.data(), channels);
    }
  }
  std::vector<float> fold(const float* b, std::int64_t channels) const {
    std::vector<float> out(b, b + channels);
    if (!scale.empty()) {
      for (std::int64_t i = 0; i < channels; ++i) out[std::size_t(i)] = out[std::size_t(i)] * scale[std::size_t(i)] + shift[std::size_t(i)];
    }
    return out;
  }
  const float* get(std::span<const TensorView> inputs, std::int64_t channels) {
    if (!any) return nullptr;
    if (!runtime_input) return constant.data();
    scratch = fold(inputs[*runtime_input].as<float>(), channels);
    return scratch.data();
  }
};

// Conv: Y[img] (Cout x OH*OW) = W * X[img], with W's column index the offset of the input
// value each weight multiplies. The input is copied once per run into a zero-padded buffer
// split into stride phases: phase (ph, pw) of channel c holds x_pad[c][a*sh + ph][b*sw + pw]
// at [a][b]. Output (oh, ow) under kernel tap (kh, kw) then reads phase ((kh*dh) % sh,
// (kw*dw) % sw) at [oh + (kh*dh)/sh][ow + (kw*dw)/sw]: for a fixed tap that is a contiguous
// run along ow, so every stride and dilation becomes a stride-1 product over "wide" rows of
// Wq columns (the Wq - OW extra columns of each row are computed and dropped), and no
// im2col matrix is ever built: the taps of a channel read overlapping windows of one
// buffer, a third of the footprint of a packed taps x width panel (measured: copying each
// panel's taps into an aligned block, which avoids the split loads of shifted taps, ran
// 1.2-3.5x slower). A 1x1 convolution with stride 1 and no padding reads X itself.
class ConvKernel final : public CpuKernel {
 public:
  ConvKernel(const KernelContext& ctx, const std::string& where) : threads_(std::max(1, ctx.threads)) {
    g_ = sparse_conv_shape(ctx, false, where);
    const graph::Shape& ws = ctx.input_tensor(1).shape;
    if (ws[0] != g_.m || ws[1] * g_.groups != g_.c) throw Error(where, "weight shape does not match the channels and groups");
    const WeightFloats w(ctx.input_tensor(1), where);
    pointwise_ = g_.kh == 1 && g_.kw == 1 && g_.sh == 1 && g_.sw == 1 && g_.pt == 0 && g_.pl == 0 && g_.oh == g_.h && g_.ow == g_.w;
    const std::int64_t cg = g_.c / g_.groups, mg = g_.m / g_.groups, taps = g_.kh * g_.kw;
    if (pointwise_) {
      hq_ = g_.h;
      wq_ = g_.w;
    } else {
      const std::int64_t hp = std::max(g_.h + g_.pt, (g_.oh - 1) * g_.sh + (g_.kh - 1) * g_.dh + 1);
      const std::int64_t wp = std::max(g_.w + g_.pl, (g_.ow - 1) * g_.sw + (g_.kw - 1) * g_.dw + 1);
      hq_ = (hp + g_.sh - 1) / g_.sh;
      wq_ = (wp + g_.sw - 1) / g_.sw;
    }
    const std::int64_t plane = hq_ * wq_;
    const std::int64_t phases = g_.sh * g_.sw;
    auto offset = [&](std::int64_t c, std::int64_t kh, std::int64_t kw) -> std::int64_t {
      if (pointwise_) return c;  // row c of X (ldb = H*W)
      const std::int64_t th = kh * g_.dh, tw = kw * g_.dw;
      return (c * phases + (th % g_.sh) * g_.sw + tw % g_.sw) * plane + (th / g_.sh) * wq_ + tw / g_.sw;
    };
    // Offsets stay below one image of phases (or C rows of X).
    const std::int64_t image = pointwise_ ? g_.c : g_.c * phases * plane;
    if (image >= std::numeric_limits<std::int32_t>::max()) throw Error(where, "the input is too large for the sparse convolution");

    // CSR over offsets, each row sorted by offset (with strides, taps are not in offset order).
    std::vector<std::int64_t> row_ptr(std::size_t(g_.m) + 1, 0);
    std::vector<std::int32_t> cols;
    std::vector<float> vals;
    std::vector<std::pair<std::int32_t, float>> row;
    for (std::int64_t o = 0; o < g_.m; ++o) {
      row.clear();
      const std::int64_t c0 = (o / mg) * cg;
      for (std::int64_t cl = 0; cl < cg; ++cl) {
        for (std::int64_t kh = 0; kh < g_.kh; ++kh) {
          for (std::int64_t kw = 0; kw < g_.kw; ++kw) {
            const float v = w[std::size_t(((o * cg + cl) * g_.kh + kh) * g_.kw + kw)];
            if (v != 0.0f) row.emplace_back(std::int32_t(offset(c0 + cl, kh, kw)), v);
          }
        }
      }
      std::sort(row.begin(), row.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      for (const auto& [c, v] : row) {
        cols.push_back(c);
        vals.push_back(v);
      }
      row_ptr[std::size_t(o + 1)] = std::int64_t(cols.size());
    }
    std::int64_t max_offset = 0;
    for (const std::int32_t c : cols) max_offset = std::max<std::int64_t>(max_offset, c);
    a_ = CsrMatrix(g_.m, image, std::move(row_ptr), std::move(cols), std::move(vals));
    density_ = double(a_.nnz()) / double(std::max<std::int64_t>(1, g_.m * cg * taps));
    bias_.init(ctx, g_.m, where);
    if (!bias_.scale.empty()) a_.scale_rows(bias_.scale);

    const graph::Shape& ys = ctx.graph->tensor(ctx.root().outputs.at(0)).shape;
    const std::size_t r = ys.size();
    epilogue_.post_ops(ctx, [&](const graph::Shape& s, const std::string& what) {
      return operand_layout(s, ys, DimRange{0, 1}, DimRange{1, 2}, DimRange{2, r}, where, what);
    });
    for (const auto& step : epilogue_.epilogue.steps) {
      if (step.kind == SpmmEpilogue::Step::Kind::add && step.operand.col_stride > 1) {
        throw Error(where, "an added tensor must be complete or broadcast over the whole spatial extent");
      }
    }

    if (!pointwise_) {
      plan_ = sparse::make_plan(a_, g_.batch, g_.oh * wq_, threads_);
      // A panel reads, per input channel, a window of each phase it uses: when all channels'
      // windows exceed L1, the rows run in channel ranges of about 24 KiB of windows.
      const std::int64_t window = std::min(phases, taps) * (((g_.kh - 1) * g_.dh / g_.sh) * wq_ + (g_.kw - 1) * g_.dw / g_.sw + plan_.max_width);
      const std::int64_t per_range = std::max<std::int64_t>(1, (24 << 10) / (std::int64_t(sizeof(float)) * window));
      if (g_.c > 2 * per_range) {
        std::vector<std::int64_t> thresholds;
        for (std::int64_t c = per_range; c < g_.c; c += per_range) thresholds.push_back(c * phases * plane);
        sparse::split_columns(plan_, a_, thresholds, 32.0);
      }
      // The images' phases one after the other. A panel reads up to max_offset + covered
      // floats past its image's start: the dropped columns of an image may read the next
      // one, and the last image needs that much room (zero: finite) after it.
      image_stride_ = (image + 15) / 16 * 16;
      const std::int64_t total = std::max(g_.batch * image_stride_, (g_.batch - 1) * image_stride_ + max_offset + plan_.covered());
      padded_ = AlignedBuffer(std::size_t(total) * sizeof(float));
    }
    what_ = (pointwise_ ? "conv 1x1" : "conv " + std::to_string(g_.kh) + "x" + std::to_string(g_.kw) + " direct") +
            (g_.groups > 1 ? ", " + std::to_string(g_.groups) + " groups" : "");
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    const float* x = inputs[0].as<float>();
    float* y = outputs[0].as<float>();
    SpmmEpilogue ep = epilogue_.bind(inputs);
    ep.row_bias = bias_.get(inputs, g_.m);
    const std::int64_t ohw = g_.oh * g_.ow, hw = g_.h * g_.w;
    if (pointwise_) {
      spmm(a_, g_.batch, hw, DenseOperand{x, hw, 1, g_.c * hw}, DenseResult{y, hw, 1, g_.m * hw}, ep, threads_, scratch_);
      return;
    }
    fill_padded(x);
    float* buf = reinterpret_cast<float*>(padded_.data());
    const std::int64_t n_wide = g_.oh * wq_;
    auto panel = [&](std::int64_t u, const sparse::Panel& p, int) { return sparse::PanelRef{buf + u * image_stride_ + p.j0, 1}; };
    auto write = [&](std::int64_t u, const sparse::Panel& p, std::int64_t r0, std::int64_t r1, float* tile) {
      const std::int64_t end = std::min(p.j0 + p.width, n_wide);
      for (std::int64_t r = r0; r < r1; ++r) {
        float* v = tile + (r - r0) * p.width;  // v[j - p.j0] is wide column j
        float* out = y + (u * g_.m + r) * ohw;
        if (wq_ == g_.ow) {  // no dropped columns: one run
          ep.apply(v, end - p.j0, u, r, 0, p.j0, 1);
          std::memcpy(out + p.j0, v, std::size_t(end - p.j0) * sizeof(float));
          continue;
        }
        for (std::int64_t j = p.j0; j < end;) {
          const std::int64_t oh = j / wq_, ow = j % wq_;
          const std::int64_t row_end = std::min(end, (oh + 1) * wq_);
          if (ow < g_.ow) {
            const std::int64_t len = std::min(row_end, oh * wq_ + g_.ow) - j;
            ep.apply(v + (j - p.j0), len, u, r, 0, oh * g_.ow + ow, 1);
            std::memcpy(out + oh * g_.ow + ow, v + (j - p.j0), std::size_t(len) * sizeof(float));
          }
          j = row_end;
        }
      }
    };
    sparse::run_plan(a_, plan_, panel, write, scratch_);
  }

  std::string implementation() const override {
    std::ostringstream s;
    s.precision(3);
    s << "sparse:csr-spmm (" << what_ << ", density " << density_ << ", " << sparse::best_kernel_set().isa << ")";
    return s.str();
  }

 private:
  // Copies the input into the phase buffer; the padding around it was zeroed once and is
  // never written.
  void fill_padded(const float* x) {
    float* buf = reinterpret_cast<float*>(padded_.data());
    const std::int64_t plane = hq_ * wq_, phases = g_.sh * g_.sw;
    const std::int64_t jobs = g_.batch * g_.c;
    const int threads = int(std::min<std::int64_t>(threads_, jobs));
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (std::int64_t job = 0; job < jobs; ++job) {
      const std::int64_t u = job / g_.c, c = job % g_.c;
      const float* xc = x + job * g_.h * g_.w;
      float* bc = buf + u * image_stride_ + c * phases * plane;
      for (std::int64_t ih = 0; ih < g_.h; ++ih) {
        const std::int64_t row = ih + g_.pt;
        const float* src = xc + ih * g_.w;
        float* dst_rows = bc + (row % g_.sh) * g_.sw * plane + (row / g_.sh) * wq_;
        if (g_.sw == 1) {
          std::memcpy(dst_rows + g_.pl, src, std::size_t(g_.w) * sizeof(float));
          continue;
        }
        for (std::int64_t pw = 0; pw < g_.sw; ++pw) {
          // Input columns iw with (iw + pl) % sw == pw land in phase pw at (iw + pl) / sw.
          const std::int64_t iw0 = ((pw - g_.pl) % g_.sw + g_.sw) % g_.sw;
          if (iw0 >= g_.w) continue;
          float* dst = dst_rows + pw * plane + (iw0 + g_.pl) / g_.sw;
          const std::int64_t count = (g_.w - iw0 + g_.sw - 1) / g_.sw;
          for (std::int64_t t = 0; t < count; ++t) dst[t] = src[iw0 + t * g_.sw];
        }
      }
    }
  }

  SparseConvShape g_;
  int threads_ = 1;
  bool pointwise_ = false;
  std::int64_t hq_ = 0, wq_ = 0, image_stride_ = 0;
  CsrMatrix a_;
  double density_ = 0;
  ChannelBias bias_;
  EpilogueTemplate epilogue_;
  sparse::Plan plan_;
  AlignedBuffer padded_;
  SpmmScratch scratch_;
  std::string what_;
};

// ConvTranspose: cols (Cout*KH*KW x H*W) = W^T (CSR) * X[img], then col2im adds each column
// into the output window it belongs to, then bias and post-ops over the finished output.
class ConvTransposeKernel final : public CpuKernel {
 public:
  ConvTransposeKernel(const KernelContext& ctx, const std::string& where) : threads_(std::max(1, ctx.threads)) {
    g_ = sparse_conv_shape(ctx, true, where);
    const graph::Shape& ws = ctx.input_tensor(1).shape;
    if (ws[0] != g_.c || ws[1] * g_.groups != g_.m) throw Error(where, "weight shape does not match the channels and groups");
    const WeightFloats w(ctx.input_tensor(1), where);
    const std::int64_t cg = g_.c / g_.groups, mg = g_.m / g_.groups, taps = g_.kh * g_.kw;
    // Row (o, kh, kw) of W^T holds W[c, o - group start, kh, kw] over the group's channels c.
    std::vector<std::int64_t> row_ptr(std::size_t(g_.m * taps) + 1, 0);
    std::vector<std::int32_t> cols;
    std::vector<float> vals;
    for (std::int64_t o = 0; o < g_.m; ++o) {
      const std::int64_t grp = o / mg, ol = o % mg;
      for (std::int64_t t = 0; t < taps; ++t) {
        for (std::int64_t cl = 0; cl < cg; ++cl) {
          const std::int64_t c = grp * cg + cl;
          const float v = w[std::size_t((c * mg + ol) * taps + t)];
          if (v != 0.0f) {
            cols.push_back(std::int32_t(c));
            vals.push_back(v);
          }
        }
        row_ptr[std::size_t(o * taps + t + 1)] = std::int64_t(cols.size());
      }
    }
    a_ = CsrMatrix(g_.m * taps, g_.c, std::move(row_ptr), std::move(cols), std::move(vals));
    density_ = double(a_.nnz()) / double(std::max<std::int64_t>(1, g_.m * cg * taps));
    bias_.init(ctx, g_.m, where);
    const graph::Shape& ys = ctx.graph->tensor(ctx.root().outputs.at(0)).shape;
    const std::size_t r = ys.size();
    epilogue_.post_ops(ctx, [&](const graph::Shape& s, const std::string& what) {
      return operand_layout(s, ys, DimRange{0, 1}, DimRange{1, 2}, DimRange{2, r}, where, what);
    });
    cols_ = AlignedBuffer(std::size_t(g_.batch * a_.rows() * g_.h * g_.w) * sizeof(float));
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    const float* x = inputs[0].as<float>();
    float* y = outputs[0].as<float>();
    float* cols = reinterpret_cast<float*>(cols_.data());
    const std::int64_t hw = g_.h * g_.w, ohw = g_.oh * g_.ow, taps = g_.kh * g_.kw;
    spmm(a_, g_.batch, hw, DenseOperand{x, hw, 1, g_.c * hw}, DenseResult{cols, hw, 1, a_.rows() * hw}, SpmmEpilogue{}, threads_,
         scratch_);
    SpmmEpilogue ep = epilogue_.bind(inputs);
    ep.row_bias = bias_.get(inputs, g_.m);
    const std::int64_t jobs = g_.batch * g_.m;
    const int threads = int(std::min<std::int64_t>(threads_, jobs));
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (std::int64_t job = 0; job < jobs; ++job) {
      const std::int64_t u = job / g_.m, o = job % g_.m;
      float* plane = y + job * ohw;
      std::fill(plane, plane + ohw, 0.0f);
      for (std::int64_t kh = 0; kh < g_.kh; ++kh) {
        for (std::int64_t kw = 0; kw < g_.kw; ++kw) {
          const float* col = cols + (u * a_.rows() + o * taps + kh * g_.kw + kw) * hw;
          // Input columns iw whose output column iw*sw - pl + kw*dw lies in [0, OW).
          const std::int64_t shift = kw * g_.dw - g_.pl;
          const std::int64_t iw_lo = shift < 0 ? (-shift + g_.sw - 1) / g_.sw : 0;
          const std::int64_t iw_hi = g_.ow - 1 - shift < 0 ? 0 : std::min<std::int64_t>(g_.w, (g_.ow - 1 - shift) / g_.sw + 1);
          for (std::int64_t ih = 0; ih < g_.h; ++ih) {
            const std::int64_t oh = ih * g_.sh - g_.pt + kh * g_.dh;
            if (oh < 0 || oh >= g_.oh) continue;
            const float* src = col + ih * g_.w;
            float* dst = plane + oh * g_.ow;
            if (g_.sw == 1) {
#pragma omp simd
              for (std::int64_t iw = iw_lo; iw < iw_hi; ++iw) dst[iw + shift] += src[iw];
            } else {
              for (std::int64_t iw = iw_lo; iw < iw_hi; ++iw) dst[iw * g_.sw + shift] += src[iw];
            }
          }
        }
      }
      if (!ep.empty()) ep.apply(plane, ohw, u, o, 0, 0, 1);
    }
  }

  std::string implementation() const override {
    std::ostringstream s;
    s.precision(3);
    s << "sparse:csr-spmm+col2im (conv-transpose " << g_.kh << "x" << g_.kw << ", density " << density_ << ", "
      << sparse::best_kernel_set().isa << ")";
    return s.str();
  }

 private:
  SparseConvShape g_;
  int threads_ = 1;
  CsrMatrix a_;
  double density_ = 0;
  ChannelBias bias_;
  EpilogueTemplate epilogue_;
  AlignedBuffer cols_;
  SpmmScratch scratch_;
};

std::unique_ptr<CpuKernel> make_conv(const KernelContext& ctx, bool transposed) {
  const graph::Operator& op = ctx.root();
  const std::string where = where_of(op);
  if (ctx.group.inputs.size() < 2 || ctx.group.inputs[1].empty()) throw Error(where, "has no weight input");
  require_weight(ctx, 1, where);
  require_f32(ctx, 0, where);
  require_f32(ctx, 1, where);
  if (transposed) return std::make_unique<ConvTransposeKernel>(ctx, where);
  return std::make_unique<ConvKernel>(ctx, where);
}

}  // namespace

std::unique_ptr<CpuKernel> make_sparse_kernel(const KernelContext& ctx) {
  const std::string& type = ctx.root().type;
  for (const auto& name : ctx.group.outputs) {
    if (ctx.graph->tensor(name).dtype != graph::DType::f32) {
      throw Error(where_of(ctx.root()), "the sparse kernels compute in float32; output '" + name + "' is not");
    }
  }
  if (type == "Gemm") return make_gemm(ctx);
  if (type == "MatMul") return make_matmul(ctx);
  if (type == "Conv") return make_conv(ctx, false);
  if (type == "ConvTranspose") return make_conv(ctx, true);
  return nullptr;
}

}  // namespace sparoa::hw
