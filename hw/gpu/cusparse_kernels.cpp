// `kernel: sparse` on the GPU: cuSPARSE SpMM with the constant operand as a CSR matrix (exact
// zeros dropped; Gemm's alpha and a folded BatchNormalization scale its values). Gemm and
// MatMul multiply the CSR matrix by the run-time operand directly; Conv (1-D and 2-D, grouped
// and depthwise too) unfolds each image with our im2col kernel and multiplies one
// block-diagonal CSR matrix (the groups side by side) by it. Bias, BatchNormalization shift
// and the fused post-ops run in our epilogue.
//
// Y = A x S with S sparse is computed as Y^T = S^T A^T, cuSPARSE's sparse-times-dense: a
// row-major Y is a column-major Y^T, so no operand is copied.
#include <algorithm>
#include <climits>

#include "hw/conv_geometry.hpp"
#include "hw/gpu/gpu_kernel_common.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {
namespace {

// A CSR matrix on the device built from a dense row-major one on the host.
struct Csr {
  std::int64_t rows = 0, cols = 0, nnz = 0;
  Buffer row_ptr, col_ind, values;
};

// rows x cols, entry (r, c) = at(r, c); exact zeros dropped.
template <class At> Csr make_csr(std::int64_t rows, std::int64_t cols, At at, const std::string& where) {
  if (rows > INT_MAX || cols > INT_MAX) throw Error(where, "the sparse matrix exceeds cuSPARSE's 32-bit indices");
  std::vector<int> ptr(std::size_t(rows) + 1, 0), ind;
  std::vector<float> val;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const float v = at(r, c);
      if (v != 0.0f) {
        ind.push_back(int(c));
        val.push_back(v);
      }
    }
    if (ind.size() > std::size_t(INT_MAX)) throw Error(where, "more non-zeros than cuSPARSE's 32-bit indices hold");
    ptr[std::size_t(r) + 1] = int(ind.size());
  }
  Csr m;
  m.rows = rows;
  m.cols = cols;
  m.nnz = std::int64_t(ind.size());
  if (ind.empty()) {  // cuSPARSE wants valid pointers even without non-zeros
    ind.push_back(0);
    val.push_back(0.0f);
  }
  m.row_ptr = upload(ptr);
  m.col_ind = upload(ind);
  m.values = upload(val);
  return m;
}

// One SpMM: C (dense, m x n) = S (CSR, m x k) x D (dense, k x n), both dense matrices in
// `order`; descriptors made once, dense addresses set per call.
class Spmm {
 public:
  Spmm(LaneHandles& h, const Csr& s, std::int64_t n, cusparseOrder_t order, const std::string& where) : h_(h), where_(where) {
    check(cusparseCreateCsr(&s_, s.rows, s.cols, s.nnz, s.row_ptr.device(), s.col_ind.device(), s.values.device(), CUSPARSE_INDEX_32I,
                            CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F),
          where);
    const std::int64_t ld_d = order == CUSPARSE_ORDER_ROW ? n : s.cols;
    const std::int64_t ld_c = order == CUSPARSE_ORDER_ROW ? n : s.rows;
    // Placeholder addresses until the first call: any device address of the right size.
    scratch_d_ = Buffer(MemoryKind::device, std::size_t(std::max<std::int64_t>(s.cols * n, 1)) * sizeof(float));
    scratch_c_ = Buffer(MemoryKind::device, std::size_t(std::max<std::int64_t>(s.rows * n, 1)) * sizeof(float));
    check(cusparseCreateDnMat(&d_, s.cols, n, ld_d, scratch_d_.device(), CUDA_R_32F, order), where);
    check(cusparseCreateDnMat(&c_, s.rows, n, ld_c, scratch_c_.device(), CUDA_R_32F, order), where);
    const float one = 1.0f, zero = 0.0f;
    std::size_t bytes = 0;
    check(cusparseSpMM_bufferSize(h.cusparse, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, s_, d_, &zero,
                                  c_, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &bytes),
          where);
    h.reserve(bytes);
    // The placeholders are not needed after sizing: the descriptors get real addresses per call.
    scratch_d_ = Buffer();
    scratch_c_ = Buffer();
  }
  ~Spmm() {
    cusparseDestroySpMat(s_);
    cusparseDestroyDnMat(d_);
    cusparseDestroyDnMat(c_);
  }
  Spmm(const Spmm&) = delete;
  Spmm& operator=(const Spmm&) = delete;

