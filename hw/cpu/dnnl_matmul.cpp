// Gemm and MatMul on oneDNN's matmul primitive (transposes are strides, batch dimensions
// broadcast), with fused post-ops.
#include <algorithm>

#include "hw/cpu/dnnl_common.hpp"

namespace sparoa::hw::onednn {
namespace {

class MatMulKernel final : public DnnlKernel {
 public:
  explicit MatMulKernel(const KernelContext& ctx) {
    const graph::Operator& op = ctx.root();
    const bool gemm = op.type == "Gemm";
    const std::size_t n_in = gemm ? 3 : 2;
    for (std::size_t i = 0; i < n_in; ++i) {
      if ((i < 2 || input_tensor_or_null(ctx, i)) && !input_is_f32(ctx, i)) {
        throw Error(op_where(op), "only float32 tensors are supported");
      }
    }
    if (!output_is_f32(ctx)) throw Error(op_where(op), "only float32 tensors are supported");
    const graph::Shape& a = ctx.input_tensor(0).shape;
    const graph::Shape& b = ctx.input_tensor(1).shape;
    const graph::Shape& y = root_output_shape(ctx);
    out_shape_ = y;

    dnnl::memory::desc a_md, b_md;
    if (gemm) {
      if (a.size() != 2 || b.size() != 2) throw Error(op_where(op), "Gemm operands must be matrices");
      const bool ta = op.attr_int("transA", 0) != 0, tb = op.attr_int("transB", 0) != 0;
      const std::int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
      const std::int64_t n = tb ? b[0] : b[1];
      if ((tb ? b[1] : b[0]) != k) throw Error(op_where(op), "inner dimensions of A and B differ");
      a_md = dnnl::memory::desc({m, k}, dt::f32, ta ? dims_t{1, m} : dims_t{k, 1});
      b_md = dnnl::memory::desc({k, n}, dt::f32, tb ? dims_t{1, k} : dims_t{n, 1});
      dst_dims_ = {m, n};
      alpha_ = float(op.attr_float("alpha", 1.0));
      beta_ = float(op.attr_float("beta", 1.0));
    } else {
      // numpy rules: a 1-D operand gains a dimension for the product and loses it after.
      const graph::Shape a2 = a.size() == 1 ? graph::Shape{1, a[0]} : a;
      const graph::Shape b2 = b.size() == 1 ? graph::Shape{b[0], 1} : b;
      if (a2.size() < 2 || b2.size() < 2) throw Error(op_where(op), "MatMul operands must have at least one dimension");
      const std::size_t rank = std::max(a2.size(), b2.size());
      if (rank > DNNL_MAX_NDIMS) throw Error(op_where(op), "more than " + std::to_string(DNNL_MAX_NDIMS) + " dimensions");
      const dims_t ad = right_aligned(a2, rank), bd = right_aligned(b2, rank);
      dst_dims_.assign(rank, 1);
      for (std::size_t i = 0; i + 2 < rank; ++i) {
        if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1) throw Error(op_where(op), "batch dimensions do not broadcast");
        dst_dims_[i] = std::max(ad[i], bd[i]);
      }
      if (ad[rank - 1] != bd[rank - 2]) throw Error(op_where(op), "inner dimensions of A and B differ");
      dst_dims_[rank - 2] = ad[rank - 2];
      dst_dims_[rank - 1] = bd[rank - 1];
      a_md = plain_desc(ad);
      b_md = plain_desc(bd);
    }
    std::int64_t dst_elems = 1;
    for (auto d : dst_dims_) dst_elems *= d;
    if (dst_elems != graph::element_count(y)) throw Error(op_where(op), "output shape does not match the operands");
    const dnnl::memory::desc dst_md = plain_desc(dst_dims_);

    const bool b_const = ctx.input_is_weight(1);
    // alpha goes into constant weights; otherwise it is the output scale, which oneDNN also
    // applies to a bias: then C is added by a binary post-op after the scaling.
    const float out_scale = (!b_const && alpha_ != 1.0f) ? alpha_ : 1.0f;
    std::vector<dnnl::memory::desc> leading;
    const graph::Tensor* c = gemm ? input_tensor_or_null(ctx, 2) : nullptr;
    dnnl::memory::desc bias_md;
    if (c) {
      const dims_t cd = right_aligned(c->shape, 2);
      if (c->shape.size() > 2 || !broadcasts_to(cd, dst_dims_)) throw Error(op_where(op), "C does not broadcast to the output");
      c_md_ = plain_desc(cd);
      c_const_ = ctx.input_is_weight(2);
      if (c_const_) {
        const TensorView cv = weight_view(*c);
        const float* p = cv.as<float>();
        c_scaled_.assign(p, p + cv.elements());
        for (float& v : c_scaled_) v *= beta_;
      } else if (beta_ != 1.0f) {
        c_scaled_.resize(std::size_t(c->elements()));
      }
      if (c_const_ && out_scale == 1.0f) {
        bias_md = c_md_;
      } else {
        leading.push_back(c_md_);
        c_as_post_op_ = true;
      }
    }

