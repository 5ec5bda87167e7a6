// Gemm and MatMul on cuBLAS (float32), with the fused epilogue. Row-major tensors are
// column-major transposes, so Y = op(A) op(B) is computed as Y^T = op(B)^T op(A)^T: cuBLAS
// sees B first. MatMul broadcasts batch dimensions: one strided-batched call when both
// operands' batch offsets step evenly (equal batch shapes, or one operand not batched),
// otherwise one call per output matrix.
#include "hw/gpu/gpu_kernel_common.hpp"
#include "support/error.hpp"

namespace sparoa::hw::gpu {
namespace {

class GemmKernel final : public KernelBase {
 public:
  GemmKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "cublas:sgemm") {
    for (std::size_t i = 0; i < 3 && i < in_types_.size(); ++i) {
      if (present(i) && in_types_[i] != DType::f32) throw Error(where_, "Gemm on the GPU runs float32 only");
    }
    const Shape& a = in_shapes_.at(0);
    const Shape& b = in_shapes_.at(1);
    if (a.size() != 2 || b.size() != 2) throw Error(where_, "Gemm needs 2-D operands");
    ta_ = op().attr_int("transA", 0) != 0;
    tb_ = op().attr_int("transB", 0) != 0;
    alpha_ = float(op().attr_float("alpha", 1.0));
    beta_ = float(op().attr_float("beta", 1.0));
    m_ = ta_ ? a[1] : a[0];
    k_ = ta_ ? a[0] : a[1];
    n_ = tb_ ? b[0] : b[1];
    const Shape& y = ctx.graph->tensor(ctx.root().outputs.at(0)).shape;
    if (y != Shape{m_, n_}) throw Error(where_, "the graph's output shape differs from [M, N]");
    if (present(2) && beta_ != 0.0f) c_walk_ = broadcast(y, {in_shapes_[2]}, where_);
    epi_ = plan_epilogue(ctx, y, 1, nullptr, where_);
    if (!epi_.empty()) implementation_ += " + own:epilogue";
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    float* y = static_cast<float*>(out[0].data);
    float beta = 0.0f;
    if (c_walk_) {
      strided_copy(*c_walk_, in[2].data, y, 4, stream());
      beta = beta_;
    }
    if (m_ > 0 && n_ > 0) {
      check(cublasSgemm(handles().cublas, tb_ ? CUBLAS_OP_T : CUBLAS_OP_N, ta_ ? CUBLAS_OP_T : CUBLAS_OP_N, int(n_), int(m_), int(k_),
                        &alpha_, static_cast<const float*>(in[1].data), int(tb_ ? k_ : n_), static_cast<const float*>(in[0].data),
                        int(ta_ ? m_ : k_), &beta, y, int(n_)),
            where_);
    }
    epi_.apply(y, m_ * n_, in, stream());
    check_launch(where_.c_str());
  }