  void operator()(const float* d, float* c, float beta) {
    check(cusparseDnMatSetValues(d_, const_cast<float*>(d)), where_);
    check(cusparseDnMatSetValues(c_, c), where_);
    const float one = 1.0f;
    check(cusparseSpMM(h_.cusparse, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &one, s_, d_, &beta, c_,
                       CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, h_.workspace()),
          where_);
  }

 private:
  LaneHandles& h_;
  std::string where_;
  cusparseSpMatDescr_t s_ = nullptr;
  cusparseDnMatDescr_t d_ = nullptr, c_ = nullptr;
  Buffer scratch_d_, scratch_c_;
};

const float* floats(const TensorView& v) { return static_cast<const float*>(v.data); }

// Gemm and MatMul with one constant operand.
class SparseMatmulKernel final : public KernelBase {
 public:
  SparseMatmulKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "cusparse:spmm-csr") {
    const std::string& t = ctx.root().type;
    for (std::size_t i = 0; i < 2; ++i) {
      if (in_types_.at(i) != DType::f32) throw Error(where_, "sparse kernels run float32 only");
    }
    const bool gemm = t == "Gemm";
    const bool b_const = ctx.input_is_weight(1), a_const = ctx.input_is_weight(0);
    if (!b_const && !a_const) throw Error(where_, "sparse kernels need constant weights: neither operand is a constant");
    const float alpha = gemm ? float(op().attr_float("alpha", 1.0)) : 1.0f;
    const bool ta = gemm && op().attr_int("transA", 0) != 0, tb = gemm && op().attr_int("transB", 0) != 0;
    Shape a = in_shapes_[0], b = in_shapes_[1];
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    const Shape& y = out_shapes_.at(0);
    if (b_const) {
      // Y[rows, N] = op(A)[rows, K] x op(B)[K, N] as Y^T = op(B)^T x op(A)^T, column-major.
      if (b.size() != 2) throw Error(where_, "the constant operand of a sparse MatMul must be 2-D");
      const std::int64_t k = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
      if (ta && a.size() != 2) throw Error(where_, "transA needs a 2-D operand");
      const std::int64_t rows = ta ? a[1] : graph::element_count(a) / a.back();
      if ((ta ? a[0] : a.back()) != k) throw Error(where_, "inner dimensions differ");
      const float* w = weight_view(ctx.input_tensor(1)).as<float>();
      csr_ = make_csr(n, k, [&](std::int64_t r, std::int64_t c) { return alpha * (tb ? w[r * k + c] : w[c * n + r]); }, where_);
      if (ta) {
        // op(A) = A^T: transpose A into a scratch [rows, K] first.
        std::vector<std::array<std::int64_t, own::Walk::kOperands>> strides(2);
        strides[0][0] = 1;
        strides[1][0] = rows;
        transpose_a_ = to_gpu_walk(own::Walk::make(Shape{rows, k}, strides, 1), where_);
        a_scratch_ = Buffer(MemoryKind::device, std::size_t(rows * k) * sizeof(float));
      }
      spmm_ = std::make_unique<Spmm>(handles(), csr_, rows, CUSPARSE_ORDER_COL, where_);
      calls_ = 1;
    } else {
      // A constant: Y_b[M, N] = op(A)[M, K] x B_b[K, N], row-major, one call per batch.
      if (a.size() != 2) throw Error(where_, "the constant operand of a sparse MatMul must be 2-D");
      if (tb) throw Error(where_, "a sparse Gemm with a constant A and transB is not supported on the GPU");
      const std::int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
      const float* w = weight_view(ctx.input_tensor(0)).as<float>();
      csr_ = make_csr(m, k, [&](std::int64_t r, std::int64_t c) { return alpha * (ta ? w[c * m + r] : w[r * k + c]); }, where_);
      if (b[b.size() - 2] != k) throw Error(where_, "inner dimensions differ");
      const std::int64_t n = b.back();
      calls_ = graph::element_count(b) / (k * n);
      stride_b_ = k * n;
      stride_y_ = m * n;
      spmm_ = std::make_unique<Spmm>(handles(), csr_, n, CUSPARSE_ORDER_ROW, where_);
    }
    a_const_ = !b_const;
    if (gemm && present(2)) {
      beta_ = float(op().attr_float("beta", 1.0));
      if (beta_ != 0.0f) c_walk_ = broadcast(y, {in_shapes_[2]}, where_);
    }
    n_out_ = graph::element_count(y);
    epi_ = plan_epilogue(ctx, y, std::int64_t(y.size()) - 1, nullptr, where_);
    if (!epi_.empty()) implementation_ += " + own:epilogue";
    implementation_ += " (" + std::to_string(csr_.nnz) + " of " + std::to_string(csr_.rows * csr_.cols) + " non-zero)";
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    float* y = static_cast<float*>(out[0].data);
    float beta = 0.0f;
    if (c_walk_) {
      strided_copy(*c_walk_, in[2].data, y, 4, stream());
      beta = beta_;
    }
    if (!a_const_) {
      const float* a = floats(in[0]);
      if (a_scratch_.device()) {
        strided_copy(transpose_a_, a, a_scratch_.device(), 4, stream());
        a = static_cast<const float*>(a_scratch_.device());
      }
      (*spmm_)(a, y, beta);
    } else {
      for (std::int64_t i = 0; i < calls_; ++i) (*spmm_)(floats(in[1]) + i * stride_b_, y + i * stride_y_, beta);
    }
    epi_.apply(y, n_out_, in, stream());
    check_launch(where_.c_str());
  }

 private:
  Csr csr_;
  std::unique_ptr<Spmm> spmm_;
  bool a_const_ = false;
  std::int64_t calls_ = 1, stride_b_ = 0, stride_y_ = 0, n_out_ = 0;
  Walk transpose_a_;
  Buffer a_scratch_;
  float beta_ = 0;
  std::optional<Walk> c_walk_;
  EpiloguePlan epi_;
};