    const dnnl::memory::desc b_want = b_const ? dnnl::memory::desc(b_md.dims(), dt::f32, dnnl::memory::format_tag::any) : b_md;
    auto configure = [&](dnnl::primitive_attr& attr) {
      if (out_scale != 1.0f) attr.set_output_scales(0, {out_scale});
    };
    auto make = [&](const dnnl::primitive_attr& attr) {
      dnnl::matmul::desc d(a_md, b_want, bias_md, dst_md);
      return dnnl::matmul::primitive_desc(d, attr, rt_.engine);
    };
    dnnl::matmul::primitive_desc pd;
    try {
      pd = create_fused<dnnl::matmul::primitive_desc>(ctx, rt_, dst_dims_, configure, leading, make, plan_);
    } catch (const dnnl::error& e) {
      rethrow_dnnl(ctx, "oneDNN cannot run this matmul", e);
    }
    src_ = Operand(rt_, a_md, pd.src_desc(), false);
    if (b_const) {
      const TensorView bv = weight_view(ctx.input_tensor(1));
      const void* data = bv.data;
      if (alpha_ != 1.0f) {
        const float* p = bv.as<float>();
        scaled_b_.assign(p, p + bv.elements());
        for (float& v : scaled_b_) v *= alpha_;
        data = scaled_b_.data();
      }
      weights_ = Operand::constant(rt_, b_md, pd.weights_desc(), data);
    } else {
      weights_ = Operand(rt_, b_md, pd.weights_desc(), false);
    }
    dst_ = Operand(rt_, dst_md, pd.dst_desc(), true);
    if (plan_.sum_input) dst_.enable_prefill(rt_);
    args_[DNNL_ARG_SRC] = src_.memory();
    args_[DNNL_ARG_WEIGHTS] = weights_.memory();
    args_[DNNL_ARG_DST] = dst_.memory();
    if (!bias_md.is_zero()) {
      bias_ = Operand::constant(rt_, bias_md, pd.bias_desc(), c_scaled_.data());
      args_[DNNL_ARG_BIAS] = bias_.memory();
    }
    if (c_as_post_op_) {
      c_memory_ = dnnl::memory(c_md_, rt_.engine, DNNL_MEMORY_NONE);
      args_[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = c_memory_;
    }
    add_scratchpad(pd);
    prim_ = dnnl::matmul(pd);
    implementation_ = "onednn:matmul (" + std::string(pd.impl_info_str()) + ")";
    epilogue_ = Epilogue(ctx, plan_.in_primitive, y);
    implementation_ += epilogue_suffix(ctx, plan_.in_primitive);
  }

  void run(std::span<const TensorView> inputs, std::span<const TensorView> outputs) override {
    src_.bind(inputs[0].data, rt_.stream);
    weights_.bind(inputs[1].data, rt_.stream);
    if (c_as_post_op_) {
      if (c_const_) {
        c_memory_.set_data_handle(c_scaled_.data());
      } else if (beta_ != 1.0f) {
        const float* c = inputs[2].as<float>();
        for (std::size_t i = 0; i < c_scaled_.size(); ++i) c_scaled_[i] = beta_ * c[i];
        c_memory_.set_data_handle(c_scaled_.data());
      } else {
        c_memory_.set_data_handle(inputs[2].data);
      }
    }
    float* out = outputs[0].as<float>();
    dst_.bind(out, rt_.stream);
    if (plan_.sum_input) dst_.prefill(inputs[*plan_.sum_input].data, out, rt_.stream);
    plan_.bind(inputs, args_);
    prim_.execute(rt_.stream, args_);
    dst_.finish(rt_.stream);
    rt_.stream.wait();
    if (!epilogue_.empty()) epilogue_.run(out, inputs);
  }

 private:
  dnnl::primitive prim_;
  Operand src_, weights_, bias_, dst_;
  PostOpPlan plan_;
  Epilogue epilogue_;
  graph::Shape out_shape_;
  dims_t dst_dims_;
  float alpha_ = 1.0f, beta_ = 1.0f;
  dnnl::memory::desc c_md_;
  dnnl::memory c_memory_;
  bool c_const_ = false, c_as_post_op_ = false;
  std::vector<float> c_scaled_, scaled_b_;
};

}  // namespace

std::unique_ptr<CpuKernel> make_matmul_kernel(const KernelContext& ctx) {
  const std::string& t = ctx.root().type;
  if (t != "Gemm" && t != "MatMul") return nullptr;
  return std::make_unique<MatMulKernel>(ctx);
}

}  // namespace sparoa::hw::onednn