 private:
  bool ta_ = false, tb_ = false;
  float alpha_ = 1, beta_ = 1;
  std::int64_t m_ = 0, n_ = 0, k_ = 0;
  std::optional<Walk> c_walk_;
  EpiloguePlan epi_;
};

class MatMulKernel final : public KernelBase {
 public:
  MatMulKernel(const KernelContext& ctx, Stream& s) : KernelBase(ctx, s, "cublas:sgemm") {
    if (in_types_.at(0) != DType::f32 || in_types_.at(1) != DType::f32) throw Error(where_, "MatMul on the GPU runs float32 only");
    Shape a = in_shapes_[0], b = in_shapes_[1];
    if (a.empty() || b.empty()) throw Error(where_, "MatMul of a scalar");
    if (a.size() == 1) a.insert(a.begin(), 1);  // [K] -> [1, K]
    if (b.size() == 1) b.push_back(1);          // [K] -> [K, 1]
    m_ = a[a.size() - 2];
    k_ = a.back();
    n_ = b.back();
    if (b[b.size() - 2] != k_) throw Error(where_, "inner dimensions differ");
    // Batch dimensions, right-aligned and broadcast.
    const std::size_t ra = a.size() - 2, rb = b.size() - 2, r = std::max(ra, rb);
    Shape batch(r, 1);
    for (std::size_t d = 0; d < r; ++d) {
      const std::int64_t da = d + ra >= r ? a[d + ra - r] : 1, db = d + rb >= r ? b[d + rb - r] : 1;
      if (da != db && da != 1 && db != 1) throw Error(where_, "batch dimensions do not broadcast");
      batch[d] = std::max(da, db);
    }
    batches_ = graph::element_count(batch);
    // Offsets (in elements) of each output matrix's A and B.
    auto offsets = [&](const Shape& s, std::size_t rs, std::int64_t matrix) {
      std::vector<std::int64_t> off(std::size_t(batches_), 0);
      for (std::int64_t i = 0; i < batches_; ++i) {
        std::int64_t rest = i, o = 0, stride = matrix;
        for (std::size_t d = r; d-- > 0;) {
          const std::int64_t x = rest % batch[d];
          rest /= batch[d];
          if (d + rs >= r) {
            const std::int64_t dim = s[d + rs - r];
            if (dim != 1) o += x * stride;
            stride *= dim;
          }
        }
        off[std::size_t(i)] = o;
      }
      return off;
    };
    off_a_ = offsets(a, ra, m_ * k_);
    off_b_ = offsets(b, rb, k_ * n_);
    auto even = [](const std::vector<std::int64_t>& v, std::int64_t& step) {
      step = v.size() > 1 ? v[1] - v[0] : 0;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i] - v[i - 1] != step) return false;
      }
      return true;
    };
    strided_ = even(off_a_, stride_a_) && even(off_b_, stride_b_);
    if (strided_ && batches_ > 1) implementation_ = "cublas:sgemm-strided-batched";
    if (batches_ > INT32_MAX || m_ > INT32_MAX || n_ > INT32_MAX || k_ > INT32_MAX) throw Error(where_, "dimensions beyond cuBLAS's int range");
    const Shape& y = out_shapes_.at(0);
    epi_ = plan_epilogue(ctx, y, std::int64_t(y.size()) - 1, nullptr, where_);
    if (!epi_.empty()) implementation_ += " + own:epilogue";
  }
  void run(std::span<const TensorView> in, std::span<const TensorView> out) override {
    check_views(in, out);
    const float one = 1.0f, zero = 0.0f;
    const auto* a = static_cast<const float*>(in[0].data);
    const auto* b = static_cast<const float*>(in[1].data);
    float* y = static_cast<float*>(out[0].data);
    if (m_ > 0 && n_ > 0 && batches_ > 0) {
      if (k_ == 0) {
        check(cudaMemsetAsync(y, 0, std::size_t(batches_ * m_ * n_) * sizeof(float), stream()), where_);
      } else if (strided_) {
        check(cublasSgemmStridedBatched(handles().cublas, CUBLAS_OP_N, CUBLAS_OP_N, int(n_), int(m_), int(k_), &one, b, int(n_), stride_b_,
                                        a, int(k_), stride_a_, &zero, y, int(n_), m_ * n_, int(batches_)),
              where_);
      } else {
        for (std::int64_t i = 0; i < batches_; ++i) {
          check(cublasSgemm(handles().cublas, CUBLAS_OP_N, CUBLAS_OP_N, int(n_), int(m_), int(k_), &one, b + off_b_[std::size_t(i)], int(n_),
                            a + off_a_[std::size_t(i)], int(k_), &zero, y + i * m_ * n_, int(n_)),
                where_);
        }
      }
    }
    epi_.apply(y, batches_ * m_ * n_, in, stream());
    check_launch(where_.c_str());
  }

 private:
  std::int64_t m_ = 0, n_ = 0, k_ = 0, batches_ = 1;
  std::vector<std::int64_t> off_a_, off_b_;
  std::int64_t stride_a_ = 0, stride_b_ = 0;
  bool strided_ = true;
  EpiloguePlan epi_;
};

}  // namespace

std::unique_ptr<GpuKernel> make_cublas_kernel(const KernelContext& ctx, Stream& s) {
  const std::string& t = ctx.root().type;
  if (t == "Gemm") return std::make_unique<GemmKernel>(ctx, s);
  if (t == "MatMul") return std::make_unique<MatMulKernel>(ctx, s);
  return nullptr;
}

}  // namespace sparoa::hw::gpu