class SparseConvKernel final : public KernelBase {
 public:
  SparseConvKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "cusparse:spmm-csr + own:im2col") {
    const graph::Operator& op = ctx.root();
    for (std::size_t i = 0; i < 3 && i < in_types_.size(); ++i) {
      if (present(i) && in_types_[i] != DType::f32) throw Error(where_, "sparse kernels run float32 only");
    }
    if (!ctx.input_is_weight(1)) throw Error(where_, "sparse kernels need constant weights");
    const Shape& x = in_shapes_[0];
    const Shape& w = in_shapes_[1];
    const Shape& y = ctx.graph->tensor(op.outputs.at(0)).shape;
    if (x.size() != 3 && x.size() != 4) throw Error(where_, "the sparse GPU kernels support 1-D and 2-D convolutions");
    const ConvGeometry geo = conv_geometry(op, x, w, y);
    const bool one_d = x.size() == 3;
    const std::int64_t groups = op.attr_int("group", 1);
    const std::int64_t c = x[1], m = y[1];
    if (groups < 1 || c % groups != 0 || m % groups != 0) throw Error(where_, "channels do not divide into the groups");
    g_.c = c;
    g_.h = one_d ? 1 : x[2];
    g_.w = x.back();
    g_.oh = one_d ? 1 : y[2];
    g_.ow = y.back();
    g_.kh = one_d ? 1 : w[2];
    g_.kw = w.back();
    g_.sh = one_d ? 1 : geo.strides[0];
    g_.sw = geo.strides.back();
    g_.dh = one_d ? 1 : geo.dilations[0];
    g_.dw = geo.dilations.back();
    g_.pt = one_d ? 0 : geo.pad_begin[0];
    g_.pl = geo.pad_begin.back();
    batch_ = x[0];
    const std::int64_t taps = g_.kh * g_.kw, cg = c / groups, mg = m / groups, per_row = cg * taps;
    // Folded BatchNormalization scales each output row; bias and shift go to the epilogue.
    std::vector<float> scale(std::size_t(m), 1.0f), bias;
    if (ctx.group.batch_norm) scale = ctx.group.batch_norm->scale;
    const float* wv = weight_view(ctx.input_tensor(1)).as<float>();
    csr_ = make_csr(m, c * taps,
                    [&](std::int64_t r, std::int64_t col) {
                      const std::int64_t first = (r / mg) * per_row;  // the group's block of columns
                      if (col < first || col >= first + per_row) return 0.0f;
                      return wv[r * per_row + (col - first)] * scale[std::size_t(r)];
                    },
                    where_);
    if (present(2)) {
      if (!ctx.input_is_weight(2)) throw Error(where_, "a sparse convolution needs a constant bias");
      const float* b = weight_view(ctx.input_tensor(2)).as<float>();
      bias.assign(b, b + m);
    }
    if (ctx.group.batch_norm) {
      if (bias.empty()) bias.assign(std::size_t(m), 0.0f);
      for (std::size_t o = 0; o < std::size_t(m); ++o) bias[o] = bias[o] * scale[o] + ctx.group.batch_norm->shift[o];
    }
    if (!bias.empty()) bias_ = upload(bias);
    cols_ = Buffer(MemoryKind::device, std::size_t(c * taps * g_.oh * g_.ow) * sizeof(float));
    spmm_ = std::make_unique<Spmm>(handles(), csr_, g_.oh * g_.ow, CUSPARSE_ORDER_ROW, where_);
    n_out_ = graph::element_count(y);
    epi_ = plan_epilogue(ctx, y, 1, bias.empty() ? nullptr : static_cast<const float*>(bias_.device()), where_);
    if (!epi_.empty()) implementation_ += " + own:epilogue";
    implementation_ += " (" + std::to_string(csr_.nnz) + " of " + std::to_string(m * per_row) + " weights non-zero)";
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    float* y = static_cast<float*>(out[0].data);
    const std::int64_t in_image = g_.c * g_.h * g_.w, out_image = csr_.rows * g_.oh * g_.ow;
    for (std::int64_t b = 0; b < batch_; ++b) {
      im2col(g_, floats(in[0]) + b * in_image, static_cast<float*>(cols_.device()), stream());
      (*spmm_)(static_cast<const float*>(cols_.device()), y + b * out_image, 0.0f);
    }
    epi_.apply(y, n_out_, in, stream());
    check_launch(where_.c_str());
  }

 private:
  Im2col g_;
  std::int64_t batch_ = 1, n_out_ = 0;
  Csr csr_;
  Buffer cols_, bias_;
  std::unique_ptr<Spmm> spmm_;
  EpiloguePlan epi_;
};

}  // namespace

std::unique_ptr<GpuKernel> make_cusparse_kernel(const KernelContext& ctx, Stream& s) {
  const std::string& t = ctx.root().type;
  if (t == "Gemm" || t == "MatMul") return std::make_unique<SparseMatmulKernel>(ctx, s);
  if (t == "Conv") return std::make_unique<SparseConvKernel>(ctx, s);
  if (t == "ConvTranspose") {
    throw Error(own::op_where(ctx.root()), "has no sparse GPU kernel (ConvTranspose runs sparse on the CPU only); use kernel: dense");
  }
  return nullptr;
}

}  // namespace sparoa::hw::gpu
